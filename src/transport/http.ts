/**
 * A channel over HTTP: each call is one POST of the serialized message, answered by the
 * reply in the response body. Concurrent calls are concurrent requests.
 *
 * @module
 */
import type { Endpoint } from "../config.ts";
import {
  ConnectError,
  ProtocolError,
  ThriftClientError,
  TimeoutError,
  TransportError,
} from "../errors.ts";
import type { OutgoingMessage } from "../protocol.ts";
import type { FetchLike } from "./byte_stream.ts";
import { concatChunks } from "./bytes.ts";
import type { Channel, ReplySink } from "./channel.ts";

const THRIFT_TYPE = "application/x-thrift";

function requestHeaders(endpoint: Endpoint, message: OutgoingMessage): Headers {
  const option = endpoint.headers;
  const extra = typeof option === "function" ? option({ method: message.method }) : option;
  const headers = new Headers(extra);
  headers.set("content-type", THRIFT_TYPE);
  if (!headers.has("accept")) headers.set("accept", THRIFT_TYPE);
  if (endpoint.authorization && !headers.has("authorization")) {
    headers.set("authorization", endpoint.authorization);
  }
  return headers;
}

async function statusError(
  endpoint: Endpoint,
  response: Response,
): Promise<TransportError> {
  const body = await response.text().catch(() => "");
  const snippet = body.replace(/\s+/g, " ").trim().slice(0, 200);
  const status = response.status;
  const what = status >= 300 && status < 400
    ? `redirect to "${response.headers.get("location") ?? "?"}" (not followed)`
    : snippet || response.statusText;
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
      throw new ProtocolError(
        `Reply from "${endpoint.label}" exceeds the ${limit} byte limit`,
      );
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
      });
    } catch (error) {
      if (signal.aborted) throw error; // `wrap` turns it into the abort's reason
      const reason = error instanceof Error ? error.message : String(error);
      throw new ConnectError(`Cannot connect to "${endpoint.label}": ${reason}`, { cause: error });
    }
    if (response.status < 200 || response.status > 299) {
      throw await statusError(endpoint, response);
    }
    if (message.oneway) return void await response.body?.cancel();
    sink.reply(message.seqid, await readBody(endpoint, response));
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
    send(bytes, message) {
      const controller = new AbortController();
      const timer = setTimeout(() =>
        controller.abort(
          new TimeoutError(
            `Call "${message.method}" to "${endpoint.label}" got no reply within ${endpoint.timeout} ms`,
          ),
        ), endpoint.timeout);
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
