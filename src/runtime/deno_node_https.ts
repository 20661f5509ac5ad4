/**
 * A fetch on `node:https`, for what Deno's `fetch` cannot do: skip validation, or check a
 * server name that is not the URL's host. Used by the Deno adapter only.
 *
 * @module
 */
import { request } from "node:https";
import type { FetchLike, TlsSettings } from "../transport/byte_stream.ts";
import { concatChunks } from "../transport/bytes.ts";
import { tlsOptions } from "./deno_node_tls.ts";

/** Statuses whose `Response` may not have a body. */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/** A fetch on `node:https` with the given TLS settings; never follows redirects. */
export function nodeFetch(settings: TlsSettings): FetchLike {
  const options = tlsOptions(settings);
  return async (url: string, init: RequestInit): Promise<Response> => {
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
      const onAbort = (): void => {
        req.destroy();
        reject(signal?.reason);
      };
      const fail = (error: Error): void => {
        signal?.removeEventListener("abort", onAbort);
        reject(new TypeError("fetch failed", { cause: error }));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      req.on("error", fail);
      req.on("response", (res) => {
        const chunks: Uint8Array[] = [];
        res.on("data", (chunk: Uint8Array) => chunks.push(chunk));
        res.on("error", fail);
        res.on("end", () => {
          signal?.removeEventListener("abort", onAbort);
          const status = res.statusCode ?? 500;
          const out = new Headers();
          for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
            out.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
          }
          const payload = NULL_BODY.has(status)
            ? null
            : concatChunks([new Uint8Array(0), ...chunks]) as Uint8Array<
              ArrayBuffer
            >;
          resolve(
            new Response(payload, {
              status,
              statusText: res.statusMessage,
              headers: out,
            }),
          );
        });
      });
      req.end(body);
    });
  };
}
