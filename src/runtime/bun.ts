/**
 * The Bun adapter: `Bun.connect` (tcp or unix, with or without TLS) and Bun's `fetch` with
 * its `tls` option; for the test server, `Bun.listen` and `Bun.serve` (`bun_listen.ts`).
 * `Bun` is reached through `globalThis` inside functions only, so this module loads (and
 * type-checks) under Deno too.
 *
 * @module
 */
import { isIP } from "node:net";
import { checkServerIdentity } from "node:tls";
import type {
  ByteStream,
  DialTarget,
  FetchLike,
  Runtime,
  StreamHandlers,
  TlsSettings,
} from "../transport/byte_stream.ts";
import { bareHost, connectError, streamError } from "./_errors.ts";
import {
  bunConnect,
  type BunSocket,
  type BunSocketHandler,
  type BunTls,
  bunTls,
  peerProblem,
} from "./bun_api.ts";
import { bunResolve } from "./bun_dns.ts";
import { bunListen, bunServeHttp } from "./bun_listen.ts";
import { type BunStream, bunStream } from "./bun_stream.ts";

async function dial(
  target: DialTarget,
  handlers: StreamHandlers,
  signal: AbortSignal,
): Promise<ByteStream> {
  signal.throwIfAborted();
  return await new Promise<ByteStream>((resolve, reject) => {
    let state: "dialing" | "open" | "closed" = "dialing";
    let socket: BunSocket | undefined;
    let open: BunStream | undefined;
    const onAbort = (): void => {
      if (state !== "dialing") return;
      state = "closed";
      socket?.terminate();
      reject(signal.reason);
    };
    const fail = (error: unknown): void => {
      if (state !== "dialing") return;
      state = "closed";
      signal.removeEventListener("abort", onAbort);
      socket?.terminate();
      reject(connectError(target, error));
    };
    const ready = (s: BunSocket): void => {
      if (state !== "dialing") return;
      state = "open";
      signal.removeEventListener("abort", onAbort);
      if (target.kind === "tcp") s.setNoDelay(true);
      open = bunStream(s, handlers);
      resolve(open.stream);
    };
    const socketHandler: BunSocketHandler = {
      binaryType: "uint8array",
      open(s) {
        socket = s;
        if (state === "closed") s.terminate();
        else if (!target.tls) ready(s);
      },
      // Bun reports an unauthorized peer here and may carry on: refuse it before any write.
      handshake(s, _success, authError) {
        socket = s;
        const problem = target.tls?.validate ? peerProblem(s, target.tls, authError) : undefined;
        if (problem) fail(problem);
        else ready(s);
      },
      data(_s, chunk) {
        open?.data(chunk);
      },
      drain() {
        open?.drain();
      },
      close(_s, error) {
        if (state === "dialing") {
          fail(error ?? new Error("connection closed before it was ready"));
        } else open?.finish(error && streamError(target, "read from", error)); // clean EOF: no error
      },
      error(_s, error) {
        if (state === "dialing") fail(error);
        else open?.finish(streamError(target, "read from", error));
      },
      connectError(_s, error) {
        fail(error);
      },
    };
    signal.addEventListener("abort", onAbort, { once: true });
    const where = target.kind === "unix"
      ? { unix: target.path }
      : { hostname: bareHost(target.host), port: target.port };
    const tls = target.tls && bunTls(target.tls);
    const options = { ...where, socket: socketHandler, ...(tls ? { tls } : {}) };
    // Bun.connect throws at once on bad PEM text: that is a failed dial too.
    new Promise<BunSocket>((ok) => ok(bunConnect(options))).then((s) => {
      socket ??= s;
      if (state === "closed") s.terminate();
    }, fail);
  });
}

function fetchWith(tls: TlsSettings | undefined): FetchLike {
  if (tls === undefined) return fetch;
  const options = bunTls(tls);
  const name = bareHost(tls.serverName);
  // Bun checks a non-IP serverName itself; an IP serverName other than the URL's is checked here.
  const named: BunTls = {
    ...options,
    checkServerIdentity: (_h, cert) => checkServerIdentity(name, cert),
  };
  return (url: string, init: RequestInit): Promise<Response> => {
    const own = isIP(name) && bareHost(new URL(url).hostname) !== name;
    return fetch(url, { ...init, tls: own ? named : options } as RequestInit);
  };
}

/** The Bun implementation of the runtime shim. */
export const bunRuntime: Runtime = {
  name: "bun",
  dial,
  fetchWith,
  resolve: bunResolve,
  listen: bunListen,
  serveHttp: bunServeHttp,
};
