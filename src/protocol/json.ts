/**
 * `TJSONProtocol`, Apache Thrift's JSON format: a message is `[1,"name",type,seqid,{...}]`,
 * a field `"id":{"type":value}`, a map `["k","v",size,{key:value,...}]`, a list or set
 * `["e",size,...]`, a bool 1 or 0, a binary base64. One class for both sides: the generated
 * client writes with it into a {@link WriteBuffer} and reads replies with it from a
 * `ReadBuffer`.
 *
 * @module
 */
import { ProtocolError } from "../errors.ts";
import type { MessageHeader } from "../_thrift.ts";
import { JSONReader, JSONWriter } from "./_json_syntax.ts";
import { decodeBase64, decodeUuid } from "./_json_text.ts";
import { checkSize, type Int64Maker, makeBigint, skipValue, splitI64, T } from "./_values.ts";
import { ProtocolBase } from "./_base.ts";
import type { WriteBuffer } from "../transport/write_buffer.ts";

const VERSION = 1;
const NO_FIELD = { fname: null, ftype: T.STOP, fid: 0 };
const NO_STRUCT = { fname: "" };
const encoder = new TextEncoder();

/** Type names on the wire, by Thrift type. */
const NAMES: string[] = [];
NAMES[T.BOOL] = "tf";
NAMES[T.BYTE] = "i8";
NAMES[T.I16] = "i16";
NAMES[T.I32] = "i32";
NAMES[T.I64] = "i64";
NAMES[T.DOUBLE] = "dbl";
NAMES[T.STRING] = "str";
NAMES[T.STRUCT] = "rec";
NAMES[T.MAP] = "map";
NAMES[T.SET] = "set";
NAMES[T.LIST] = "lst";
NAMES[T.UUID] = "uid";

/** Thrift types by wire name. */
const TYPES = new Map<string, number>();
NAMES.forEach((name, type) => TYPES.set(name, type));

function typeName(type: number): string {
  const name = NAMES[type];
  if (name === undefined) throw new TypeError(`Cannot write Thrift type ${type}: unknown type`);
  return name;
}

/** The JSON protocol. */
export class TJSONProtocol extends ProtocolBase {
  readonly #w: JSONWriter;
  readonly #r: JSONReader;

  /**
   * @param transport A `WriteBuffer` (an output transport) to write, a `ReadBuffer` to read.
   * @param int64 What an i64 read becomes (node-int64's `Int64` by default).
   */
  constructor(transport: unknown, int64?: Int64Maker) {
    super(transport, int64);
    this.#w = new JSONWriter(transport as WriteBuffer);
    this.#r = new JSONReader(this.in);
  }

  // ---- write ----

