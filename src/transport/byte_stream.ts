/**
 * The byte-stream contract between the core and the runtime adapters.
 *
 * A dialer opens one stream; the stream pushes what it reads to its handlers and accepts
 * writes in order. The core owns framing, zlib and protocols on top; a pool can hold streams.
 *
 * @module
 */
import type { Listen, ServeHttp } from "./listener.ts";

/** TLS settings, decided from the options once. */
export interface TlsSettings {
  /** Check the peer's certificate chain and host name. */
  readonly validate: boolean;
  /** Trusted CA certificates as PEM text; the system store when absent. */
  readonly ca?: string;
  /** The name sent as SNI and checked against the certificate. */
  readonly serverName: string;
  /** Client certificate chain as PEM text, for mutual TLS. */
  readonly cert?: string;
  /** Client private key as PEM text, for mutual TLS. */
  readonly key?: string;
}

/** Where a socket stream goes: a TCP host and port, or a unix socket path; TLS when set. */
export type DialTarget =
  & {
    /** The URL without credentials, for error messages. */
    readonly label: string;
    /** TLS on top of the socket when present. */
    readonly tls?: TlsSettings | undefined;
  }
  & (
    | { readonly kind: "tcp"; readonly host: string; readonly port: number }
    | { readonly kind: "unix"; readonly path: string }
  );

/** Receives what a stream reads. */
export interface StreamHandlers {
  /** Each chunk read, in order; valid only until `onData` returns (copy what you keep). */
  onData(chunk: Uint8Array): void;
  /**
   * Called exactly once when the stream ends: no argument after `close()` or a clean EOF,
   * a `ThriftClientError` (with `cause`) when the stream failed.
   */
  onClose(error?: Error): void;
}

/** An open byte stream. */
export interface ByteStream {
  /** Queues bytes to send, in order; I/O failures arrive at `onClose`, never here. */
  write(bytes: Uint8Array): void;
  /** Closes at once, dropping unsent bytes; idempotent; `onClose` runs (without error) if it has not run yet. */
  close(): void;
  /**
   * Sends every queued byte, then closes (a graceful close, used after oneway calls);
   * resolves once closed, never rejects; idempotent. `onClose` runs as for `close()`.
   */
  end(): Promise<void>;
  /** Lets the process exit while the stream is open and idle. */
  unref(): void;
  /** Undoes `unref()`: an open stream keeps the process alive. */
  ref(): void;
}

/**
 * Opens a stream to a target. Rejects with a `ConnectError` naming `target.label` when the
 * peer cannot be reached or TLS validation fails (before any byte is sent); rejects with
 * `signal.reason` and releases the socket when `signal` aborts first.
 */
export type Dialer = (
  target: DialTarget,
  handlers: StreamHandlers,
  signal: AbortSignal,
) => Promise<ByteStream>;

/** What a `FetchLike` may bound beyond `fetch`'s own options. */
export interface FetchLimits {
  /**
   * Milliseconds to connect (TCP and TLS). An adapter that can see the connection phase
   * rejects with a `TimeoutError` when it elapses; a plain `fetch` ignores it.
   */
  readonly connectTimeout?: number;
}

/** A `fetch` with TLS settings applied by the runtime adapter. */
export type FetchLike = (
  url: string,
  init: RequestInit,
  limits?: FetchLimits,
) => Promise<Response>;

/**
 * Every IPv4 and IPv6 address of `host` (A and AAAA records), IPv4 first, each family in
 * ascending order, without duplicates. `servers` are the DNS servers to ask, in order
 * (`"127.0.0.1:5353"`, `"[::1]:53"`, or a bare IP meaning port 53); `undefined` means the
 * system's resolver (`/etc/hosts` included, as when dialing by name). An IP literal
 * resolves to itself. Never resolves to an empty list: rejects with an `Error` naming the
 * host and the resolver and saying what happened (no such host, timed out, refused); each
 * server gets a bounded time (2 s), so a server that never answers cannot hang the call.
 */
export type Resolve = (host: string, servers: readonly string[] | undefined) => Promise<string[]>;

/** What each runtime adapter provides. */
export interface Runtime {
  /** `"deno"` or `"bun"`. */
  readonly name: "deno" | "bun";
  /** Opens tcp and unix streams, with or without TLS. */
  readonly dial: Dialer;
  /** Returns a fetch that applies these TLS settings to https URLs (plain fetch when none). */
  fetchWith(tls: TlsSettings | undefined): FetchLike;
  /** Resolves a host name to its addresses, with the system's or the given DNS servers. */
  readonly resolve: Resolve;
  /** Listens for tcp (on 127.0.0.1) or unix socket connections, for the test server. */
  readonly listen: Listen;
  /** Serves HTTP on 127.0.0.1, for the test server. */
  readonly serveHttp: ServeHttp;
}
