/**
 * Zlib over a socket, wire-compatible with Apache Thrift's `TZlibTransport`: one zlib stream
 * per direction for the whole connection, and a sync flush after each message.
 *
 * @module
 */
import { constants, createDeflate, createInflate } from "node:zlib";
import type { Deflate, Inflate } from "node:zlib";

/** Compresses outbound messages and inflates inbound bytes for one connection. */
export class ZlibCodec {
  readonly #deflate: Deflate;
  readonly #inflate: Inflate;
  #flushed: Promise<void> = Promise.resolve();

  /**
   * @param write Receives compressed bytes, in order.
   * @param read Receives inflated bytes, in order.
   * @param fail Receives a corrupt-stream error (once).
   */
  constructor(
    write: (bytes: Uint8Array) => void,
    read: (bytes: Uint8Array) => void,
    fail: (error: Error) => void,
  ) {
    this.#deflate = createDeflate();
    this.#inflate = createInflate({ flush: constants.Z_SYNC_FLUSH });
    this.#deflate.on("data", write);
    this.#inflate.on("data", read);
    this.#deflate.on("error", fail);
    this.#inflate.on("error", fail);
  }

  /** Compresses one message and sync-flushes it so the peer can inflate it whole. */
  send(message: Uint8Array): void {
    this.#deflate.write(message.slice()); // the caller reuses its buffer once send returns
    this.#flushed = new Promise((resolve) =>
      this.#deflate.flush(constants.Z_SYNC_FLUSH, () => resolve())
    );
  }

  /** Feeds compressed bytes from the peer. */
  receive(chunk: Uint8Array): void {
    this.#inflate.write(chunk);
  }

  /** Resolves once every message sent so far has left the compressor. */
  flushed(): Promise<void> {
    return this.#flushed;
  }

  /** Releases both zlib streams. */
  close(): void {
    this.#deflate.destroy();
    this.#inflate.destroy();
  }
}
