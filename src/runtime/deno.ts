/**
 * The Deno adapter: `Deno.connect` for tcp and unix, `fetch` with `Deno.createHttpClient`,
 * and for the test server `Deno.listen` and `Deno.serve` (`deno_listen.ts`).
 *
 * `node:tls` (`deno_node_tls.ts`) and `node:https` (`deno_node_https.ts`) take over where
 * Deno's own API cannot do the job: TLS sockets, and https without validation or with a
 * server name that is not the URL's host.
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
import { bareHost, connectError } from "./_errors.ts";
import { denoResolve } from "./deno_dns.ts";
import { denoListen, denoServeHttp } from "./deno_listen.ts";
import { nodeFetch } from "./deno_node_https.ts";
import { dialNodeTls } from "./deno_node_tls.ts";
import { denoStream, safeClose } from "./deno_stream.ts";

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

async function dial(
  target: DialTarget,
  handlers: StreamHandlers,
  signal: AbortSignal,
): Promise<ByteStream> {
  signal.throwIfAborted();
  // Not Deno.connectTls: an aborted handshake would keep its socket (see deno_node_tls.ts).
  if (target.tls) return await dialNodeTls(target, handlers, signal);
  const opening = target.kind === "unix"
    ? Deno.connect({ transport: "unix", path: target.path })
    : Deno.connect({ hostname: bareHost(target.host), port: target.port, signal });
  let conn: Deno.Conn;
  try {
    conn = await untilAborted<Deno.Conn>(opening, signal, safeClose);
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw connectError(target, error);
  }
  if (target.kind === "tcp") (conn as Deno.TcpConn).setNoDelay(true);
  return denoStream(conn, target, handlers);
}

const fetchers = new WeakMap<TlsSettings, FetchLike>();

function fetchWith(tls: TlsSettings | undefined): FetchLike {
  if (tls === undefined) return fetch;
  const cached = fetchers.get(tls);
  if (cached) return cached;
  const viaNode = nodeFetch(tls);
  let client: Deno.HttpClient | undefined;
  const fetcher: FetchLike = (url, init, limits) => {
    const host = bareHost(new URL(url).hostname);
    if (!tls.validate || bareHost(tls.serverName) !== host) {
      return viaNode(url, init, limits); // the only Deno path that bounds connecting
    }
    if (tls.ca === undefined && tls.cert === undefined) return fetch(url, init);
    const { ca, cert, key } = tls;
    client ??= Deno.createHttpClient({
      ...(ca === undefined ? {} : { caCerts: [ca] }),
      ...(cert !== undefined && key !== undefined ? { cert, key } : {}),
    });
    return fetch(url, { ...init, client });
  };
  fetchers.set(tls, fetcher);
  return fetcher;
}

/** The Deno implementation of the runtime shim. */
export const denoRuntime: Runtime = {
  name: "deno",
  dial,
  fetchWith,
  resolve: denoResolve,
  listen: denoListen,
  serveHttp: denoServeHttp,
};
