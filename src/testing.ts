/**
 * An in-process Thrift server for tests and local development: `serve(Service, handler)`
 * answers the generated client over tcp or a unix socket (framed or not) or HTTP, in the
 * binary, compact or JSON protocol, on Deno and on Bun, and records every call it gets.
 *
 * @example Test a function that calls a service
 * ```ts ignore
 * import { ThriftClient } from "@x/thrift-client";
 * import { serve } from "@x/thrift-client/testing";
 * import { Calculator } from "./gen/tutorial.ts";
 *
 * await using server = serve(Calculator, { add: (a: number, b: number) => a + b });
 * const thrift = new ThriftClient(Calculator.Client, { transport: server.url });
 * console.log(await thrift.client.add(1, 2)); // 3
 * console.log(server.calls); // [{ method: "add", args: [1, 2] }]
 * ```
 *
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseProtocol, type WireProtocol } from "./config.ts";
import { ConfigError } from "./errors.ts";
import { runtime } from "./runtime/detect.ts";
import { Dispatcher, type Processor } from "./serve/dispatcher.ts";
import { type RecordedCall, recordingHandler } from "./serve/handler.ts";
import { httpSession } from "./serve/http_session.ts";
import { type SessionSettings, socketSession } from "./serve/socket_session.ts";
import type { ByteStream } from "./transport/byte_stream.ts";
import type { Listening, ListenTarget } from "./transport/listener.ts";

export type { RecordedCall } from "./serve/handler.ts";

/** How `serve()` listens and speaks. */
export interface ServeOptions {
  /** `tcp` and `http` listen on 127.0.0.1; `unix` on a unix socket. @default {"tcp"} */
  transport?: "tcp" | "unix" | "http";
  /** `BINARY`, `COMPACT` or `JSON`, any case, as the client takes it. @default {"BINARY"} */
  protocol?: string;
  /** 4-byte length-prefixed frames (`TFramedTransport`); tcp and unix only. @default {false} */
  framed?: boolean;
  /**
   * The loopback address a tcp server listens on (`127.0.0.2`: any of 127.0.0.0/8, to stand
   * for several hosts on one machine). @default {"127.0.0.1"}
   */
  host?: string;
  /** The port of a tcp or http server; 0 picks a free one. @default {0} */
  port?: number;
  /**
   * The socket file of a unix server (removed by `close()`). By default `thrift.sock` in a
   * new temporary directory, which `close()` removes.
   */
  path?: string;
}

/** A running test server; `await using` closes it. */
export interface TestServer extends AsyncDisposable {
  /**
   * Its URL, for the client's `transport`: `tcp://127.0.0.1:PORT`, `unix:/abs/path` or
   * `http://127.0.0.1:PORT/`.
   */
  readonly url: string;
  /** Every call received, in order, recorded before its handler runs. */
  readonly calls: RecordedCall[];
  /**
   * Stops listening and closes every connection (calls still waiting for their handler get
   * no reply: an HTTP one gets a 503); resolves once all are closed; idempotent.
   */
  close(): Promise<void>;
}

type Transport = NonNullable<ServeOptions["transport"]>;
const TRANSPORTS: readonly string[] = ["tcp", "unix", "http"];

/** Checks the options; returns the transport and protocol they name. */
function check(options: ServeOptions): { transport: Transport; protocol: WireProtocol } {
  const transport = options.transport ?? "tcp";
  if (!TRANSPORTS.includes(transport)) {
    throw new ConfigError(
      `Unknown transport "${transport}" for serve(): expected tcp, unix or http`,
    );
  }
  const misplaced = transport === "unix"
    ? ["port", "host"]
    : transport === "http"
    ? ["path", "framed", "host"]
    : ["path"];
  if (options.host !== undefined && !/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(options.host)) {
    throw new ConfigError(
      `Invalid host "${options.host}" for serve(): expected a loopback address such as 127.0.0.2`,
    );
  }
  for (const name of misplaced) {
    if (options[name as keyof ServeOptions] !== undefined) {
      throw new ConfigError(`Invalid option "${name}" for serve() over ${transport}`);
    }
  }
  const protocol = parseProtocol(options.protocol, "protocol");
  if (protocol !== "BINARY" && protocol !== "COMPACT" && protocol !== "JSON") {
    throw new ConfigError(
      `Unknown protocol "${options.protocol}" for serve(): expected BINARY, COMPACT or JSON`,
    );
  }
  return { transport, protocol };
}

