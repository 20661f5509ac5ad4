/**
 * The slice of the npm `thrift` package the tests use, typed (it ships no types): its own
 * clients and servers, which check the test peers independently of the library under test.
 */
import type { Server } from "node:net";
import thriftModule from "thrift";
import type { Service } from "./calculator.ts";
import type { CommonPeerOptions } from "./peer_process.ts";

/** A transport or protocol class of npm `thrift`; only passed through, never called here. */
export type ThriftClass = abstract new (...args: never[]) => unknown;

/** The transport and protocol classes a connection or a server speaks. */
export interface NpmTransport {
  transport: ThriftClass;
  protocol: ThriftClass;
}

/** npm `thrift`'s Connection (an EventEmitter around a socket). */
export interface NpmConnection {
  on(event: "error", listener: (err: unknown) => void): void;
  once(event: "connect" | "close", listener: () => void): void;
  end(): void;
  destroy(): void;
}

/** TLS material for `createSSLConnection` (PEM contents). */
export interface NpmTlsOptions extends NpmTransport {
  ca?: string | Uint8Array;
  cert?: string | Uint8Array;
  key?: string | Uint8Array;
}

/** Options of `createHttpConnection`. */
export interface NpmHttpOptions extends NpmTransport {
  /** The request path. */
  path?: string;
  headers?: Record<string, string>;
  https?: boolean;
  /** Passed on to `node:http` / `node:https`. */
  nodeOptions?: object;
}

/** npm `thrift`'s HttpConnection. */
export interface NpmHttpConnection {
  on(event: "error", listener: (err: unknown) => void): void;
}

interface NpmThrift {
  Connection: new (stream: unknown, options: NpmTransport) => NpmConnection;
  createConnection(host: string, port: number, options: NpmTransport): NpmConnection;
  createUDSConnection(path: string, options: NpmTransport): NpmConnection;
  createSSLConnection(host: string, port: number, options: NpmTlsOptions): NpmConnection;
  createHttpConnection(host: string, port: number, options: NpmHttpOptions): NpmHttpConnection;
  createClient<C>(service: Service<C>, connection: NpmConnection | NpmHttpConnection): C;
  Multiplexer: new () => {
    createClient<C>(name: string, service: Service<C>, connection: NpmConnection): C;
  };
  setLogLevel(level: "error" | "warning" | "info" | "debug" | "trace"): void;
  createServer(service: unknown, handler: object, options: NpmTransport): Server;
  createMultiplexServer(processor: unknown, options: NpmTransport): Server;
  MultiplexedProcessor: new () => {
    registerProcessor(name: string, processor: unknown): void;
  };
  Thrift: {
    TApplicationException: new (...args: never[]) => Error & { type: number };
    TApplicationExceptionType: { UNKNOWN: number; INTERNAL_ERROR: number };
  };
  toBigInt(value: unknown): bigint;
  TBufferedTransport: ThriftClass;
  TFramedTransport: ThriftClass;
  TBinaryProtocol: ThriftClass;
  TCompactProtocol: ThriftClass;
  TJSONProtocol: ThriftClass;
}

/** The npm `thrift` package. */
export const thrift = thriftModule as unknown as NpmThrift;

const PROTOCOLS: Readonly<Record<string, ThriftClass>> = {
  binary: thrift.TBinaryProtocol,
  compact: thrift.TCompactProtocol,
  json: thrift.TJSONProtocol,
};

/**
 * npm `thrift`'s classes for a protocol, framed (`TFramedTransport`) or buffered. Takes the
 * peers' protocol names; THeader (`header`) is not among npm's here.
 */
export function npmTransport(
  protocol: CommonPeerOptions["protocol"] = "binary",
  framed = false,
): NpmTransport {
  const protocolClass = PROTOCOLS[protocol];
  if (!protocolClass) throw new Error(`unknown protocol ${protocol}`);
  return {
    transport: framed ? thrift.TFramedTransport : thrift.TBufferedTransport,
    protocol: protocolClass,
  };
}
