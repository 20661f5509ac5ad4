/**
 * `TCompactProtocol`: varints, zigzag integers, field-id deltas, bools folded into field
 * headers. One class for both sides: the generated client writes with it into a
 * `WriteBuffer` and reads replies with it from a `ReadBuffer`.
 *
 * @module
 */
import { ProtocolError } from "../errors.ts";
import type { MessageHeader } from "../_thrift.ts";
import { checkSize, skipValue, T } from "./_values.ts";
import { ProtocolBase } from "./_base.ts";

const PROTOCOL_ID = 0x82;
const VERSION = 1;

// Compact type codes.
const C_TRUE = 1;
const C_FALSE = 2;

/** Thrift type -> compact type. */
const toCompact: number[] = [];
toCompact[T.STOP] = 0;
toCompact[T.BOOL] = C_TRUE;
toCompact[T.BYTE] = 3;
toCompact[T.I16] = 4;
toCompact[T.I32] = 5;
toCompact[T.I64] = 6;
toCompact[T.DOUBLE] = 7;
toCompact[T.STRING] = 8;
toCompact[T.LIST] = 9;
toCompact[T.SET] = 10;
toCompact[T.MAP] = 11;
toCompact[T.STRUCT] = 12;
toCompact[T.UUID] = 13;

/** Compact type -> Thrift type. */
const fromCompact = [
  T.STOP,
  T.BOOL,
  T.BOOL,
  T.BYTE,
  T.I16,
  T.I32,
  T.I64,
  T.DOUBLE,
  T.STRING,
  T.LIST,
  T.SET,
  T.MAP,
  T.STRUCT,
  T.UUID,
];

function ttype(compact: number): number {
  const type = fromCompact[compact];
  if (type === undefined) throw new ProtocolError(`Invalid reply: unknown compact type ${compact}`);
  return type;
}

function ctype(type: number): number {
  const compact = toCompact[type];
  if (compact === undefined) throw new TypeError(`Cannot write Thrift type ${type}: unknown type`);
  return compact;
}

const NO_FIELD = { fname: null, ftype: T.STOP, fid: 0 };
const NO_STRUCT = { fname: "" };

/** The compact protocol. */
export class TCompactProtocol extends ProtocolBase {
  #lastId = 0;
  #lastIds: number[] = [];
  #boolField = -1; // a bool field's id, until writeBool writes its header
  #boolValue: boolean | undefined; // a bool read from its field header

  // ---- write ----

