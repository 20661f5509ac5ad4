/**
 * The inbound buffer npm `thrift` protocols read replies from.
 *
 * Bytes are appended as they arrive; a reader marks where a message starts, and either
 * commits it once parsed or rolls back when the protocol ran out of bytes mid-message.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { InputBufferUnderrunError } from "../_thrift.ts";

const EMPTY = Buffer.alloc(0);
/** Small enough for `Buffer.allocUnsafe` to carve it from its shared slab (no new ArrayBuffer). */
const MIN_SIZE = 2048;

/** Accumulates inbound bytes and serves the read calls of npm `thrift` protocols. */
export class ReadBuffer {
  #buf: Buffer = EMPTY; // grown on the first append: a pooled connection's is often small
  #start = 0; // first byte of the message being read
  #pos = 0; // read cursor
  #end = 0; // end of valid bytes
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

  /** Appends a chunk, compacting or growing the buffer as needed. */
  append(chunk: Uint8Array): void {
    if (this.#end + chunk.length > this.#buf.length) {
      const live = this.#end - this.#start;
      const size = Math.max(this.#buf.length, (live + chunk.length) * 2, MIN_SIZE);
      const next = size > this.#buf.length ? Buffer.allocUnsafe(size) : this.#buf;
      this.#buf.copy(next, 0, this.#start, this.#end);
      this.#buf = next;
      this.#pos -= this.#start;
      this.#start = 0;
      this.#end = live;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /** Marks the read cursor as the start of the next message. */
  commit(): void {
    this.#start = this.#pos;
    if (this.#start === this.#end) this.#start = this.#pos = this.#end = 0;
  }

  /** Moves the read cursor back to the start of the current message. */
  rollback(): void {
    this.#pos = this.#start;
  }

  #need(length: number): number {
    const at = this.#pos;
    if (at + length > this.#end) throw new InputBufferUnderrunError();
    this.#pos = at + length;
    return at;
  }

  /** Reads `length` bytes as a copy the caller owns. */
  read(length: number): Buffer {
    const at = this.#need(length);
    return Buffer.from(this.#buf.subarray(at, at + length));
  }

  /** Reads a signed byte. */
  readByte(): number {
    return this.#buf.readInt8(this.#need(1));
  }

  /** Reads an unsigned byte. */
  readUByte(): number {
    return this.#buf[this.#need(1)];
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

  /** Exposes the buffer for the JSON protocol's scanner. */
  borrow(): { buf: Buffer; readIndex: number; writeIndex: number } {
    return { buf: this.#buf, readIndex: this.#pos, writeIndex: this.#end };
  }

  /** Advances the cursor after a `borrow()`. */
  consume(length: number): void {
    this.#need(length);
  }
}
