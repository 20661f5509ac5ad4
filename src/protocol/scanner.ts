/**
 * The resumable message scanner: on an unframed stream it walks each reply's structure as
 * bytes arrive and keeps its place between chunks, so it can say where a message ends
 * without parsing it (and without rescanning it from the start on every chunk). The reply is
 * then parsed once, whole. The size limit applies as bytes arrive.
 *
 * The scanner is lenient: where the bytes make no sense (a bad header, a negative size, an
 * unknown type) it reports the message as ready, and the protocol's reader, which reads the
 * same bytes, names the error.
 *
 * @module
 */
import type { ByteScanner } from "../transport/read_buffer.ts";
import type { WireProtocol } from "../config.ts";

/** `scan()`: the message is not all here yet. */
export const NEED_MORE = -1;
/** `scan()`: the message is larger than the byte limit. */
export const TOO_LARGE = -2;

/** Finds where the message at the start of a byte window ends, across calls. */
export interface MessageScanner extends ByteScanner {
  /**
   * Continues scanning the message that starts at `bytes[start]`, with `bytes[start..end)`
   * received so far (the same message as the last call, possibly moved, with more bytes).
   *
   * @returns the message's length once it is complete (or once it is invalid: then the
   *   reader reports why), {@link NEED_MORE}, or {@link TOO_LARGE} when the message needs
   *   more than `limit` bytes.
   */
  scan(bytes: Uint8Array, start: number, end: number, limit: number): number;
  /** The least length the message is known to have (to reserve room for it). */
  readonly wanted: number;
  /** Forgets the message: the next `scan()` starts a new one. */
  reset(): void;
}

/** Returns a new scanner for a protocol's replies. */
export function newScanner(protocol: WireProtocol): MessageScanner {
  switch (protocol) {
    case "BINARY":
      return new BinaryScanner();
    case "COMPACT":
      return new CompactScanner();
    case "JSON":
      return new JsonScanner();
  }
}

const STRUCT = 0;
const LIST = 1;
const MAP = 2;
const NONE = -1;
/** A step's result: carry on scanning (any other result ends `scan()`). */
const GO = -10;

/**
 * What binary and compact scanners share: the walk over the containers open around the
 * position. A protocol reads its header, its field headers and its values; each step
 * returns {@link GO}, or what `scan()` returns now.
 */
abstract class StructureScanner implements MessageScanner {
  wanted = 0;
  /** Scanned bytes of the current message. */
  protected at = 0;
  #head = true;
  /** The wire type of a value about to be scanned (its header not yet passed), or NONE. */
  protected pending = NONE;
  readonly #kinds: number[] = [];
  readonly #types: number[] = []; // element type; a map's key type
  readonly #values: number[] = []; // a map's value type
  readonly #left: number[] = []; // elements (a map: keys and values) still to scan

  reset(): void {
    this.at = this.wanted = 0;
    this.#head = true;
    this.pending = NONE;
    this.#kinds.length =
      this.#types.length =
      this.#values.length =
      this.#left.length =
        0;
  }

  scan(b: Uint8Array, start: number, end: number, limit: number): number {
    const avail = Math.min(end - start, limit); // bytes past the limit are never looked at
    if (this.#head) {
      const step = this.header(b, start, avail, limit);
      if (step !== GO) return step;
      this.#head = false;
      this.open(STRUCT, 0, 0, 0);
    }
    for (;;) {
      if (this.pending === NONE) {
        const d = this.#kinds.length - 1;
        if (d < 0) return this.at;
        if (this.#kinds[d] === STRUCT) {
          const step = this.field(b, start, avail, limit);
          if (step !== GO) return step;
          continue; // `pending` is the field's type now, or the struct ended
        }
        const left = this.#left[d]!;
        if (left === 0) {
          this.close();
          continue;
        }
        this.#left[d] = left - 1;
        this.pending = this.#kinds[d] === MAP && (left & 1) === 1
          ? this.#values[d]!
          : this.#types[d]!;
      }
      const step = this.value(b, start, avail, limit, this.pending);
      if (step !== GO) return step;
      this.pending = NONE;
    }
  }

  /** Passes the message header. */
  protected abstract header(b: Uint8Array, start: number, avail: number, limit: number): number;
  /** Passes a field header (setting `pending`), or a stop (then `close()`). */
  protected abstract field(b: Uint8Array, start: number, avail: number, limit: number): number;
  /** Passes a value of wire type `t` (a container's header only: then `open()`). */
  protected abstract value(
    b: Uint8Array,
    start: number,
    avail: number,
    limit: number,
    t: number,
  ): number;

  protected open(kind: number, type: number, value: number, left: number): void {
    this.#kinds.push(kind);
    this.#types.push(type);
    this.#values.push(value);
    this.#left.push(left);
  }

  protected close(): void {
    this.#kinds.pop();
    this.#types.pop();
    this.#values.pop();
    this.#left.pop();
  }

  /** Saves the place: `n` more bytes from `at` are needed. */
  protected short(n: number, limit: number): number {
    this.wanted = this.at + n;
    return this.wanted > limit ? TOO_LARGE : NEED_MORE;
  }

