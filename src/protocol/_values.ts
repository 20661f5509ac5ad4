/**
 * Shared by the binary, compact and JSON protocols: value checks on write, size checks on read,
 * `i64` conversions, and skipping.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { Int64 } from "../_thrift.ts";
import { ProtocolError } from "../errors.ts";

/** Thrift wire types (`Thrift.Type`). */
export const T = {
  STOP: 0,
  VOID: 1,
  BOOL: 2,
  BYTE: 3,
  DOUBLE: 4,
  I16: 6,
  I32: 8,
  I64: 10,
  STRING: 11,
  STRUCT: 12,
  MAP: 13,
  SET: 14,
  LIST: 15,
  UUID: 16,
} as const;

/** Where a write happens, for error messages. */
export class WriteContext {
  method = "";
  field = "";
  #saved: string[] = [];

  /** Enters a struct: its fields name the context until it ends. */
  push(): void {
    this.#saved.push(this.field);
  }

  /** Leaves a struct. */
  pop(): void {
    this.field = this.#saved.pop() ?? "";
  }

  /** Starts a message. */
  begin(name: string): void {
    this.method = name.slice(name.indexOf(":") + 1);
    this.field = "";
    this.#saved.length = 0;
  }

  #where(): string {
    const field = this.field ? `field "${this.field}"` : "value";
    return this.method ? `${field} of "${this.method}"` : field;
  }

  /** A value of the wrong JavaScript type. */
  type(kind: string, value: unknown, expected: string): TypeError {
    return new TypeError(
      `Cannot write ${this.#where()} as ${kind}: expected ${expected}, got ${describe(value)}`,
    );
  }

  /** A value out of its type's range. */
  range(kind: string, value: unknown, expected: string): RangeError {
    return new RangeError(
      `Cannot write ${this.#where()} as ${kind}: expected ${expected}, got ${describe(value)}`,
    );
  }

  /** Checks an integer of `bits` bits (8, 16, 32); a decimal string too (see `numberKey`). */
  int(value: unknown, bits: number, kind: string): number {
    const max = 2 ** (bits - 1);
    value = numberKey(value);
    if (typeof value !== "number") {
      throw this.type(kind, value, `an integer in ${-max}..${max - 1}`);
    }
    if (!Number.isInteger(value) || value < -max || value >= max) {
      throw this.range(kind, value, `an integer in ${-max}..${max - 1}`);
    }
    return value;
  }

  /** Checks a finite double. */
  double(value: unknown): number {
    value = numberKey(value);
    if (typeof value !== "number") throw this.type("double", value, "a finite number or NaN");
    if (value === Infinity || value === -Infinity) {
      throw this.range("double", value, "a finite number or NaN");
    }
    return value;
  }

  /** Checks a string. */
  string(value: unknown): string {
    if (typeof value !== "string") throw this.type("string", value, "a string");
    return value;
  }

  /** Checks a binary: any `Uint8Array` (a `Buffer` is one), or a string sent as UTF-8. */
  binary(value: unknown): Uint8Array | string {
    if (typeof value === "string" || value instanceof Uint8Array) return value;
    throw this.type("binary", value, "a Uint8Array, Buffer or string");
  }

  /** Checks a bool. */
  bool(value: unknown): boolean {
    if (typeof value !== "boolean") throw this.type("bool", value, "a boolean");
    return value;
  }

  /**
   * Splits an `i64` (a node-int64 `Int64` from any copy of the package, a safe integer or a
   * bigint) into its high and low 32 bits, written into `out[0]`, `out[1]` (signed high,
   * unsigned low).
   */
  i64(value: unknown, out: Int32Array): void {
    value = bigintKey(value);
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value)) {
        throw this.range("i64", value, "a safe integer, a bigint or an Int64");
      }
      return splitI64(value, out);
    }
    if (typeof value === "bigint") {
      if (BigInt.asIntN(64, value) !== value) {
        throw this.range("i64", value, "a bigint in -2^63..2^63-1");
      }
      return splitI64(value, out);
    }
    const shaped = value as { buffer?: unknown; offset?: unknown } | null | undefined;
    const buffer = shaped?.buffer;
    const offset = shaped?.offset ?? 0;
    if (
      buffer instanceof Uint8Array && typeof offset === "number" &&
      buffer.length >= offset + 8
    ) {
      out[0] = (buffer[offset]! << 24) | (buffer[offset + 1]! << 16) |
        (buffer[offset + 2]! << 8) | buffer[offset + 3]!;
      out[1] = (buffer[offset + 4]! << 24) | (buffer[offset + 5]! << 16) |
        (buffer[offset + 6]! << 8) | buffer[offset + 7]!;
      return;
    }
    throw this.type("i64", value, "a safe integer, a bigint or an Int64");
  }
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.slice(0, 40));
  if (typeof value === "bigint") return `${value}n`;
  if (value === null || typeof value !== "object") return String(value);
  return value.constructor?.name ?? "object";
}

/**
 * Splits a safe integer, or a bigint in -2^63..2^63-1, into its high and low 32 bits, written
 * into `out[0]`, `out[1]`.
 */
