/**
 * The listening contract between the in-process test server and the runtime adapters: a
 * socket listener hands each connection it accepts over as a `ByteStream`; an HTTP listener
 * calls a `Request -> Response` handler. Both listen on loopback only.
 *
 * @module
 */
import type { ByteStream, StreamHandlers } from "./byte_stream.ts";

/**
 * Where a socket listener listens: a TCP port (0: any free port) on a loopback address
 * (127.0.0.1 unless `host` says which), or a unix socket path.
 */
export type ListenTarget =
  | { readonly kind: "tcp"; readonly port: number; readonly host?: string | undefined }
  | { readonly kind: "unix"; readonly path: string };

/**
 * Takes a connection just accepted, before any of its bytes are read: returns the handlers
 * that get what it reads and how it ends; `stream` writes back to the peer.
 */
export type Accept = (stream: ByteStream) => StreamHandlers;

/** A listener, accepting until it is closed. */
export interface Listening {
  /** The TCP port it listens on (the one picked when 0 was asked); 0 on a unix socket. */
  readonly port: number;
  /**
   * Stops accepting; idempotent. A socket listener leaves the connections it accepted to
   * their streams; an HTTP listener closes its connections, cutting responses in flight.
   * Resolves once the listener (and, for HTTP, every connection) is closed.
   */
  close(): Promise<void>;
}

/**
 * Starts listening at once (the port is known on return); throws the runtime's error when
 * the address cannot be bound.
 */
export type Listen = (target: ListenTarget, accept: Accept) => Listening;

/** Serves HTTP on 127.0.0.1 at `port` (0: any free port), at once; throws when it cannot bind. */
export type ServeHttp = (
  port: number,
  handler: (request: Request) => Promise<Response>,
) => Listening;