  /** Passes `n` bytes when they are here. */
  protected pass(n: number, avail: number, limit: number): number {
    if (this.at + n > avail) return this.short(n, limit);
    this.at += n;
    return GO;
  }
}

// Binary protocol wire types (`Thrift.Type`).
const B_STRING = 11;
const B_STRUCT = 12;
const B_MAP = 13;
const B_SET = 14;
const B_LIST = 15;
/** Fixed widths of binary wire types; 0 for the others. */
const B_WIDTH = new Uint8Array(17);
B_WIDTH[2] = B_WIDTH[3] = 1; // bool, byte
B_WIDTH[6] = 2; // i16
B_WIDTH[8] = 4; // i32
B_WIDTH[4] = B_WIDTH[10] = 8; // double, i64
B_WIDTH[16] = 16; // uuid

const bWidth = (t: number): number => t < 17 ? B_WIDTH[t]! : 0;

function i32At(b: Uint8Array, i: number): number {
  return (b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!;
}

/** `TBinaryProtocol` (strict headers). */
class BinaryScanner extends StructureScanner {
  protected header(b: Uint8Array, start: number, avail: number, limit: number): number {
    if (avail < 8) return this.short(8, limit);
    if ((i32At(b, start) & 0xffff0000) !== (0x80010000 | 0)) return avail;
    const name = i32At(b, start + 4);
    if (name < 0 || name > limit) return avail;
    return this.pass(12 + name, avail, limit);
  }

  protected field(b: Uint8Array, start: number, avail: number, limit: number): number {
    if (this.at + 1 > avail) return this.short(1, limit);
    const t = b[start + this.at]!;
    if (t === 0) {
      this.at += 1;
      this.close();
      return GO;
    }
    const step = this.pass(3, avail, limit);
    if (step === GO) this.pending = t;
    return step;
  }

  protected value(b: Uint8Array, start: number, avail: number, limit: number, t: number): number {
    const width = bWidth(t);
    if (width > 0) return this.pass(width, avail, limit);
    const at = start + this.at;
    switch (t) {
      case B_STRING: {
        if (this.at + 4 > avail) return this.short(4, limit);
        const size = i32At(b, at);
        if (size < 0 || size > limit) return avail; // the reader refuses the size
        return this.pass(4 + size, avail, limit);
      }
      case B_STRUCT:
        this.open(STRUCT, 0, 0, 0);
        return GO;
      case B_LIST:
      case B_SET: {
        if (this.at + 5 > avail) return this.short(5, limit);
        const type = b[at]!;
        const size = i32At(b, at + 1);
        if (size < 0 || size > limit) return avail;
        const w = bWidth(type);
        if (w > 0) return this.pass(5 + size * w, avail, limit); // fixed-size elements at once
        this.at += 5;
        this.open(LIST, type, 0, size);
        return GO;
      }
      case B_MAP: {
        if (this.at + 6 > avail) return this.short(6, limit);
        const key = b[at]!, value = b[at + 1]!;
        const size = i32At(b, at + 2);
        if (size < 0 || size * 2 > limit) return avail;
        const kw = bWidth(key), vw = bWidth(value);
        if (kw > 0 && vw > 0) return this.pass(6 + size * (kw + vw), avail, limit);
        this.at += 6;
        this.open(MAP, key, value, size * 2);
        return GO;
      }
      default:
        return avail; // unknown type: the reader says so
    }
  }
}

// Compact protocol wire types.
const C_TRUE = 1;
const C_FALSE = 2;
const C_I16 = 4;
const C_I32 = 5;
const C_I64 = 6;
const C_BINARY = 8;
const C_LIST = 9;
const C_SET = 10;
const C_MAP = 11;
const C_STRUCT = 12;
/** Fixed widths of compact element types; 0 for the others. */
const C_WIDTH = new Uint8Array(16);
C_WIDTH[C_TRUE] = C_WIDTH[C_FALSE] = C_WIDTH[3] = 1; // bools in containers, byte
C_WIDTH[7] = 8; // double
C_WIDTH[13] = 16; // uuid

/** Reads a varint known to be complete and at most 5 bytes long. */
function varint32At(b: Uint8Array, i: number): number {
  let v = 0;
  for (let shift = 0;; shift += 7) {
    const x = b[i++]!;
    v |= (x & 0x7f) << shift;
    if (x < 0x80) return v;
  }
}

/** `TCompactProtocol`. */
class CompactScanner extends StructureScanner {
  /** What `scan()` returns now, when `#varint` returns -1. */
  #result = NEED_MORE;

  /**
   * Where the varint of at most `max` bytes at `from` (relative) ends; -1 when it is not all
   * here (a byte more is needed) or is too long (the reader says so), with `#result` set.
   */
  #varint(
    b: Uint8Array,
    start: number,
    avail: number,
    limit: number,
    from: number,
    max: number,
  ): number {
    for (let n = 0; n < max; n++) {
      if (from + n >= avail) {
        this.#result = this.short(avail - this.at + 1, limit);
        return -1;
      }
      if (b[start + from + n]! < 0x80) return from + n + 1;
    }
    this.#result = avail;
    return -1;
  }

  /** Passes a varint (at most `max` bytes) at the position. */
  #passVarint(b: Uint8Array, start: number, avail: number, limit: number, max: number): number {
    const e = this.#varint(b, start, avail, limit, this.at, max);
    if (e < 0) return this.#result;
    this.at = e;
    return GO;
  }

  protected header(b: Uint8Array, start: number, avail: number, limit: number): number {
    if (avail < 2) return this.short(2, limit);
    if (b[start] !== 0x82) return avail;
    const seqEnd = this.#varint(b, start, avail, limit, 2, 5);
    const lenEnd = seqEnd < 0 ? seqEnd : this.#varint(b, start, avail, limit, seqEnd, 5);
    if (lenEnd < 0) return this.#result;
    const name = varint32At(b, start + seqEnd);
    if (name < 0 || name > limit) return avail;
    return this.pass(lenEnd + name, avail, limit);
  }

  protected field(b: Uint8Array, start: number, avail: number, limit: number): number {
    if (this.at + 1 > avail) return this.short(1, limit);
    const h = b[start + this.at]!;
    if (h === 0) {
      this.at += 1;
      this.close();
      return GO;
    }
    if (h >> 4 === 0) { // the field id follows as a varint
      const e = this.#varint(b, start, avail, limit, this.at + 1, 5);
      if (e < 0) return this.#result;
      this.at = e;
    } else this.at += 1;
    const t = h & 0x0f;
    if (t !== C_TRUE && t !== C_FALSE) this.pending = t; // a bool's value is in the header
    return GO;
  }

  protected value(b: Uint8Array, start: number, avail: number, limit: number, t: number): number {
    const width = C_WIDTH[t & 0x0f]!;
    if (width > 0 && t < 16) return this.pass(width, avail, limit);
    const at = start + this.at;
    switch (t) {
      case C_I16:
      case C_I32:
        return this.#passVarint(b, start, avail, limit, 5);
      case C_I64:
        return this.#passVarint(b, start, avail, limit, 10);
      case C_BINARY: {
        const e = this.#varint(b, start, avail, limit, this.at, 5);
        if (e < 0) return this.#result;
        const size = varint32At(b, at);
        if (size < 0 || size > limit) return avail; // the reader refuses the size
        return this.pass(e - this.at + size, avail, limit);
      }
      case C_STRUCT:
        this.open(STRUCT, 0, 0, 0);
        return GO;
      case C_LIST:
      case C_SET: {
        if (this.at + 1 > avail) return this.short(1, limit);
        const type = b[at]! & 0x0f;
        let size = b[at]! >> 4;
        let n = 1;
        if (size === 15) {
          const e = this.#varint(b, start, avail, limit, this.at + 1, 5);
          if (e < 0) return this.#result;
          size = varint32At(b, at + 1);
          if (size < 0 || size > limit) return avail;
          n = e - this.at;
        }
        const w = C_WIDTH[type]!;
        if (w > 0) return this.pass(n + size * w, avail, limit); // fixed-size elements at once
        this.at += n;
        this.open(LIST, type, 0, size);
        return GO;
      }
      case C_MAP: {
        const e = this.#varint(b, start, avail, limit, this.at, 5);
        if (e < 0) return this.#result;
        const size = varint32At(b, at);
        if (size < 0 || size * 2 > limit) return avail;
        const n = e - this.at;
        if (size === 0) return this.pass(n, avail, limit);
        if (this.at + n + 1 > avail) return this.short(n + 1, limit);
        const kv = b[at + n]!;
        this.at += n + 1;
        this.open(MAP, kv >> 4, kv & 0x0f, size * 2);
        return GO;
      }
      default:
        return avail; // unknown type: the reader says so
    }
  }
}

