/**
 * A fetch on `node:https`, for what Deno's `fetch` cannot do: skip validation, or check a
 * server name that is not the URL's host. Used by the Deno adapter only.
 *
 * @module
 */
import type { ClientRequest, IncomingMessage } from "node:http";
import { request } from "node:https";
import { TimeoutError } from "../errors.ts";
import type { FetchLike, FetchLimits, TlsSettings } from "../transport/byte_stream.ts";
import { tlsOptions } from "./deno_node_tls.ts";

/** Statuses whose `Response` may not have a body. */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/** The response body as a stream fed by `res`, paused while the reader is behind. */
function bodyOf(
  res: IncomingMessage,
  req: ClientRequest,
): { body: ReadableStream<Uint8Array>; fail(reason: unknown): void } {
  let control!: ReadableStreamDefaultController<Uint8Array>;
  let open = true;
  const fail = (reason: unknown): void => {
    if (!open) return;
    open = false;
    control.error(reason);
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      control = controller;
      res.on("data", (chunk: Uint8Array) => {
        if (!open) return;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 0) <= 0) res.pause();
      });
      res.on("end", () => {
        if (!open) return;
        open = false;
        controller.close();
      });
      res.on("error", (error) => fail(new TypeError("fetch failed", { cause: error })));
      res.on("close", () => {
        if (!res.complete) fail(new TypeError("fetch failed: the response body was cut off"));
      });
    },
    pull() {
      res.resume();
    },
    cancel() {
      open = false;
      req.destroy(); // the rest of the body is never read: drop the socket
    },
  }, new ByteLengthQueuingStrategy({ highWaterMark: 64 * 1024 }));
  return { body, fail };
}

/**
 * A fetch on `node:https` with the given TLS settings; never follows redirects. The
 * `Response` resolves once its headers arrive; its body streams. `limits.connectTimeout`
 * bounds the TCP connect and the TLS handshake (a `TimeoutError`).
 */
export function nodeFetch(settings: TlsSettings): FetchLike {
  const options = tlsOptions(settings);
  return async (url: string, init: RequestInit, limits?: FetchLimits): Promise<Response> => {
    const signal = init.signal ?? undefined;
    signal?.throwIfAborted();
    const body = init.body == null
      ? undefined
      : new Uint8Array(await new Response(init.body).arrayBuffer());
    const headers: Record<string, string> = Object.fromEntries(
      new Headers(init.headers),
    );
    if (body !== undefined) headers["content-length"] = String(body.length);
    return await new Promise<Response>((resolve, reject) => {
      // agent: false keeps no idle socket alive; node:https never follows a redirect itself.
      const req = request(url, {
        ...options,
        method: init.method ?? "GET",
        headers,
        agent: false,
      });
      let streaming: ((reason: unknown) => void) | undefined;
      let connectTimer: ReturnType<typeof setTimeout> | undefined;
      const done = (): void => {
        clearTimeout(connectTimer);
        signal?.removeEventListener("abort", onAbort);
      };
      const onAbort = (): void => {
        done();
        req.destroy();
        reject(signal?.reason);
        streaming?.(signal?.reason);
      };
      const fail = (error: Error): void => {
        done();
        const failure = error instanceof TimeoutError
          ? error
          : new TypeError("fetch failed", { cause: error });
        reject(failure);
        streaming?.(failure);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const limit = limits?.connectTimeout;
      if (limit !== undefined) {
        connectTimer = setTimeout(() => {
          req.destroy(new TimeoutError(`Connect timeout of ${limit} ms elapsed`));
        }, limit);
        req.on("socket", (socket) => {
          socket.once("secureConnect", () => clearTimeout(connectTimer));
        });
      }
      req.on("error", fail);
      req.on("response", (res) => {
        clearTimeout(connectTimer);
        const status = res.statusCode ?? 500;
        const out = new Headers();
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
          out.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
        }
        let payload: ReadableStream<Uint8Array> | null = null;
        if (NULL_BODY.has(status)) res.resume();
        else {
          const streamed = bodyOf(res, req);
          payload = streamed.body;
          streaming = streamed.fail;
        }
        res.on("end", done);
        res.on("close", done);
        resolve(
          new Response(payload, { status, statusText: res.statusMessage ?? "", headers: out }),
        );
      });
      req.end(body);
    });
  };
}
