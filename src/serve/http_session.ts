/**
 * The test server over HTTP, as Apache's `THttpServer`: each POST body is one request, the
 * response body its reply (empty for a oneway call).
 *
 * @module
 */
import { ReadBuffer } from "../transport/read_buffer.ts";
import type { Dispatcher } from "./dispatcher.ts";

const THRIFT_TYPE = "application/x-thrift";

/** A short plain-text response. */
function text(status: number, body: string, headers?: Record<string, string>): Response {
  return new Response(body + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}

/** The reply, or null when `closing` aborts first; no listener outlives the reply. */
function unlessClosing<T>(reply: Promise<T>, closing: AbortSignal): Promise<T | null> {
  if (closing.aborted) return Promise.resolve(null);
  return new Promise((resolve) => {
    const onClose = (): void => resolve(null);
    closing.addEventListener("abort", onClose, { once: true });
    void reply.then((value) => {
      closing.removeEventListener("abort", onClose);
      resolve(value);
    });
  });
}

/**
 * Returns the request handler of an HTTP test server.
 *
 * @param dispatcher Runs each request.
 * @param closing Aborts when the server closes: requests still waiting for their handler
 *   are then answered 503 at once, so that closing never waits for a handler.
 * @returns A `Request -> Response` handler.
 */
export function httpSession(
  dispatcher: Dispatcher,
  closing: AbortSignal,
): (request: Request) => Promise<Response> {
  return async (request: Request): Promise<Response> => {
    if (request.method !== "POST") {
      return text(405, "Thrift requests are POSTed", { allow: "POST" });
    }
    let body: Uint8Array;
    try {
      body = new Uint8Array(await request.arrayBuffer());
    } catch { // the client went away mid-body: no one reads the answer
      return text(400, "The request body ended early");
    }
    const buffer = new ReadBuffer();
    if (body.length > buffer.maxMessageSize) {
      return text(413, `The request exceeds the ${buffer.maxMessageSize} byte limit`);
    }
    buffer.adopt(body);
    let reply: Promise<Uint8Array<ArrayBuffer> | undefined>;
    try {
      reply = dispatcher.dispatch(dispatcher.reader(buffer));
      if (buffer.consumed !== body.length) throw new Error("bytes after the message");
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      // the protocols word their errors for the client side
      return text(400, `Invalid Thrift request: ${reason.replace(/^Invalid reply: /, "")}`);
    }
    const bytes = await unlessClosing(reply, closing);
    if (bytes === null) return text(503, "The server is closing");
    return new Response(bytes ?? null, { headers: { "content-type": THRIFT_TYPE } });
  };
}
