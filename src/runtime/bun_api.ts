/**
 * The sliver of Bun's socket and server API the Bun adapter uses, declared here so that no
 * file names `bun-types` (the module type-checks under Deno) and `Bun` is reached through
 * `globalThis`.
 *
 * @module
 */
import { isIP } from "node:net";
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import type { TlsSettings } from "../transport/byte_stream.ts";
import { bareHost } from "./_errors.ts";

/** Bun's `Socket`, as far as the adapter uses it. */
export interface BunSocket {
  readonly authorized: boolean;
  write(data: Uint8Array): number;
  end(): void;
  terminate(): void;
  setNoDelay(noDelay?: boolean): boolean;
  ref(): void;
  unref(): void;
  getPeerCertificate(): PeerCertificate;
}

/** Bun's socket handlers, as the adapter sets them. */
export interface BunSocketHandler {
  binaryType: "uint8array";
  open(socket: BunSocket): void;
  handshake(socket: BunSocket, success: boolean, authError: Error | null): void;
  data(socket: BunSocket, chunk: Uint8Array): void;
  drain(socket: BunSocket): void;
  close(socket: BunSocket, error?: Error): void;
  error(socket: BunSocket, error: Error): void;
  connectError(socket: BunSocket, error: Error): void;
}

/** Bun's TLS options, for sockets and for `fetch`. */
export interface BunTls {
  rejectUnauthorized: boolean;
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  serverName?: string;
  checkServerIdentity?: (host: string, cert: PeerCertificate) => Error | undefined;
}

/** The options of `Bun.connect` the adapter passes. */
export type BunConnectOptions =
  & ({ hostname: string; port: number } | { unix: string })
  & { socket: BunSocketHandler; tls?: BunTls };

/** Calls `Bun.connect`; only under Bun. */
export function bunConnect(options: BunConnectOptions): Promise<BunSocket> {
  const bun = (globalThis as unknown as { Bun: { connect: typeof bunConnect } }).Bun;
  return bun.connect(options);
}

/** Bun's TLS options for these settings (SNI carries host names only, not IPs). */
export function bunTls(tls: TlsSettings): BunTls {
  const name = bareHost(tls.serverName);
  const { ca, cert, key } = tls;
  const sni = isIP(name) ? {} : { serverName: name };
  return { rejectUnauthorized: tls.validate, ca, cert, key, ...sni };
}

/** Why a peer must be refused (chain, then name), or undefined when it passes. */
export function peerProblem(
  socket: BunSocket,
  tls: TlsSettings,
  authError: Error | null,
): Error | undefined {
  if (authError) return authError;
  if (!socket.authorized) return new Error("peer certificate not authorized");
  return checkServerIdentity(bareHost(tls.serverName), socket.getPeerCertificate());
}

/** Bun's socket listener, as far as the adapter uses it. */
export interface BunListener {
  /** The port of a TCP listener. */
  readonly port?: number;
  stop(closeActiveConnections?: boolean): void;
}

/** The options of `Bun.listen` the adapter passes. */
export type BunListenOptions =
  & ({ hostname: string; port: number } | { unix: string })
  & { socket: Omit<BunSocketHandler, "handshake" | "connectError"> };

/** Calls `Bun.listen`; only under Bun. */
export function bunSocketListen(options: BunListenOptions): BunListener {
  const bun = (globalThis as unknown as { Bun: { listen: typeof bunSocketListen } }).Bun;
  return bun.listen(options);
}

/** Bun's HTTP server, as far as the adapter uses it. */
export interface BunServer {
  readonly port: number;
  stop(closeActiveConnections?: boolean): Promise<void>;
}

/** The options of `Bun.serve` the adapter passes. */
export interface BunServeOptions {
  hostname: string;
  port: number;
  fetch(request: Request): Promise<Response>;
}

/** Calls `Bun.serve`; only under Bun. */
export function bunServe(options: BunServeOptions): BunServer {
  const bun = (globalThis as unknown as { Bun: { serve: typeof bunServe } }).Bun;
  return bun.serve(options);
}