  #size(size: unknown, kind: string): number {
    const n = this.ctx.int(size, 32, kind);
    if (n < 0) throw this.ctx.range(kind, size, "a size >= 0");
    return n;
  }

  /** Writes a message header: `[1,"name",type,seqid,`, then comes the body. */
  writeMessageBegin(name: string, type: number, seqid: number): void {
    this.ctx.begin(name);
    const w = this.#w;
    w.reset();
    w.beginArray();
    w.number(String(VERSION));
    w.string(name);
    w.number(String(type));
    w.number(String(seqid));
  }

  /** Closes the message. */
  writeMessageEnd(): void {
    this.#w.endArray();
  }

  /** Opens a struct; names the fields that follow in errors. */
  writeStructBegin(_name?: string): void {
    this.ctx.push();
    this.#w.beginObject();
  }

  /** Closes a struct. */
  writeStructEnd(): void {
    this.ctx.pop();
    this.#w.endObject();
  }

  /** Writes a field header: `"id":{"type":`. */
  writeFieldBegin(name: string, type: number, id: number): void {
    this.ctx.field = name;
    const wire = typeName(type);
    this.#w.number(String(this.ctx.int(id, 16, "field id")));
    this.#w.beginObject();
    this.#w.string(wire);
  }

  /** Closes a field. */
  writeFieldEnd(): void {
    this.#w.endObject();
  }

  /** Nothing to write: the struct's closing brace ends its fields. */
  writeFieldStop(): void {}

  /** Writes a map header: `["k","v",size,{`. */
  writeMapBegin(ktype: number, vtype: number, size: number): void {
    const k = typeName(ktype), v = typeName(vtype), n = this.#size(size, "map");
    const w = this.#w;
    w.beginArray();
    w.string(k);
    w.string(v);
    w.number(String(n));
    w.beginObject();
  }

  /** Closes a map. */
  writeMapEnd(): void {
    this.#w.endObject();
    this.#w.endArray();
  }

  /** Writes a list header: `["e",size`. */
  writeListBegin(etype: number, size: number): void {
    const e = typeName(etype), n = this.#size(size, "list");
    this.#w.beginArray();
    this.#w.string(e);
    this.#w.number(String(n));
  }

  /** Closes a list. */
  writeListEnd(): void {
    this.#w.endArray();
  }

  /** Writes a set header: `["e",size`. */
  writeSetBegin(etype: number, size: number): void {
    const e = typeName(etype), n = this.#size(size, "set");
    this.#w.beginArray();
    this.#w.string(e);
    this.#w.number(String(n));
  }

  /** Closes a set. */
  writeSetEnd(): void {
    this.#w.endArray();
  }

  /** Writes a bool as 1 or 0. */
  writeBool(value: unknown): void {
    this.#w.number(this.ctx.bool(value) ? "1" : "0");
  }

  /** Writes a byte (-128..127). */
  writeByte(value: unknown): void {
    this.#w.number(String(this.ctx.int(value, 8, "byte")));
  }

  /** Writes an i16. */
  writeI16(value: unknown): void {
    this.#w.number(String(this.ctx.int(value, 16, "i16")));
  }

  /** Writes an i32. */
  writeI32(value: unknown): void {
    this.#w.number(String(this.ctx.int(value, 32, "i32")));
  }

  /** Writes an i64 (an `Int64`, a safe integer or a bigint) in decimal. */
  writeI64(value: unknown): void {
    const parts = this.i64;
    this.ctx.i64(value, parts);
    const hi = parts[0]!, lo = parts[1]! >>> 0;
    this.#w.number(
      hi >= -0x200000 && hi < 0x200000 // within ±2^53: exact as a number
        ? String(hi * 4294967296 + lo)
        : String(makeBigint(hi, lo)),
    );
  }

  /** Writes a double (not ±Infinity); NaN as the string `"NaN"`, -0 as `-0`. */
  writeDouble(value: unknown): void {
    const v = this.ctx.double(value);
    if (v !== v) this.#w.string("NaN");
    else this.#w.number(Object.is(v, -0) ? "-0" : String(v));
  }

  /** Writes a string. */
  writeString(value: unknown): void {
    this.#w.string(this.ctx.string(value));
  }

  /** Writes a binary as base64: a `Uint8Array` (or `Buffer`), or a string as UTF-8. */
  writeBinary(value: unknown): void {
    const v = this.ctx.binary(value);
    this.#w.base64(typeof v === "string" ? encoder.encode(v) : v);
  }

  // ---- read ----

  #type(): number {
    const name = this.#r.string();
    const type = TYPES.get(name);
    if (type === undefined) {
      throw new ProtocolError(`Invalid reply: JSON type ${JSON.stringify(name)} is unknown`);
    }
    return type;
  }

  /**
   * Reads a message header.
   *
   * @throws {ProtocolError} when the message is not JSON or has another version.
   */
  readMessageBegin(): MessageHeader {
    const r = this.#r;
    r.reset();
    r.beginArray();
    const version = r.integer();
    if (version !== VERSION) {
      throw new ProtocolError(`Invalid reply: JSON protocol version ${version}`);
    }
    const fname = r.string();
    const mtype = r.int(32, "message type");
    return { fname, mtype, rseqid: r.int(32, "sequence id") };
  }

  /** Reads the message's closing bracket. */
  readMessageEnd(): void {
    this.#r.endArray();
  }

  /** Reads a struct's opening brace. */
  readStructBegin(): { fname: string } {
    this.#r.beginObject();
    return NO_STRUCT;
  }

  /** Reads a struct's closing brace. */
  readStructEnd(): void {
    this.#r.endObject();
  }

  /** Reads a field header; the struct's closing brace is its stop. */
  readFieldBegin(): { fname: null; ftype: number; fid: number } {
    const r = this.#r;
    if (r.atObjectEnd()) return NO_FIELD;
    const fid = r.int(16, "field id");
    r.beginObject();
    return { fname: null, ftype: this.#type(), fid };
  }

  /** Reads a field's closing brace. */
  readFieldEnd(): void {
    this.#r.endObject();
  }

  /** Reads a map header. */
  readMapBegin(): { ktype: number; vtype: number; size: number } {
    this.#r.beginArray();
    const ktype = this.#type();
    const vtype = this.#type();
    // the smallest entry: `"":0,`
    const size = checkSize(this.#r.int(32, "map size"), 5, this.in.maxMessageSize, "map");
    this.#r.beginObject();
    return { ktype, vtype, size };
  }

  /** Reads a map's closing brace and bracket. */
  readMapEnd(): void {
    this.#r.endObject();
    this.#r.endArray();
  }

  /** Reads a list header. */
  readListBegin(): { etype: number; size: number } {
    this.#r.beginArray();
    const etype = this.#type();
    // the smallest element: `0,`
    const size = checkSize(this.#r.int(32, "list size"), 2, this.in.maxMessageSize, "list");
    return { etype, size };
  }

  /** Reads a list's closing bracket. */
  readListEnd(): void {
    this.#r.endArray();
  }

  /** Reads a set header. */
  readSetBegin(): { etype: number; size: number } {
    this.#r.beginArray();
    const etype = this.#type();
    const size = checkSize(this.#r.int(32, "set size"), 2, this.in.maxMessageSize, "set");
    return { etype, size };
  }

  /** Reads a set's closing bracket. */
  readSetEnd(): void {
    this.#r.endArray();
  }

  /** Reads a bool: an integer, true unless 0. */
  readBool(): boolean {
    return this.#r.int(32, "bool") !== 0;
  }

  /** Reads a byte. */
  readByte(): number {
    return this.#r.int(8, "i8");
  }

  /** Reads an i16. */
  readI16(): number {
    return this.#r.int(16, "i16");
  }

  /** Reads an i32. */
  readI32(): number {
    return this.#r.int(32, "i32");
  }

  /** Reads an i64 (a node-int64 `Int64` unless made with another `int64`). */
  readI64(): unknown {
    const v = this.#r.integer();
    if (typeof v === "bigint" && BigInt.asIntN(64, v) !== v) {
      throw new ProtocolError(`Invalid reply: i64 ${v} is out of range`);
    }
    const parts = this.i64;
    splitI64(v, parts);
    return this.int64(parts[0]!, parts[1]!);
  }

  /** Reads a double. */
  readDouble(): number {
    return this.#r.double();
  }

  /** Reads a binary (base64) as a fresh `Buffer`. */
  readBinary(): unknown {
    return decodeBase64(this.#r.string());
  }

  /** Reads a string. */
  readString(): string {
    return this.#r.string();
  }

  /** Reads a UUID's text as its 16 bytes, a fresh `Buffer`. */
  readUuid(): unknown {
    return decodeUuid(this.#r.string());
  }

  /** Skips a value of wire type `type`. */
  skip(type: number): void {
    skipValue(this, type);
  }
}
