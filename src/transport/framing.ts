/**
 * `TFramedTransport` framing: each message is preceded by its length as a big-endian i32.
 *
 * @module
 */
import { ProtocolError } from "../errors.ts";

/** Cuts an inbound byte stream into frame payloads, refusing sizes above a maximum. */
export class FrameDecoder {
  #header = new Uint8Array(4);
  #headerFill = 0;
  #frame: Uint8Array | undefined;
  #frameFill = 0;
  readonly #maxSize: number;
  readonly #label: string;

  /**
   * @param maxSize The largest frame accepted, in bytes.
   * @param label The endpoint, for error messages.
   */
  constructor(maxSize: number, label: string) {
    this.#maxSize = maxSize;
    this.#label = label;
  }

  /**
   * Consumes a chunk, calling `onFrame` with each complete payload.
   *
   * @throws {ProtocolError} when a frame size is negative or above the maximum.
   */
  push(chunk: Uint8Array, onFrame: (payload: Uint8Array) => void): void {
    let at = 0;
    while (at < chunk.length) {
      if (!this.#frame) {
        const take = Math.min(4 - this.#headerFill, chunk.length - at);
        this.#header.set(chunk.subarray(at, at + take), this.#headerFill);
        this.#headerFill += take;
        at += take;
        if (this.#headerFill < 4) return;
        this.#headerFill = 0;
        const size = new DataView(this.#header.buffer).getInt32(0);
        if (size <= 0 || size > this.#maxSize) {
          throw new ProtocolError(
            `Invalid frame from "${this.#label}": size ${size} is outside 1..${this.#maxSize} (is the server framed?)`,
          );
        }
        this.#frame = new Uint8Array(size);
        this.#frameFill = 0;
      }
      const take = Math.min(
        this.#frame.length - this.#frameFill,
        chunk.length - at,
      );
      this.#frame.set(chunk.subarray(at, at + take), this.#frameFill);
      this.#frameFill += take;
      at += take;
      if (this.#frameFill === this.#frame.length) {
        const payload = this.#frame;
        this.#frame = undefined;
        onFrame(payload);
      }
    }
  }
}