/** `TJSONProtocol`: the message is one JSON array; strings may hold brackets. */
class JsonScanner implements MessageScanner {
  wanted = 0;
  #at = 0;
  #depth = 0;
  #inString = false;
  #escaped = false;

  reset(): void {
    this.#at = this.#depth = this.wanted = 0;
    this.#inString = this.#escaped = false;
  }

  scan(b: Uint8Array, start: number, end: number, limit: number): number {
    const stop = Math.min(end - start, limit); // bytes past the limit are never looked at
    let p = this.#at, depth = this.#depth, inString = this.#inString, escaped = this.#escaped;
    for (; p < stop; p++) {
      const c = b[start + p];
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 0x5c) escaped = true; // \
        else if (c === 0x22) inString = false;
      } else if (c === 0x22) inString = true;
      else if (c === 0x5b || c === 0x7b) depth++; // [ {
      else if (c === 0x5d || c === 0x7d) { // ] }
        if (--depth <= 0) return p + 1;
      } else if (depth === 0 && c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) {
        return stop; // not a message: the reader says so
      }
    }
    this.#at = p;
    this.#depth = depth;
    this.#inString = inString;
    this.#escaped = escaped;
    this.wanted = p + 1;
    return p >= limit ? TOO_LARGE : NEED_MORE;
  }
}
