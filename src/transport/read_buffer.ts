/**
 * The inbound buffer the protocols read replies from.
 *
 * Bytes are appended as they arrive; a reader parses a whole message (its end found by a
 * scanner, or given by a frame) and commits it.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { InputBufferUnderrunError } from "../_thrift.ts";

const EMPTY = Buffer.alloc(0);
/** Finds where a message ends in bytes as they arrive (a protocol's scanner is one). */
export interface ByteScanner {
  /**
   * Continues scanning the message that starts at `bytes[start]`, with `bytes[start..end)`
   * received so far; returns its length once known, or a negative outcome of the scanner's.
   */
  scan(bytes: Uint8Array, start: number, end: number, limit: number): number;
}

/** Small enough for `Buffer.allocUnsafe` to carve it from its shared slab (no new ArrayBuffer). */
const MIN_SIZE = 2048;
/** A value read of at least this many bytes keeps the buffer's own bytes instead of a copy. */
const LEND_SIZE = 64 * 1024;
/** Room kept past a reserved message, for the fields after a large value. */
const SLACK = 4096;

/** Accumulates inbound bytes and serves the protocols' read calls. */
export class ReadBuffer {
  #buf: Buffer = EMPTY; // grown on the first append: a pooled connection's is often small
  #start = 0; // first byte of the message being read
  #pos = 0; // read cursor
  #end = 0; // end of valid bytes
  #lent = false; // a value keeps part of #buf: never write over it again
  /** The largest message accepted, in bytes: protocols refuse sizes that cannot fit. */
  readonly maxMessageSize: number;

  /** @param maxMessageSize The largest message accepted, in bytes. */
  constructor(maxMessageSize = 16 * 1024 * 1024) {
    this.maxMessageSize = maxMessageSize;
  }

  /** Bytes not yet committed. */
  get pending(): number {
    return this.#end - this.#start;
  }

  /** Bytes of the current message read so far. */
  get consumed(): number {
    return this.#pos - this.#start;
  }

  /** Appends a chunk, compacting or growing the buffer as needed. */
  append(chunk: Uint8Array): void {
    if (this.#end + chunk.length > this.#buf.length) {
      const live = this.#end - this.#start;
      this.#move(Math.max(this.#buf.length, (live + chunk.length) * 2, MIN_SIZE));
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /**
   * Takes a whole message (a frame, a body) as the buffer's own bytes when nothing else is
   * pending: no copy. The buffer never writes into them; the caller must not either.
   */
  adopt(chunk: Uint8Array): void {
    if (this.#end > this.#start) return this.append(chunk);
    this.#buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    this.#start = this.#pos = 0;
    this.#end = chunk.length;
    this.#lent = true; // the chunk is exactly full: the next append moves to a new buffer
  }

  /** Makes room for a message of at least `size` bytes in one allocation. */
  reserve(size: number): void {
    if (this.#start + size > this.#buf.length) this.#move(size + SLACK);
  }

  /** Moves the pending bytes to the start of a buffer of `size` bytes (a new one if needed). */
  #move(size: number): void {
    const live = this.#end - this.#start;
    const fresh = size > this.#buf.length || this.#lent;
    const next = fresh ? Buffer.allocUnsafe(Math.max(size, live)) : this.#buf;
    this.#buf.copy(next, 0, this.#start, this.#end);
    this.#buf = next;
    this.#lent = false;
    this.#pos -= this.#start;
    this.#start = 0;
    this.#end = live;
  }

  /** Runs a scanner over the pending bytes (see `ByteScanner.scan`). */
  scan(scanner: ByteScanner): number {
    return scanner.scan(this.#buf, this.#start, this.#end, this.maxMessageSize);
  }

  /** Marks the read cursor as the start of the next message. */
  commit(): void {
    this.#start = this.#pos;
    if (this.#start !== this.#end) return;
    if (this.#lent) {
      this.#buf = EMPTY;
      this.#lent = false;
    }
    this.#start = this.#pos = this.#end = 0;
  }

  #need(length: number): number {
    const at = this.#pos;
    if (at + length > this.#end) throw new InputBufferUnderrunError();
    this.#pos = at + length;
    return at;
  }

  /**
   * Reads `length` bytes the caller owns: a copy, or for a large value the buffer's own
   * bytes, which the buffer then never writes over.
   */
  read(length: number): Buffer {
    const at = this.#need(length);
    if (length < LEND_SIZE) return Buffer.from(this.#buf.subarray(at, at + length));
    this.#lent = true;
    return this.#buf.subarray(at, at + length);
  }

  /** Reads a signed byte. */
  readByte(): number {
    return this.#buf.readInt8(this.#need(1));
  }

  /** Reads an unsigned byte. */
  readUByte(): number {
    return this.#buf[this.#need(1)]!;
  }

  /** Reads a little-endian double (compact protocol). */
  readDoubleLE(): number {
    return this.#buf.readDoubleLE(this.#need(8));
  }

  /** Reads a big-endian i16. */
  readI16(): number {
    return this.#buf.readInt16BE(this.#need(2));
  }

  /** Reads a big-endian i32. */
  readI32(): number {
    return this.#buf.readInt32BE(this.#need(4));
  }

  /** Reads a big-endian double. */
  readDouble(): number {
    return this.#buf.readDoubleBE(this.#need(8));
  }

  /** Reads `length` bytes as UTF-8 text. */
  readString(length: number): string {
    const at = this.#need(length);
    return this.#buf.toString("utf8", at, at + length);
  }

  /** Exposes the buffer for the JSON protocol's reader, which walks the bytes itself. */
  borrow(): { buf: Buffer; readIndex: number; writeIndex: number } {
    return { buf: this.#buf, readIndex: this.#pos, writeIndex: this.#end };
  }

  /** Advances the cursor after a `borrow()`. */
  consume(length: number): void {
    this.#need(length);
  }
}
