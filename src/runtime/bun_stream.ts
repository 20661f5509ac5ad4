/**
 * A `ByteStream` over an open Bun socket, dialed or accepted: one ordered writer (bytes Bun
 * does not take at once wait for `drain`), with the writes of a tick after the first sent
 * together.
 *
 * @module
 */
import type { ByteStream, StreamHandlers } from "../transport/byte_stream.ts";
import { concatChunks } from "../transport/bytes.ts";
import { WriteBuffer } from "../transport/write_buffer.ts";
import type { BunSocket } from "./bun_api.ts";

/** The stream of one socket, and what the socket's events call. */
export interface BunStream {
  /** The stream handed to the core. */
  readonly stream: ByteStream;
  /** Bun's `data` event. */
  data(chunk: Uint8Array): void;
  /** Bun's `drain` event: sends the bytes waiting, in order. */
  drain(): void;
  /** The socket closed or failed: ends the stream, once (with `error` when it failed). */
  finish(error?: Error): void;
}

/** Wraps an open socket; `handlers` get what it reads and, once, how it ended. */
export function bunStream(socket: BunSocket, handlers: StreamHandlers): BunStream {
  let closed = false;
  let pending: Uint8Array[] = []; // bytes Bun did not take yet, sent on `drain`, in order
  // writes after the first of this tick, copied into one reused buffer and sent together
  const batch = new WriteBuffer();
  let batching = false;
  let ending = false;
  const { promise: gone, resolve: markGone } = Promise.withResolvers<void>();
  const finish = (error?: Error): void => {
    if (closed) return;
    closed = true;
    pending = [];
    batch.pos = 0;
    socket.end(); // Bun closes the descriptor after the FIN, without waiting for the peer
    handlers.onClose(error);
    markGone();
  };
  const drain = (): void => {
    if (closed || pending.length === 0) return;
    const chunk = concatChunks(pending);
    const written = Math.max(socket.write(chunk), 0);
    pending = written < chunk.length ? [chunk.subarray(written)] : [];
    if (ending && pending.length === 0) finish();
  };
  // A socket write costs microseconds in Bun: a pipeline's messages go out in one write.
  const writeBatch = (): void => {
    batching = false;
    if (closed || batch.pos === 0) return;
    const chunk = batch.bytes.subarray(0, batch.pos);
    batch.pos = 0;
    batch.shrink(chunk.length);
    if (pending.length > 0) return void pending.push(chunk.slice());
    const written = Math.max(socket.write(chunk), 0);
    if (written < chunk.length) pending.push(chunk.slice(written)); // `batch` is reused
  };
  const stream: ByteStream = {
    write(bytes: Uint8Array, defer?: boolean): void {
      if (closed || ending || bytes.length === 0) return;
      if (pending.length > 0) return void pending.push(bytes.slice());
      if (batching) return batch.put(bytes);
      batching = true;
      if (defer) { // with the rest of this turn's writes
        batch.put(bytes);
        return void setTimeout(writeBatch, 0);
      }
      // the first write of a tick goes out at once, the rest together
      queueMicrotask(writeBatch);
      const written = Math.max(socket.write(bytes), 0);
      if (written < bytes.length) pending.push(bytes.slice(written));
    },
    close(): void {
      finish();
    },
    unref: () => socket.unref(),
    ref: () => socket.ref(),
    end(): Promise<void> {
      writeBatch();
      ending = true;
      if (pending.length === 0) finish(); // else `drain` finishes once the queue is empty
      return gone;
    },
  };
  const data = (chunk: Uint8Array): void => {
    if (!closed) handlers.onData(chunk);
  };
  return { stream, data, drain, finish };
}
