/**
 * A channel over HTTP: each call is one POST of the serialized message, answered by the
 * reply in the response body. Concurrent calls are concurrent requests.
 *
 * @module
 */
import type { Endpoint } from "../config.ts";
import {
  ConnectError,
  printable,
  replyTooLarge,
  ThriftClientError,
  TimeoutError,
  TransportError,
} from "../errors.ts";
import type { FetchLike } from "./byte_stream.ts";
import { concatChunks } from "./bytes.ts";
import type { Channel, OutgoingMessage, ReplySink } from "./channel.ts";

/**
 * Checks that a response body is exactly one reply to the message (the connection's side
 * hands it in: it knows the protocol); throws when it is not.
 */
export type ReplyCheck = (message: OutgoingMessage, body: Uint8Array) => void;

const THRIFT_TYPE = "application/x-thrift";

function requestHeaders(endpoint: Endpoint, message: OutgoingMessage): Headers {
  const headers = new Headers(message.headers as HeadersInit | undefined);
  headers.set("content-type", THRIFT_TYPE);
  if (!headers.has("accept")) headers.set("accept", THRIFT_TYPE);
  if (endpoint.authorization && !headers.has("authorization")) {
    headers.set("authorization", endpoint.authorization);
  }
  return headers;
}

/** How much of an error body is read for the message; the rest is cancelled unread. */
const SNIPPET_BYTES = 4096;
/** How long an error body may stall before the message goes without the rest of it. */
const SNIPPET_WAIT = 1000;

/** The first `SNIPPET_BYTES` of a body as one line of printable text; cancels the body. */
async function snippetOf(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stalled = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, SNIPPET_WAIT, undefined);
  });
  try {
    while (size < SNIPPET_BYTES) {
      const next = await Promise.race([reader.read(), stalled]);
      if (!next || next.done) break;
      chunks.push(next.value);
      size += next.value.length;
    }
  } catch {
    // a body that breaks off still gives what was read
  } finally {
    clearTimeout(timer);
    reader.cancel().catch(() => {}); // an endless (or inflating) body is never read further
  }
  const bytes = concatChunks(chunks).subarray(0, SNIPPET_BYTES);
  // deno-lint-ignore no-control-regex -- ANSI escape sequences (CSI) go whole
  return printable(new TextDecoder().decode(bytes).replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, ""));
}

async function statusError(
  endpoint: Endpoint,
  response: Response,
): Promise<TransportError> {
  const status = response.status;
  const redirect = status >= 300 && status < 400;
  if (redirect) response.body?.cancel().catch(() => {});
  const what = redirect
    ? `redirect to "${printable(response.headers.get("location") ?? "?")}" (not followed)`
    : await snippetOf(response) || printable(response.statusText);
  return new TransportError(
    `HTTP ${status} from "${endpoint.label}": ${what}`,
    { status },
  );
}

/** Reads a response body, refusing one above `maxMessageSize` without buffering it. */
async function readBody(endpoint: Endpoint, response: Response): Promise<Uint8Array> {
  const limit = endpoint.maxMessageSize;
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body ?? []) {
    size += chunk.length;
    if (size > limit) { // leaving the loop cancels the body
      throw replyTooLarge(endpoint.label, limit);
    }
    chunks.push(chunk);
  }
  return concatChunks(chunks);
}

/** Opens an HTTP channel; it contacts nobody until the first call. */
export function httpChannel(
  endpoint: Endpoint,
  url: string,
  sink: ReplySink,
  fetch: FetchLike,
  check: ReplyCheck,
): Channel {
  const inFlight = new Map<AbortController, Promise<void>>();
  const post = async (
    bytes: Uint8Array,
    message: OutgoingMessage,
    signal: AbortSignal,
  ) => {
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        body: bytes as Uint8Array<ArrayBuffer>,
        headers: requestHeaders(endpoint, message),
        redirect: "manual",
        signal,
      }, { connectTimeout: endpoint.connectTimeout });
    } catch (error) {
      if (signal.aborted) throw error; // `wrap` turns it into the abort's reason
      if (error instanceof TimeoutError) {
        throw new ConnectError(
          `Cannot connect to "${endpoint.label}": no answer within ${endpoint.connectTimeout} ms (connectTimeout)`,
          { cause: error },
        );
      }
      const reason = error instanceof Error ? error.message : String(error);
      throw new ConnectError(`Cannot connect to "${endpoint.label}": ${reason}`, { cause: error });
    }
    if (response.status < 200 || response.status > 299) {
      throw await statusError(endpoint, response);
    }
    if (message.oneway) return void await response.body?.cancel();
    const body = await readBody(endpoint, response);
    check(message, body);
    sink.reply(message.seqid, body, response.headers);
  };
  const wrap = (error: unknown, signal: AbortSignal): Error => {
    if (error instanceof ThriftClientError) return error;
    if (signal.aborted && signal.reason instanceof Error) return signal.reason;
    const reason = error instanceof Error ? error.message : String(error);
    return new TransportError(
      `HTTP request to "${endpoint.label}" failed: ${reason}`,
      {
        cause: error,
      },
    );
  };
  return {
    send(bytes, message, timeout) {
      const controller = new AbortController();
      const timer = setTimeout(() =>
        controller.abort(
          new TimeoutError(
            `Call "${message.method}" to "${endpoint.label}" got no reply within ${timeout} ms`,
          ),
        ), timeout);
      // The caller reuses its buffer once send returns; fetch reads the body later.
      const done = post(bytes.slice(), message, controller.signal)
        .catch((error) => {
          if (!message.oneway) {
            sink.callFailed(message.seqid, wrap(error, controller.signal));
          }
        })
        .finally(() => {
          clearTimeout(timer);
          inFlight.delete(controller);
        });
      inFlight.set(controller, done);
    },
    async end() {
      await Promise.allSettled(inFlight.values());
    },
    close() {
      for (const controller of inFlight.keys()) controller.abort();
    },
  };
}