export function splitI64(value: number | bigint, out: Int32Array): void {
  if (typeof value === "number") {
    const hi = Math.floor(value / 4294967296);
    out[0] = hi;
    out[1] = value - hi * 4294967296;
  } else {
    out[0] = Number(value >> 32n);
    out[1] = Number(value & 0xffffffffn);
  }
}

/** Builds the value of an i64 read from its high (signed) and low 32 bits. */
export type Int64Maker = (hi: number, lo: number) => unknown;

/** Builds an i64 as a `bigint` from its high (signed) and low 32 bits. */
export function makeBigint(hi: number, lo: number): bigint {
  return (BigInt(hi | 0) << 32n) | BigInt(lo >>> 0);
}

type Int64Instance = { buffer: Uint8Array; offset: number };
const Int64Base = Int64 as unknown as new (buffer: Uint8Array) => Int64Instance;

/**
 * node-int64's `Int64` whose text is its exact value: node-int64 prints `"Infinity"` past
 * 2^53, so a `map<i64, V>` key (the generated code stores `map[key]`) would lose its value
 * and two such keys would collide. Everything else is node-int64's, `valueOf` included.
 */
class ExactInt64 extends Int64Base {
  /** The exact value in `radix` (10 by default), e.g. `"-9223372036854775808"`. */
  override toString(radix = 10): string {
    const { buffer, offset } = this;
    const view = new DataView(buffer.buffer, buffer.byteOffset + offset, 8);
    return view.getBigInt64(0).toString(radix);
  }
}

/** Builds a node-int64 `Int64` (that prints its exact value) from its high and low 32 bits. */
export function makeInt64(hi: number, lo: number): unknown {
  const buffer = Buffer.allocUnsafe(8);
  buffer.writeInt32BE(hi | 0, 0);
  buffer.writeInt32BE(lo | 0, 4);
  return new ExactInt64(buffer);
}

/** Refuses a negative size, or one whose smallest encoding exceeds `limit` bytes. */
export function checkSize(size: number, min: number, limit: number, what: string): number {
  if (size < 0) throw new ProtocolError(`Invalid reply: ${what} size ${size} is negative`);
  if (size * min > limit) {
    throw new ProtocolError(
      `Invalid reply: ${what} size ${size} cannot fit in the ${limit} byte message limit`,
    );
  }
  return size;
}

/** The read calls `skip()` needs. */
export interface Skippable {
  readStructBegin(): unknown;
  readStructEnd(): void;
  readFieldBegin(): { ftype: number };
  readFieldEnd(): void;
  readMapBegin(): { ktype: number; vtype: number; size: number };
  readMapEnd(): void;
  readListBegin(): { etype: number; size: number };
  readListEnd(): void;
  readSetBegin(): { etype: number; size: number };
  readSetEnd(): void;
  readBool(): boolean;
  readByte(): number;
  readI16(): number;
  readI32(): number;
  readI64(): unknown;
  readDouble(): number;
  readString(): string;
  readUuid?(): unknown;
}

/** Skips one value of wire type `type`. */
export function skipValue(p: Skippable, type: number, depth = 0): void {
  if (depth > 64) throw new ProtocolError("Invalid reply: nesting deeper than 64");
  switch (type) {
    case T.BOOL:
      return void p.readBool();
    case T.BYTE:
      return void p.readByte();
    case T.I16:
      return void p.readI16();
    case T.I32:
      return void p.readI32();
    case T.I64:
      return void p.readI64();
    case T.DOUBLE:
      return void p.readDouble();
    case T.STRING: // a binary too: JSON's readBinary would refuse a string's text
      return void p.readString();
    case T.UUID:
      return void p.readUuid!();
    case T.STRUCT:
      p.readStructBegin();
      for (;;) {
        const { ftype } = p.readFieldBegin();
        if (ftype === T.STOP) break;
        skipValue(p, ftype, depth + 1);
        p.readFieldEnd();
      }
      return p.readStructEnd();
    case T.MAP: {
      const { ktype, vtype, size } = p.readMapBegin();
      for (let i = 0; i < size; i++) {
        skipValue(p, ktype, depth + 1);
        skipValue(p, vtype, depth + 1);
      }
      return p.readMapEnd();
    }
    case T.SET: {
      const { etype, size } = p.readSetBegin();
      for (let i = 0; i < size; i++) skipValue(p, etype, depth + 1);
      return p.readSetEnd();
    }
    case T.LIST: {
      const { etype, size } = p.readListBegin();
      for (let i = 0; i < size; i++) skipValue(p, etype, depth + 1);
      return p.readListEnd();
    }
    default:
      throw new ProtocolError(`Invalid reply: unknown field type ${type}`);
  }
}

/**
 * The generated code writes map keys from `for...in`, so a `map<i32, V>` key arrives as the
 * string `"1"`: a string that is exactly how its number prints stands for that number.
 * Anything else (`"abc"`, `" 1"`, `"01"`, `"0x1"`) stays a string and is refused.
 */
function numberKey(value: unknown): unknown {
  return typeof value === "string" && value !== "" && String(Number(value)) === value
    ? Number(value)
    : value;
}

/** `numberKey` for `i64` keys: a decimal integer string of any size, as a bigint. */
function bigintKey(value: unknown): unknown {
  return typeof value === "string" && /^-?(0|[1-9]\d*)$/.test(value) ? BigInt(value) : value;
}
