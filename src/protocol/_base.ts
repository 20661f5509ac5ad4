/**
 * What the binary, compact and JSON protocols share: the transport they are given (a
 * `WriteBuffer` to write, a `ReadBuffer` to read), the write checks, and the i64 helpers.
 *
 * @module
 */
import { ReadBuffer } from "../transport/read_buffer.ts";
import { WriteBuffer } from "../transport/write_buffer.ts";
import { type Int64Maker, makeInt64, WriteContext } from "./_values.ts";

/** The base of this library's protocol classes. */
export class ProtocolBase {
  /** Where messages are written (when given a `WriteBuffer`). */
  protected readonly out: WriteBuffer;
  /** Where replies are read from (when given a `ReadBuffer`). */
  protected readonly in: ReadBuffer;
  /** Where a write happens, for the errors of the value checks. */
  protected readonly ctx: WriteContext = new WriteContext();
  /** Scratch for an i64's two halves. */
  protected readonly i64: Int32Array = new Int32Array(2);
  /** What an i64 read becomes. */
  protected readonly int64: Int64Maker;
  readonly #transport: unknown;

  /**
   * @param transport A `WriteBuffer` (an output transport) to write, a `ReadBuffer` to read.
   * @param int64 What an i64 read becomes (node-int64's `Int64` by default).
   * @throws {TypeError} for any other transport.
   */
  constructor(transport: unknown, int64: Int64Maker = makeInt64) {
    if (!(transport instanceof WriteBuffer) && !(transport instanceof ReadBuffer)) {
      throw new TypeError(`${new.target.name} needs a WriteBuffer or a ReadBuffer`);
    }
    this.#transport = transport;
    this.int64 = int64;
    this.out = transport as WriteBuffer;
    this.in = transport as ReadBuffer;
  }

  /** The transport given to the constructor. */
  getTransport(): unknown {
    return this.#transport;
  }
}