  #u8(v: number): void {
    const o = this.out;
    o.ensure(1);
    o.bytes[o.pos++] = v;
  }

  /** An unsigned 32-bit varint. */
  #varint(v: number): void {
    const o = this.out;
    o.ensure(5);
    const b = o.bytes;
    v >>>= 0;
    while (v > 0x7f) {
      b[o.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[o.pos++] = v;
  }

  #zigzag32(v: number): void {
    this.#varint((v << 1) ^ (v >> 31));
  }

  #text(text: string): void {
    const o = this.out;
    const max = text.length * 3;
    if (max < 0x80) { // the length fits in a one-byte varint
      o.ensure(1 + max);
      const n = o.utf8(text, o.pos + 1);
      o.bytes[o.pos] = n;
      o.pos += 1 + n;
      return;
    }
    o.ensure(5 + max);
    const n = o.utf8(text, o.pos + 5);
    const at = o.pos + 5;
    this.#varint(n);
    o.bytes.copyWithin(o.pos, at, at + n);
    o.pos += n;
  }

  #fieldHeader(type: number, id: number): void {
    const delta = id - this.#lastId;
    if (delta > 0 && delta <= 15) this.#u8((delta << 4) | type);
    else {
      this.#u8(type);
      this.#zigzag32(id);
    }
    this.#lastId = id;
  }

  /** Writes a message header. */
  writeMessageBegin(name: string, type: number, seqid: number): void {
    this.ctx.begin(name);
    this.#lastId = 0;
    this.#lastIds.length = 0;
    this.#boolField = -1;
    this.#u8(PROTOCOL_ID);
    this.#u8((VERSION & 0x1f) | ((type << 5) & 0xe0));
    this.#varint(seqid);
    this.#text(name);
  }

  /** Nothing to write. */
  writeMessageEnd(): void {}

  /** Starts a struct: field ids restart from 0. */
  writeStructBegin(_name?: string): void {
    this.ctx.push();
    this.#lastIds.push(this.#lastId);
    this.#lastId = 0;
  }

  /** Ends a struct. */
  writeStructEnd(): void {
    this.ctx.pop();
    this.#lastId = this.#lastIds.pop() ?? 0;
  }

  /** Writes a field header; a bool field's header waits for its value. */
  writeFieldBegin(name: string, type: number, id: number): void {
    this.ctx.field = name;
    this.ctx.int(id, 16, "field id");
    if (type === T.BOOL) this.#boolField = id;
    else this.#fieldHeader(ctype(type), id);
  }

  /** Nothing to write. */
  writeFieldEnd(): void {}

  /** Ends a struct's fields. */
  writeFieldStop(): void {
    this.#u8(0);
  }

  /** Writes a map header. */
  writeMapBegin(ktype: number, vtype: number, size: number): void {
    this.ctx.int(size, 32, "map");
    if (size < 0) throw this.ctx.range("map", size, "a size >= 0");
    if (size === 0) return this.#u8(0);
    this.#varint(size);
    this.#u8((ctype(ktype) << 4) | ctype(vtype));
  }

  /** Nothing to write. */
  writeMapEnd(): void {}

  /** Writes a list header. */
  writeListBegin(etype: number, size: number): void {
    this.ctx.int(size, 32, "list");
    if (size < 0) throw this.ctx.range("list", size, "a size >= 0");
    if (size <= 14) return this.#u8((size << 4) | ctype(etype));
    this.#u8(0xf0 | ctype(etype));
    this.#varint(size);
  }

  /** Nothing to write. */
  writeListEnd(): void {}

  /** Writes a set header. */
  writeSetBegin(etype: number, size: number): void {
    this.writeListBegin(etype, size);
  }

  /** Nothing to write. */
  writeSetEnd(): void {}

  /** Writes a bool: in its field header, or as 1 (true) / 2 (false) in a container. */
  writeBool(value: unknown): void {
    const compact = this.ctx.bool(value) ? C_TRUE : C_FALSE;
    if (this.#boolField >= 0) {
      this.#fieldHeader(compact, this.#boolField);
      this.#boolField = -1;
    } else this.#u8(compact);
  }

  /** Writes a byte (-128..127). */
  writeByte(value: unknown): void {
    this.#u8(this.ctx.int(value, 8, "byte") & 0xff);
  }

  /** Writes an i16 as a zigzag varint. */
  writeI16(value: unknown): void {
    this.#zigzag32(this.ctx.int(value, 16, "i16"));
  }

  /** Writes an i32 as a zigzag varint. */
  writeI32(value: unknown): void {
    this.#zigzag32(this.ctx.int(value, 32, "i32"));
  }

  /** Writes an i64 (an `Int64`, a safe integer or a bigint) as a zigzag varint. */
  writeI64(value: unknown): void {
    const parts = this.i64;
    this.ctx.i64(value, parts);
    const hi = parts[0]!, lo = parts[1]!;
    const sign = hi >> 31;
    let zhi = ((hi << 1) | (lo >>> 31)) ^ sign;
    let zlo = (lo << 1) ^ sign;
    const o = this.out;
    o.ensure(10);
    const b = o.bytes;
    zhi >>>= 0;
    zlo >>>= 0;
    while (zhi !== 0 || zlo > 0x7f) {
      b[o.pos++] = (zlo & 0x7f) | 0x80;
      zlo = ((zlo >>> 7) | (zhi << 25)) >>> 0;
      zhi >>>= 7;
    }
    b[o.pos++] = zlo;
  }

  /** Writes a double, little-endian (not ±Infinity). */
  writeDouble(value: unknown): void {
    const v = this.ctx.double(value);
    const o = this.out;
    o.ensure(8);
    o.view.setFloat64(o.pos, v, true);
    o.pos += 8;
  }

  /** Writes a string as UTF-8. */
  writeString(value: unknown): void {
    this.#text(this.ctx.string(value));
  }

  /** Writes a binary: a `Uint8Array` (or `Buffer`), or a string as UTF-8. */
  writeBinary(value: unknown): void {
    const v = this.ctx.binary(value);
    if (typeof v === "string") return this.#text(v);
    this.#varint(v.length);
    this.out.put(v);
  }

  // ---- read ----

  #readVarint(): number {
    const r = this.in;
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = r.readUByte();
      v |= (b & 0x7f) << shift;
      if (b < 0x80) return v;
    }
    throw new ProtocolError("Invalid reply: varint longer than 5 bytes");
  }

  #readZigzag(): number {
    const v = this.#readVarint();
    return (v >>> 1) ^ -(v & 1);
  }

  /**
   * Reads a compact message header.
   *
   * @throws {ProtocolError} when the protocol id or version is wrong.
   */
  readMessageBegin(): MessageHeader {
    const r = this.in;
    const id = r.readUByte();
    if (id !== PROTOCOL_ID) {
      throw new ProtocolError(`Invalid reply: compact protocol id 0x${id.toString(16)}`);
    }
    const vt = r.readUByte();
    if ((vt & 0x1f) !== VERSION) {
      throw new ProtocolError(`Invalid reply: compact protocol version ${vt & 0x1f}`);
    }
    const rseqid = this.#readVarint();
    const fname = this.readString();
    this.#lastId = 0;
    this.#lastIds.length = 0;
    return { fname, mtype: (vt >> 5) & 0x07, rseqid };
  }

  /** Nothing to read. */
  readMessageEnd(): void {}

  /** Starts a struct. */
  readStructBegin(): { fname: string } {
    this.#lastIds.push(this.#lastId);
    this.#lastId = 0;
    return NO_STRUCT;
  }

  /** Ends a struct. */
  readStructEnd(): void {
    this.#lastId = this.#lastIds.pop() ?? 0;
  }

  /** Reads a field header (a bool field carries its value). */
  readFieldBegin(): { fname: null; ftype: number; fid: number } {
    const b = this.in.readUByte();
    const type = b & 0x0f;
    if (type === 0) return NO_FIELD;
    const delta = b >> 4;
    const fid = delta === 0 ? (this.#readZigzag() << 16 >> 16) : this.#lastId + delta;
    this.#lastId = fid;
    if (type === C_TRUE || type === C_FALSE) this.#boolValue = type === C_TRUE;
    return { fname: null, ftype: ttype(type), fid };
  }

  /** Nothing to read. */
  readFieldEnd(): void {}

  /** Reads a map header. */
  readMapBegin(): { ktype: number; vtype: number; size: number } {
    const size = checkSize(this.#readVarint(), 2, this.in.maxMessageSize, "map");
    const kv = size === 0 ? 0 : this.in.readUByte();
    return { ktype: ttype(kv >> 4), vtype: ttype(kv & 0x0f), size };
  }

  /** Nothing to read. */
  readMapEnd(): void {}

  /** Reads a list header. */
  readListBegin(): { etype: number; size: number } {
    const b = this.in.readUByte();
    let size = b >> 4;
    if (size === 15) size = this.#readVarint();
    checkSize(size, 1, this.in.maxMessageSize, "list");
    return { etype: ttype(b & 0x0f), size };
  }

  /** Nothing to read. */
  readListEnd(): void {}

  /** Reads a set header. */
  readSetBegin(): { etype: number; size: number } {
    return this.readListBegin();
  }

  /** Nothing to read. */
  readSetEnd(): void {}

  /** Reads a bool: from its field header, or a byte in a container. */
  readBool(): boolean {
    const v = this.#boolValue;
    if (v !== undefined) {
      this.#boolValue = undefined;
      return v;
    }
    return this.in.readUByte() === C_TRUE;
  }

  /** Reads a byte. */
  readByte(): number {
    return this.in.readByte();
  }

  /** Reads an i16. */
  readI16(): number {
    return this.#readZigzag() << 16 >> 16;
  }

  /** Reads an i32. */
  readI32(): number {
    return this.#readZigzag() | 0;
  }

  /** Reads an i64 (a node-int64 `Int64` unless made with another `int64`). */
  readI64(): unknown {
    const r = this.in;
    let lo = 0, hi = 0;
    for (let shift = 0;; shift += 7) {
      if (shift > 63) throw new ProtocolError("Invalid reply: varint longer than 10 bytes");
      const b = r.readUByte();
      const bits = b & 0x7f;
      if (shift < 28) lo |= bits << shift;
      else if (shift === 28) {
        lo |= bits << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (shift - 32);
      if (b < 0x80) break;
    }
    const neg = -(lo & 1);
    const rlo = ((lo >>> 1) | (hi << 31)) ^ neg;
    const rhi = (hi >>> 1) ^ neg;
    return this.int64(rhi, rlo);
  }

  /** Reads a little-endian double. */
  readDouble(): number {
    return this.in.readDoubleLE();
  }

  /** Reads a binary as a fresh `Buffer`. */
  readBinary(): unknown {
    const size = checkSize(this.#readVarint(), 1, this.in.maxMessageSize, "binary");
    return this.in.read(size);
  }

  /** Reads a UTF-8 string. */
  readString(): string {
    const size = checkSize(this.#readVarint(), 1, this.in.maxMessageSize, "string");
    return this.in.readString(size);
  }

  /** Reads a UUID's 16 bytes as a fresh `Buffer`. */
  readUuid(): unknown {
    return this.in.read(16);
  }

  /** Skips a value of wire type `type`. */
  skip(type: number): void {
    skipValue(this, type);
  }
}
