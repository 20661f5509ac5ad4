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
import type { ProtocolName } from "../config.ts";

/** `scan()`: the message is not all here yet. */
export const NEED_MORE = -1;
/** `scan()`: the message is larger than the byte limit. */
export const TOO_LARGE = -2;

/** Finds where the message at the start of a byte window ends, across calls. */
export interface MessageScanner {
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
export function newScanner(protocol: ProtocolName): MessageScanner {
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

/** What binary and compact scanners share: the containers open around the position. */
abstract class StructureScanner implements MessageScanner {
  wanted = 0;
  /** Scanned bytes of the current message. */
  protected at = 0;
  /** Still in the message header. */
  protected head = true;
  /** The wire type of a value about to be scanned (its header not yet passed), or NONE. */
  protected pending = NONE;
  protected readonly kinds: number[] = [];
  protected readonly types: number[] = []; // element type; a map's key type
  protected readonly values: number[] = []; // a map's value type
  protected readonly left: number[] = []; // elements (a map: keys and values) still to scan

  reset(): void {
    this.at = 0;
    this.wanted = 0;
    this.head = true;
    this.pending = NONE;
    this.kinds.length =
      this.types.length =
      this.values.length =
      this.left.length =
        0;
  }

  abstract scan(bytes: Uint8Array, start: number, end: number, limit: number): number;

  protected open(kind: number, type: number, value: number, left: number): void {
    this.kinds.push(kind);
    this.types.push(type);
    this.values.push(value);
    this.left.push(left);
  }

  protected close(): void {
    this.kinds.pop();
    this.types.pop();
    this.values.pop();
    this.left.pop();
  }

  /** The next element's type in the innermost container, or NONE when it is done. */
  protected nextElement(): number {
    const d = this.kinds.length - 1;
    const left = this.left[d];
    if (left === 0) return NONE;
    this.left[d] = left - 1;
    return this.kinds[d] === MAP && (left & 1) === 1 ? this.values[d] : this.types[d];
  }

  /** Saves the place: `n` more bytes from `at` are needed. */
  protected short(at: number, n: number, limit: number): number {
    this.at = at;
    this.wanted = at + n;
    return at + n > limit ? TOO_LARGE : NEED_MORE;
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

function i32At(b: Uint8Array, i: number): number {
  return (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3];
}

/** `TBinaryProtocol` (strict headers). */
class BinaryScanner extends StructureScanner {
  scan(b: Uint8Array, start: number, end: number, limit: number): number {
    const avail = end - start;
    let p = this.at;
    if (this.head) {
      if (avail < 8) return this.short(p, 8, limit);
      if ((i32At(b, start) & 0xffff0000) !== (0x80010000 | 0)) return avail;
      const name = i32At(b, start + 4);
      if (name < 0 || name > limit) return avail;
      if (avail < 12 + name) return this.short(p, 12 + name, limit);
      p = 12 + name;
      this.head = false;
      this.open(STRUCT, 0, 0, 0);
    }
    for (;;) {
      let t = this.pending;
      if (t === NONE) {
        const d = this.kinds.length - 1;
        if (d < 0) return p;
        if (this.kinds[d] === STRUCT) {
          if (p + 1 > avail) return this.short(p, 1, limit);
          t = b[start + p];
          if (t === 0) {
            p += 1;
            this.close();
            continue;
          }
          if (p + 3 > avail) return this.short(p, 3, limit);
          p += 3;
        } else {
          t = this.nextElement();
          if (t === NONE) {
            this.close();
            continue;
          }
        }
        this.pending = t;
      }
      const at = start + p;
      const width = t < 17 ? B_WIDTH[t] : 0;
      if (width > 0) {
        if (p + width > avail) return this.short(p, width, limit);
        p += width;
      } else if (t === B_STRING) {
        if (p + 4 > avail) return this.short(p, 4, limit);
        const size = i32At(b, at);
        if (size < 0 || size > limit) return avail; // the reader refuses the size
        if (p + 4 + size > avail) return this.short(p, 4 + size, limit);
        p += 4 + size;
      } else if (t === B_STRUCT) {
        this.open(STRUCT, 0, 0, 0);
      } else if (t === B_LIST || t === B_SET) {
        if (p + 5 > avail) return this.short(p, 5, limit);
        const type = b[at];
        const size = i32At(b, at + 1);
        if (size < 0 || size > limit) return avail;
        const w = type < 17 ? B_WIDTH[type] : 0;
        if (w > 0) { // fixed-size elements: skipped at once
          if (p + 5 + size * w > avail) return this.short(p, 5 + size * w, limit);
          p += 5 + size * w;
        } else {
          p += 5;
          this.open(LIST, type, 0, size);
        }
      } else if (t === B_MAP) {
        if (p + 6 > avail) return this.short(p, 6, limit);
        const key = b[at], value = b[at + 1];
        const size = i32At(b, at + 2);
        if (size < 0 || size * 2 > limit) return avail;
        const kw = key < 17 ? B_WIDTH[key] : 0, vw = value < 17 ? B_WIDTH[value] : 0;
        if (kw > 0 && vw > 0) {
          const n = 6 + size * (kw + vw);
          if (p + n > avail) return this.short(p, n, limit);
          p += n;
        } else {
          p += 6;
          this.open(MAP, key, value, size * 2);
        }
      } else {
        return avail; // unknown type: the reader says so
      }
      this.pending = NONE;
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

/**
 * The end of the varint at `i` (at most `max` bytes): past its last byte; -1 when it goes
 * beyond `end`; -2 when it is longer than `max`.
 */
function varintEnd(b: Uint8Array, i: number, end: number, max: number): number {
  for (let n = 0; n < max; n++) {
    if (i + n >= end) return -1;
    if (b[i + n] < 0x80) return i + n + 1;
  }
  return -2;
}

/** Reads a varint known to be complete and at most 5 bytes long. */
function varint32At(b: Uint8Array, i: number): number {
  let v = 0;
  for (let shift = 0;; shift += 7) {
    const x = b[i++];
    v |= (x & 0x7f) << shift;
    if (x < 0x80) return v;
  }
}

/** `TCompactProtocol`. */
class CompactScanner extends StructureScanner {
  scan(b: Uint8Array, start: number, end: number, limit: number): number {
    const avail = end - start;
    let p = this.at;
    if (this.head) {
      if (avail < 2) return this.short(p, 2, limit);
      if (b[start] !== 0x82) return avail;
      const seqEnd = varintEnd(b, start + 2, end, 5);
      if (seqEnd === -2) return avail;
      if (seqEnd === -1) return this.short(p, avail - p + 1, limit);
      const lenEnd = varintEnd(b, seqEnd, end, 5);
      if (lenEnd === -2) return avail;
      if (lenEnd === -1) return this.short(p, avail - p + 1, limit);
      const name = varint32At(b, seqEnd);
      if (name < 0 || name > limit) return avail;
      const n = lenEnd - start + name;
      if (avail < n) return this.short(p, n, limit);
      p = n;
      this.head = false;
      this.open(STRUCT, 0, 0, 0);
    }
    for (;;) {
      let t = this.pending;
      if (t === NONE) {
        const d = this.kinds.length - 1;
        if (d < 0) return p;
        if (this.kinds[d] === STRUCT) {
          if (p + 1 > avail) return this.short(p, 1, limit);
          const h = b[start + p];
          if (h === 0) {
            p += 1;
            this.close();
            continue;
          }
          let next = p + 1;
          if (h >> 4 === 0) { // the field id follows as a varint
            const e = varintEnd(b, start + next, end, 5);
            if (e === -2) return avail;
            if (e === -1) return this.short(p, avail - p + 1, limit);
            next = e - start;
          }
          p = next;
          t = h & 0x0f;
          if (t === C_TRUE || t === C_FALSE) continue; // the value is in the header
        } else {
          t = this.nextElement();
          if (t === NONE) {
            this.close();
            continue;
          }
        }
        this.pending = t;
      }
      const at = start + p;
      const width = t < 16 ? C_WIDTH[t] : 0;
      if (width > 0) {
        if (p + width > avail) return this.short(p, width, limit);
        p += width;
      } else if (t === C_I16 || t === C_I32 || t === C_I64) {
        const e = varintEnd(b, at, end, t === C_I64 ? 10 : 5);
        if (e === -2) return avail;
        if (e === -1) return this.short(p, avail - p + 1, limit);
        p = e - start;
      } else if (t === C_BINARY) {
        const e = varintEnd(b, at, end, 5);
        if (e === -2) return avail;
        if (e === -1) return this.short(p, avail - p + 1, limit);
        const size = varint32At(b, at);
        if (size < 0 || size > limit) return avail;
        const n = e - at + size;
        if (p + n > avail) return this.short(p, n, limit);
        p += n;
      } else if (t === C_STRUCT) {
        this.open(STRUCT, 0, 0, 0);
      } else if (t === C_LIST || t === C_SET) {
        if (p + 1 > avail) return this.short(p, 1, limit);
        const type = b[at] & 0x0f;
        let size = b[at] >> 4;
        let n = 1;
        if (size === 15) {
          const e = varintEnd(b, at + 1, end, 5);
          if (e === -2) return avail;
          if (e === -1) return this.short(p, avail - p + 1, limit);
          size = varint32At(b, at + 1);
          if (size < 0 || size > limit) return avail;
          n = e - at;
        }
        const w = C_WIDTH[type];
        if (w > 0) {
          if (p + n + size * w > avail) return this.short(p, n + size * w, limit);
          p += n + size * w;
        } else {
          p += n;
          this.open(LIST, type, 0, size);
        }
      } else if (t === C_MAP) {
        const e = varintEnd(b, at, end, 5);
        if (e === -2) return avail;
        if (e === -1) return this.short(p, avail - p + 1, limit);
        const size = varint32At(b, at);
        if (size < 0 || size * 2 > limit) return avail;
        const n = e - at;
        if (size === 0) p += n;
        else {
          if (p + n + 1 > avail) return this.short(p, n + 1, limit);
          const kv = b[at + n];
          p += n + 1;
          this.open(MAP, kv >> 4, kv & 0x0f, size * 2);
        }
      } else {
        return avail; // unknown type: the reader says so
      }
      this.pending = NONE;
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
    const avail = end - start;
    let p = this.#at, depth = this.#depth, inString = this.#inString, escaped = this.#escaped;
    for (; p < avail; p++) {
      const c = b[start + p];
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 0x5c) escaped = true; // \
        else if (c === 0x22) inString = false;
      } else if (c === 0x22) inString = true;
      else if (c === 0x5b || c === 0x7b) depth++; // [ {
      else if (c === 0x5d || c === 0x7d) { // ] }
        if (--depth <= 0) return p + 1;
      } else if (depth === 0) return avail; // not a message: the reader says so
    }
    this.#at = p;
    this.#depth = depth;
    this.#inString = inString;
    this.#escaped = escaped;
    this.wanted = p + 1;
    return p + 1 > limit ? TOO_LARGE : NEED_MORE;
  }
}