/** Listens on a tcp port or a unix socket; every accepted connection joins `streams`. */
function listenSocket(
  target: ListenTarget,
  streams: Set<ByteStream>,
  session: Omit<SessionSettings, "label">,
): { listening: Listening; url: string } {
  let url = "";
  const listening = runtime().listen(target, (stream) => {
    streams.add(stream);
    return socketSession(stream, { ...session, label: url }, () => streams.delete(stream));
  });
  url = target.kind === "unix"
    ? `unix:${target.path}`
    : `tcp://${target.host ?? "127.0.0.1"}:${listening.port}`;
  return { listening, url };
}

/**
 * Starts an in-process Thrift server on loopback that answers with `handler`, through the
 * service's generated processor and this library's protocols. It listens before returning.
 *
 * A handler method takes the call's arguments and returns the result or a promise of it.
 * Throwing (or rejecting with) an exception the IDL declares for the method sends that
 * exception; anything else reaches the client as a `TApplicationException`, as does a call
 * to a method `handler` lacks. Requests on one connection are answered in order; a oneway
 * call gets no reply (its handler's failure goes nowhere). Bytes that are not requests close
 * their connection.
 *
 * @param service The generated service (`Calculator` from `gen/tutorial.ts`).
 * @param handler The methods to answer with: any of the service's.
 * @param options The transport, protocol and framing; tcp, binary, unframed by default.
 * @returns The running server: its `url`, the `calls` it got, and `close()`.
 * @throws {ConfigError} on an unknown transport or protocol, or an option the transport
 *   does not take.
 * @throws {Error} when the port or path cannot be listened on.
 *
 * @example Serve over HTTP in the compact protocol
 * ```ts ignore
 * await using server = serve(Calculator, { add: (a: number, b: number) => a + b }, {
 *   transport: "http",
 *   protocol: "compact",
 * });
 * const thrift = new ThriftClient(Calculator.Client, {
 *   transport: server.url,
 *   protocol: "compact",
 * });
 * await thrift.client.add(1, 2); // 3
 * ```
 */
export function serve<H extends object>(
  service: { readonly Processor: new (handler: H) => unknown },
  handler: NoInfer<Partial<H>>,
  options: ServeOptions = {},
): TestServer {
  const { transport, protocol } = check(options);
  const framed = options.framed ?? false;
  const calls: RecordedCall[] = [];
  const processor = new service.Processor(recordingHandler(handler, calls) as H);
  const dispatcher = new Dispatcher(processor as Processor, protocol, framed);
  const closing = new AbortController();
  const streams = new Set<ByteStream>();
  let socketFile: string | undefined; // a unix socket's file, removed on close
  let directory: string | undefined; // the temporary directory made for it
  let server: { listening: Listening; url: string };
  if (transport === "http") {
    const listening = runtime().serveHttp(
      options.port ?? 0,
      httpSession(dispatcher, closing.signal),
    );
    server = { listening, url: `http://127.0.0.1:${listening.port}/` };
  } else if (transport === "tcp") {
    const target = { kind: "tcp" as const, port: options.port ?? 0, host: options.host };
    server = listenSocket(target, streams, { dispatcher, protocol, framed });
  } else {
    if (options.path === undefined) directory = mkdtempSync(join(tmpdir(), "thrift-serve-"));
    socketFile = directory ? join(directory, "thrift.sock") : resolve(options.path!);
    try {
      const target = { kind: "unix" as const, path: socketFile };
      server = listenSocket(target, streams, { dispatcher, protocol, framed });
    } catch (error) {
      if (directory) rmSync(directory, { recursive: true, force: true });
      throw error;
    }
  }
  const { listening, url } = server;
  let closed: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    closing.abort();
    await listening.close();
    for (const stream of streams) stream.close(); // each leaves `streams` as it closes
    if (directory) rmSync(directory, { recursive: true, force: true });
    else if (socketFile) rmSync(socketFile, { force: true });
  };
  const closeOnce = (): Promise<void> => closed ??= close();
  return { url, calls, close: closeOnce, [Symbol.asyncDispose]: closeOnce };
}
