/**
 * A `ByteStream` over a `Deno.Conn`: one read loop, one ordered writer with coalescing.
 *
 * @module
 */
import type { ByteStream, DialTarget, StreamHandlers } from "../transport/byte_stream.ts";
import { WriteBuffer } from "../transport/write_buffer.ts";
import { streamError } from "./_errors.ts";

/** Bytes asked for per read, into one buffer reused for every read. */
const READ_SIZE = 64 * 1024;

/** Closes a conn that may be closed already. */
export function safeClose(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}

/** Wraps an open conn; `handlers` get what it reads and, once, how it ended. */
export function denoStream(
  conn: Deno.Conn,
  target: DialTarget,
  handlers: StreamHandlers,
): ByteStream {
  let closed = false;
  let ending = false;
  // Bytes to write gather in `next` while `sending` is being written; the two swap, so a
  // steady stream of messages is copied once into reused memory, never allocated per write.
  let next = new WriteBuffer();
  let sending = new WriteBuffer();
  let writing = false;
  let deferred: ReturnType<typeof setTimeout> | undefined; // a deferred write's flush
  let written: Promise<void> = Promise.resolve();
  const startWriting = (): void => {
    clearTimeout(deferred);
    deferred = undefined;
    if (writing || next.pos === 0 || closed) return;
    writing = true;
    written = pump();
  };
  const { promise: gone, resolve: markGone } = Promise.withResolvers<void>();
  const finish = (error?: Error): void => {
    if (closed) return;
    closed = true;
    next.pos = 0;
    clearTimeout(deferred);
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
        if (n > 0) handlers.onData(buffer.subarray(0, n));
      }
      finish(); // A clean EOF is not an error here; the core knows whether a call was pending.
    } catch (error) {
      if (!closed) finish(streamError(target, "read from", error));
    }
  };
  // One writer at a time; conn.write may write part of a chunk, and queued bytes coalesce.
  const pump = async (): Promise<void> => {
    try {
      while (next.pos > 0 && !closed) {
        [sending, next] = [next, sending];
        const size = sending.pos;
        sending.pos = 0;
        for (let off = 0; off < size && !closed;) {
          off += await conn.write(sending.bytes.subarray(off, size));
        }
        sending.shrink(size);
      }
    } catch (error) {
      if (!closed) finish(streamError(target, "write to", error));
    } finally {
      writing = false;
    }
  };
  const drainThenClose = async (): Promise<void> => {
    startWriting(); // a deferred write goes out before the FIN
    await written;
    if (closed) return;
    try {
      await conn.closeWrite(); // flushes (TLS: sends close_notify) before the FIN
    } catch { /* the peer is gone already: closing is all that is left */ }
    finish();
  };
  void readLoop();
  return {
    write(bytes: Uint8Array, defer?: boolean): void {
      if (closed || ending || bytes.length === 0) return;
      next.put(bytes); // the caller may reuse its buffer: copy
      if (writing || deferred !== undefined) return; // goes out with what is queued
      if (defer) deferred = setTimeout(startWriting, 0); // with the rest of this turn's writes
      else startWriting();
    },
    close(): void {
      finish();
    },
    unref: () => conn.unref(),
    ref: () => conn.ref(),
    end(): Promise<void> {
      if (!ending && !closed) {
        ending = true;
        void drainThenClose();
      }
      return gone;
    },
  };
}
