/**
 * A channel over one byte stream (tcp, unix, with or without TLS): optional zlib, then
 * framing (`TFramedTransport`'s frames, or THeader's, which the reply reader unwraps), then
 * the stream from the runtime's dialer, opened within `connectTimeout`.
 *
 * @module
 */
import type { Endpoint } from "../config.ts";
import { ConnectError, ProtocolError, TimeoutError } from "../errors.ts";
import type { ByteStream, DialTarget, Runtime } from "./byte_stream.ts";
import type { Channel, ReplySink } from "./channel.ts";
import { FrameDecoder } from "./framing.ts";
import { ZlibCodec } from "./zlib.ts";

/**
 * Opens a socket channel to `endpoint.target`.
 *
 * @throws {ConnectError} when the peer cannot be reached in time or TLS fails; `cancel`'s
 *   reason when it aborts first.
 */
export async function openSocketChannel(
  endpoint: Endpoint,
  target: DialTarget,
  sink: ReplySink,
  runtime: Runtime,
  cancel: AbortSignal,
): Promise<Channel> {
  let stream: ByteStream | undefined;
  let failure: Error | undefined;
  const fail = (error: Error) => {
    failure ??= error;
    stream?.close();
  };
  const decoder = endpoint.framed
    ? new FrameDecoder(endpoint.maxMessageSize, endpoint.label)
    : undefined;
  const deliver = (chunk: Uint8Array) => {
    if (failure) return;
    try {
      if (decoder) decoder.push(chunk, (frame) => sink.bytes(frame, true));
      else sink.bytes(chunk, false);
    } catch (error) {
      fail(error as Error);
    }
  };
  const zlib = endpoint.zlib
    ? new ZlibCodec((bytes) => stream?.write(bytes), deliver, (error) =>
      fail(
        new ProtocolError(
          `Cannot inflate data from "${endpoint.label}": ${error.message}`,
          {
            cause: error,
          },
        ),
      ))
    : undefined;
  const handlers = {
    onData: (chunk: Uint8Array) => zlib ? zlib.receive(chunk.slice()) : deliver(chunk),
    onClose: (error?: Error) => {
      zlib?.close();
      sink.closed(failure ?? error);
    },
  };
  const controller = new AbortController();
  const limit = endpoint.connectTimeout;
  const timer = setTimeout(() =>
    controller.abort(
      new ConnectError(
        `Cannot connect to "${endpoint.label}": no answer within ${limit} ms`,
        {
          cause: new TimeoutError(`Connect timeout of ${limit} ms elapsed`),
        },
      ),
    ), limit);
  try {
    stream = await runtime.dial(target, handlers, AbortSignal.any([cancel, controller.signal]));
  } catch (error) {
    zlib?.close();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  const opened = stream;
  return {
    send: (bytes, _message, _timeout, defer) =>
      zlib ? zlib.send(bytes) : opened.write(bytes, defer),
    end: async () => {
      if (zlib) await zlib.flushed();
      await opened.end();
    },
    close: () => opened.close(),
    unref: () => opened.unref(),
    ref: () => opened.ref(),
  };
}
