/**
 * `TBinaryProtocol`, strict: versioned message headers (`0x80010000 | type`) on write and on
 * read. One class for both sides: the generated client writes with it into an
 * `WriteBuffer` and reads replies with it from a `ReadBuffer`.
 *
 * @module
 */
import { ProtocolError } from "../errors.ts";
import type { MessageHeader } from "../_thrift.ts";
import { checkSize, skipValue, T } from "./_values.ts";
import { ProtocolBase } from "./_base.ts";

const VERSION_1 = 0x80010000 | 0;
const NO_FIELD = { fname: null, ftype: T.STOP, fid: 0 };
const NO_STRUCT = { fname: "" };

/** The binary protocol, with strict read and write. */
export class TBinaryProtocol extends ProtocolBase {
  // ---- write ----

  #u8(v: number): void {
    const o = this.out;
    o.ensure(1);
    o.bytes[o.pos++] = v;
  }

  #i16(v: number): void {
    const o = this.out;
    o.ensure(2);
    o.view.setInt16(o.pos, v);
    o.pos += 2;
  }

  #i32(v: number): void {
    const o = this.out;
    o.ensure(4);
    o.view.setInt32(o.pos, v);
    o.pos += 4;
  }

  #text(text: string): void {
    const o = this.out;
    o.ensure(4 + text.length * 3);
    const n = o.utf8(text, o.pos + 4);
    o.view.setInt32(o.pos, n);
    o.pos += 4 + n;
  }

  #raw(bytes: Uint8Array): void {
    this.#i32(bytes.length);
    this.out.put(bytes);
  }

  /** Writes a versioned message header. */
  writeMessageBegin(name: string, type: number, seqid: number): void {
    this.ctx.begin(name);
    this.#i32(VERSION_1 | type);
    this.#text(name);
    this.#i32(seqid);
  }

  /** Nothing to write. */
  writeMessageEnd(): void {}

  /** Nothing to write; names the fields that follow in errors. */
  writeStructBegin(_name?: string): void {
    this.ctx.push();
  }

  /** Nothing to write. */
  writeStructEnd(): void {
    this.ctx.pop();
  }

  /** Writes a field header. */
  writeFieldBegin(name: string, type: number, id: number): void {
    this.ctx.field = name;
    this.#u8(type);
    this.#i16(id);
  }

  /** Nothing to write. */
  writeFieldEnd(): void {}

  /** Ends a struct's fields. */
  writeFieldStop(): void {
    this.#u8(T.STOP);
  }

  /** Writes a map header. */
  writeMapBegin(ktype: number, vtype: number, size: number): void {
    this.#u8(ktype);
    this.#u8(vtype);
    this.#i32(this.ctx.int(size, 32, "map"));
  }

  /** Nothing to write. */
  writeMapEnd(): void {}

  /** Writes a list header. */
  writeListBegin(etype: number, size: number): void {
    this.#u8(etype);
    this.#i32(this.ctx.int(size, 32, "list"));
  }

  /** Nothing to write. */
  writeListEnd(): void {}

  /** Writes a set header. */
  writeSetBegin(etype: number, size: number): void {
    this.#u8(etype);
    this.#i32(this.ctx.int(size, 32, "set"));
  }

  /** Nothing to write. */
  writeSetEnd(): void {}

  /** Writes a bool as one byte. */
  writeBool(value: unknown): void {
    this.#u8(this.ctx.bool(value) ? 1 : 0);
  }

  /** Writes a byte (-128..127). */
  writeByte(value: unknown): void {
    this.#u8(this.ctx.int(value, 8, "byte") & 0xff);
  }

  /** Writes an i16. */
  writeI16(value: unknown): void {
    this.#i16(this.ctx.int(value, 16, "i16"));
  }

  /** Writes an i32. */
  writeI32(value: unknown): void {
    this.#i32(this.ctx.int(value, 32, "i32"));
  }

  /** Writes an i64: an `Int64`, a safe integer or a bigint. */
  writeI64(value: unknown): void {
    const parts = this.i64;
    this.ctx.i64(value, parts);
    this.#i32(parts[0]!);
    this.#i32(parts[1]!);
  }

  /** Writes a double (not ±Infinity). */
  writeDouble(value: unknown): void {
    const v = this.ctx.double(value);
    const o = this.out;
    o.ensure(8);
    o.view.setFloat64(o.pos, v);
    o.pos += 8;
  }

  /** Writes a string as UTF-8. */
  writeString(value: unknown): void {
    this.#text(this.ctx.string(value));
  }

  /** Writes a binary: a `Uint8Array` (or `Buffer`), or a string as UTF-8. */
  writeBinary(value: unknown): void {
    const v = this.ctx.binary(value);
    if (typeof v === "string") this.#text(v);
    else this.#raw(v);
  }

  // ---- read ----

  /**
   * Reads a versioned message header.
   *
   * @throws {ProtocolError} when the header has no version or another version.
   */
  readMessageBegin(): MessageHeader {
    const head = this.in.readI32();
    if (head >= 0) {
      throw new ProtocolError("Invalid reply: no binary protocol version header");
    }
    if ((head & 0xffff0000) !== VERSION_1) {
      throw new ProtocolError(
        `Invalid reply: binary protocol version 0x${(head >>> 0).toString(16)}`,
      );
    }
    const fname = this.readString();
    const rseqid = this.in.readI32();
    return { fname, mtype: head & 0xff, rseqid };
  }

  /** Nothing to read. */
  readMessageEnd(): void {}

  /** Nothing to read. */
  readStructBegin(): { fname: string } {
    return NO_STRUCT;
  }

  /** Nothing to read. */
  readStructEnd(): void {}

  /** Reads a field header. */
  readFieldBegin(): { fname: null; ftype: number; fid: number } {
    const ftype = this.in.readUByte();
    if (ftype === T.STOP) return NO_FIELD;
    return { fname: null, ftype, fid: this.in.readI16() };
  }

  /** Nothing to read. */
  readFieldEnd(): void {}

  /** Reads a map header. */
  readMapBegin(): { ktype: number; vtype: number; size: number } {
    const ktype = this.in.readUByte();
    const vtype = this.in.readUByte();
    const size = checkSize(this.in.readI32(), 2, this.in.maxMessageSize, "map");
    return { ktype, vtype, size };
  }

  /** Nothing to read. */
  readMapEnd(): void {}

  /** Reads a list header. */
  readListBegin(): { etype: number; size: number } {
    const etype = this.in.readUByte();
    const size = checkSize(this.in.readI32(), 1, this.in.maxMessageSize, "list");
    return { etype, size };
  }

  /** Nothing to read. */
  readListEnd(): void {}

  /** Reads a set header. */
  readSetBegin(): { etype: number; size: number } {
    const etype = this.in.readUByte();
    const size = checkSize(this.in.readI32(), 1, this.in.maxMessageSize, "set");
    return { etype, size };
  }

  /** Nothing to read. */
  readSetEnd(): void {}

  /** Reads a bool. */
  readBool(): boolean {
    return this.in.readByte() !== 0;
  }

  /** Reads a byte. */
  readByte(): number {
    return this.in.readByte();
  }

  /** Reads an i16. */
  readI16(): number {
    return this.in.readI16();
  }

  /** Reads an i32. */
  readI32(): number {
    return this.in.readI32();
  }

  /** Reads an i64 (a node-int64 `Int64` unless made with another `int64`). */
  readI64(): unknown {
    const hi = this.in.readI32();
    return this.int64(hi, this.in.readI32());
  }

  /** Reads a double. */
  readDouble(): number {
    return this.in.readDouble();
  }

  /** Reads a binary as a fresh `Buffer`. */
  readBinary(): unknown {
    const size = checkSize(this.in.readI32(), 1, this.in.maxMessageSize, "binary");
    return this.in.read(size);
  }

  /** Reads a UTF-8 string. */
  readString(): string {
    const size = checkSize(this.in.readI32(), 1, this.in.maxMessageSize, "string");
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
