/**
 * One growable byte buffer, reused across messages: the protocols write each message into
 * one, and the runtime adapters gather the bytes of pending writes in them.
 *
 * @module
 */

const encoder = new TextEncoder();

/** A growable output buffer: writers write at `pos`, after `ensure()`. */
export class WriteBuffer {
  /** The bytes; replaced when it grows, so read it after `ensure()`. */
  bytes: Uint8Array = new Uint8Array(1024);
  /** A view on `bytes`. */
  view: DataView = new DataView(this.bytes.buffer);
  /** The write position. */
  pos = 0;

  /** Makes room for `n` more bytes at `pos`. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.bytes.length) return;
    const next = new Uint8Array(Math.max(need, this.bytes.length * 2));
    next.set(this.bytes.subarray(0, this.pos));
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }

  /** Appends raw bytes. */
  put(data: Uint8Array): void {
    this.ensure(data.length);
    this.bytes.set(data, this.pos);
    this.pos += data.length;
  }

  /** Writes `text` as UTF-8 at `at` (room for `text.length * 3` bytes is needed); returns the byte count. */
  utf8(text: string, at: number): number {
    return encoder.encodeInto(text, this.bytes.subarray(at)).written;
  }

  #unused = 0;

  /**
   * After a message of `used` bytes: drops a buffer above 1 MiB once eight messages in a row
   * used less than an eighth of it (steady large messages keep theirs: no allocation each).
   */
  shrink(used: number): void {
    if (this.bytes.length <= 1024 * 1024) return;
    if (used >= this.bytes.length / 8) return void (this.#unused = 0);
    if (++this.#unused < 8) return;
    this.#unused = 0;
    this.bytes = new Uint8Array(1024);
    this.view = new DataView(this.bytes.buffer);
  }
}
