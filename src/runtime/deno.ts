/**
 * The Deno adapter: `Deno.connect`, `Deno.connectTls` and `fetch` with `Deno.createHttpClient`.
 *
 * `node:tls` / `node:https` (in `deno_node_tls.ts`) take over only where Deno's own API
 * cannot: skipping validation, TLS over a unix socket, and a server name that is not the host.
 *
 * @module
 */
import type {
  ByteStream,
  DialTarget,
  FetchLike,
  Runtime,
  StreamHandlers,
  TlsSettings,
} from "../transport/byte_stream.ts";
import {
  bareHost,
  concatChunks,
  connectError,
  streamError,
} from "./_errors.ts";
import { dialNodeTls, nodeFetch } from "./deno_node_tls.ts";

/** Bytes asked for per read; each chunk handed on is a copy of what was read. */
const READ_SIZE = 64 * 1024;

function safeClose(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}

/** True when `Deno.connectTls` cannot do the job and `node:tls` must. */
function needsNodeTls(target: DialTarget): boolean {
  const tls = target.tls;
  if (!tls) return false;
  if (!tls.validate || target.kind === "unix") return true;
  return bareHost(tls.serverName) !== bareHost(target.host);
}

async function openConn(
  target: DialTarget,
  signal: AbortSignal,
): Promise<Deno.Conn> {
  if (target.kind === "unix") {
    return await Deno.connect({ transport: "unix", path: target.path });
  }
  const hostname = bareHost(target.host);
  if (!target.tls) {
    const conn = await Deno.connect({ hostname, port: target.port, signal });
    conn.setNoDelay(true);
    return conn;
  }
  const { ca, cert, key } = target.tls;
  const conn = await Deno.connectTls({
    hostname,
    port: target.port,
    caCerts: ca === undefined ? undefined : [ca],
    ...(cert !== undefined && key !== undefined ? { cert, key } : {}),
  });
  // connectTls resolves before the handshake: finish it (and validation) before any write.
  const onAbort = (): void => safeClose(conn);
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    await conn.handshake();
  } catch (error) {
    safeClose(conn);
    throw error;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
  return conn;
}

/** Settles with `promise`, or rejects with `signal.reason` first and releases a late result. */
function untilAborted<T>(
  promise: Promise<T>,
  signal: AbortSignal,
  release: (v: T) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then((value) => {
      signal.removeEventListener("abort", onAbort);
      if (signal.aborted) release(value);
      else resolve(value);
    }, (error) => {
      signal.removeEventListener("abort", onAbort);
      reject(error);
    });
  });
}

function denoStream(
  conn: Deno.Conn,
  target: DialTarget,
  handlers: StreamHandlers,
): ByteStream {
  let closed = false;
  let ending = false;
  let queue: Uint8Array[] = [];
  let writing = false;
  let written: Promise<void> = Promise.resolve();
  const { promise: gone, resolve: markGone } = Promise.withResolvers<void>();
  const finish = (error?: Error): void => {
    if (closed) return;
    closed = true;
    queue = [];
    safeClose(conn);
    handlers.onClose(error);
    markGone();
  };
  const readLoop = async (): Promise<void> => {
    const buffer = new Uint8Array(READ_SIZE);
    try {
      for (
        let n = await conn.read(buffer);
        n !== null;
        n = await conn.read(buffer)
      ) {
        if (closed) return;
        if (n > 0) handlers.onData(buffer.slice(0, n));
      }
      finish(); // A clean EOF is not an error here; the core knows whether a call was pending.
    } catch (error) {
      if (!closed) finish(streamError(target, "read from", error));
    }
  };
  // One writer at a time; conn.write may write part of a chunk, and queued chunks coalesce.
  const pump = async (): Promise<void> => {
    try {
      while (queue.length > 0 && !closed) {
        const chunk = concatChunks(queue);
        queue = [];
        for (let off = 0; off < chunk.length && !closed;) {
          off += await conn.write(chunk.subarray(off));
        }
      }
    } catch (error) {
      if (!closed) finish(streamError(target, "write to", error));
    } finally {
      writing = false;
    }
  };
  const drainThenClose = async (): Promise<void> => {
    await written;
    if (closed) return;
    try {
      await conn.closeWrite(); // flushes (TLS: sends close_notify) before the FIN
    } catch { /* the peer is gone already: closing is all that is left */ }
    finish();
  };
  void readLoop();
  return {
    write(bytes: Uint8Array): void {
      if (closed || ending || bytes.length === 0) return;
      queue.push(bytes.slice()); // The caller may reuse its buffer once write returns.
      if (!writing) {
        writing = true;
        written = pump();
      }
    },
    close(): void {
      finish();
    },
    end(): Promise<void> {
      if (!ending && !closed) {
        ending = true;
        void drainThenClose();
      }
      return gone;
    },
  };
}

async function dial(
  target: DialTarget,
  handlers: StreamHandlers,
  signal: AbortSignal,
): Promise<ByteStream> {
  signal.throwIfAborted();
  if (needsNodeTls(target)) return await dialNodeTls(target, handlers, signal);
  let conn: Deno.Conn;
  try {
    conn = await untilAborted(openConn(target, signal), signal, safeClose);
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw connectError(target, error);
  }
  return denoStream(conn, target, handlers);
}

const fetchers = new WeakMap<TlsSettings, FetchLike>();

function fetchWith(tls: TlsSettings | undefined): FetchLike {
  if (tls === undefined) return fetch;
  const cached = fetchers.get(tls);
  if (cached) return cached;
  const viaNode = nodeFetch(tls);
  let client: Deno.HttpClient | undefined;
  const fetcher: FetchLike = (url, init) => {
    const host = bareHost(new URL(url).hostname);
    if (!tls.validate || bareHost(tls.serverName) !== host) {
      return viaNode(url, init);
    }
    if (tls.ca === undefined && tls.cert === undefined) return fetch(url, init);
    const { ca, cert, key } = tls;
    client ??= Deno.createHttpClient({
      caCerts: ca === undefined ? undefined : [ca],
      ...(cert !== undefined && key !== undefined ? { cert, key } : {}),
    });
    return fetch(url, { ...init, client });
  };
  fetchers.set(tls, fetcher);
  return fetcher;
}

/** The Deno implementation of the runtime shim. */
export const denoRuntime: Runtime = { name: "deno", dial, fetchWith };
