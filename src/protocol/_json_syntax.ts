/**
 * JSON syntax as `TJSONProtocol` uses it, for writing and for reading: arrays and objects,
 * the separator each value takes from where it is (`,` in an array, `:` and `,` alternating
 * in an object), numbers quoted when they are object keys, no whitespace written.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { ProtocolError } from "../errors.ts";
import { InputBufferUnderrunError } from "../_thrift.ts";
import type { ReadBuffer } from "../transport/read_buffer.ts";
import { unescapeJSON, writeBase64, writeJSONString } from "./_json_text.ts";
import type { WriteBuffer } from "../transport/write_buffer.ts";

const QUOTE = 0x22;
const COMMA = 0x2c;
const MINUS = 0x2d;
const ZERO = 0x30;
const COLON = 0x3a;
const LBRACKET = 0x5b;
const BACKSLASH = 0x5c;
const RBRACKET = 0x5d;
const LBRACE = 0x7b;
const RBRACE = 0x7d;

// Where the next value goes.
const TOP = 0;
const LIST_FIRST = 1; // the first value of an array
const LIST = 2; // a later value of an array, after ","
const PAIR_FIRST = 3; // the first key of an object
const KEY = 4; // a later key, after ","
const VALUE = 5; // a value, after ":"
/** The separator before a value, by where it goes. */
const SEPARATOR = [0, 0, COMMA, 0, COMMA, COLON];
/** Where the value after it goes. */
const AFTER = [TOP, LIST, LIST, VALUE, VALUE, KEY];

/** The bytes a JSON number may hold. */
const NUMERIC = new Uint8Array(256);
for (const c of "+-.0123456789Ee") NUMERIC[c.charCodeAt(0)] = 1;
const NUMBER_TEXT = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
/** The doubles JSON has no number for, as strings. */
const SPECIAL = new Map([["NaN", NaN], ["Infinity", Infinity], ["-Infinity", -Infinity]]);

/** A byte in an error message. */
function show(c: number): string {
  if (c === QUOTE) return `'"'`;
  return c > 0x20 && c < 0x7f ? `"${String.fromCharCode(c)}"` : `byte 0x${c.toString(16)}`;
}

/** Writes JSON values into a `WriteBuffer`. */
export class JSONWriter {
  readonly #out: WriteBuffer;
  #state = TOP;
  #outer: number[] = []; // the states of the arrays and objects around this one

  /** @param out Where to write. */
  constructor(out: WriteBuffer) {
    this.#out = out;
  }

  /** Starts a new top-level value. */
  reset(): void {
    this.#state = TOP;
    this.#outer.length = 0;
  }

  #byte(c: number): void {
    const o = this.#out;
    o.ensure(1);
    o.bytes[o.pos++] = c;
  }

  /** Writes the separator before a value; true when the value is an object key. */
  #sep(): boolean {
    const s = this.#state;
    if (SEPARATOR[s]) this.#byte(SEPARATOR[s]);
    return (this.#state = AFTER[s]!) === VALUE;
  }

  #open(bracket: number, state: number): void {
    this.#sep();
    this.#byte(bracket);
    this.#outer.push(this.#state);
    this.#state = state;
  }

  #close(bracket: number): void {
    this.#byte(bracket);
    this.#state = this.#outer.pop() ?? TOP;
  }

  /** Opens an array. */
  beginArray(): void {
    this.#open(LBRACKET, LIST_FIRST);
  }

  /** Closes an array. */
  endArray(): void {
    this.#close(RBRACKET);
  }

  /** Opens an object. */
  beginObject(): void {
    this.#open(LBRACE, PAIR_FIRST);
  }

  /** Closes an object. */
  endObject(): void {
    this.#close(RBRACE);
  }

  /** Writes a number's text (ASCII), quoted when it is an object key. */
  number(text: string): void {
    const quote = this.#sep();
    const o = this.#out;
    o.ensure(text.length + 2);
    const b = o.bytes;
    if (quote) b[o.pos++] = QUOTE;
    for (let i = 0; i < text.length; i++) b[o.pos++] = text.charCodeAt(i);
    if (quote) b[o.pos++] = QUOTE;
  }

  /** Writes a string. */
  string(text: string): void {
    this.#sep();
    writeJSONString(this.#out, text);
  }

  /** Writes bytes as a base64 string. */
  base64(bytes: Uint8Array): void {
    this.#sep();
    writeBase64(this.#out, bytes);
  }
}

/**
 * Reads JSON values from a `ReadBuffer`, each with a cursor over its bytes: linear in what it
 * reads. Running out of bytes throws `InputBufferUnderrunError` (the connection rolls back
 * to the message start and reads it again once more bytes arrived); anything else that is
 * not the JSON expected is a `ProtocolError`. Whitespace between values is skipped.
 */
export class JSONReader {
  readonly #in: ReadBuffer;
  #state = TOP;
  #outer: number[] = [];
  #buf: Buffer = Buffer.alloc(0); // borrowed from the ReadBuffer for one read
  #at = 0;
  #from = 0;
  #end = 0;
  #base = 0; // where the message started, for error positions

  /** @param input Where to read. */
  constructor(input: ReadBuffer) {
    this.#in = input;
  }

  /** Starts a new top-level value (a message) at the read cursor. */
  reset(): void {
    this.#state = TOP;
    this.#outer.length = 0;
    this.#base = this.#in.borrow().readIndex;
  }

  #load(): void {
    const { buf, readIndex, writeIndex } = this.#in.borrow();
    this.#buf = buf;
    this.#at = this.#from = readIndex;
    this.#end = writeIndex;
  }

  #save(): void {
    this.#in.consume(this.#at - this.#from);
  }

  /** Skips whitespace; returns the next byte, not consumed. */
  #peek(): number {
    const b = this.#buf, end = this.#end;
    for (let i = this.#at; i < end; i++) {
      const c = b[i]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) {
        this.#at = i;
        return c;
      }
    }
    throw new InputBufferUnderrunError();
  }

  #unexpected(expected: string): ProtocolError {
    return new ProtocolError(
      `Invalid reply: unexpected ${show(this.#buf[this.#at]!)} at byte ${
        this.#at - this.#base
      } of the JSON message: expected ${expected}`,
    );
  }

  #expect(c: number): void {
    if (this.#peek() !== c) throw this.#unexpected(show(c));
    this.#at++;
  }

  /** Reads the separator before a value; true when the value is an object key. */
  #sep(): boolean {
    const s = this.#state;
    if (SEPARATOR[s]) this.#expect(SEPARATOR[s]);
    return (this.#state = AFTER[s]!) === VALUE;
  }

  #open(bracket: number, state: number): void {
    this.#load();
    this.#sep();
    this.#expect(bracket);
    this.#outer.push(this.#state);
    this.#state = state;
    this.#save();
  }

  #close(bracket: number): void {
    this.#load();
    this.#expect(bracket);
    this.#state = this.#outer.pop() ?? TOP;
    this.#save();
  }

  /** Reads an array's opening bracket. */
  beginArray(): void {
    this.#open(LBRACKET, LIST_FIRST);
  }

  /** Reads an array's closing bracket. */
  endArray(): void {
    this.#close(RBRACKET);
  }

  /** Reads an object's opening brace. */
  beginObject(): void {
    this.#open(LBRACE, PAIR_FIRST);
  }

  /** Reads an object's closing brace. */
  endObject(): void {
    this.#close(RBRACE);
  }

  /** True when the object ends here (its brace is left for `endObject`). */
  atObjectEnd(): boolean {
    this.#load();
    return this.#peek() === RBRACE;
  }

  /** A quoted string's body; the cursor is on its opening quote. */
  #text(): string {
    const b = this.#buf, end = this.#end, from = this.#at + 1;
    let escaped = false;
    let i = from;
    for (;;) {
      if (i >= end) throw new InputBufferUnderrunError();
      const c = b[i];
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        escaped = true;
        i += 2;
      } else i++;
    }
    this.#at = i + 1;
    return escaped ? unescapeJSON(b, from, i) : b.toString("utf8", from, i);
  }

  /** Reads a string. */
  string(): string {
    this.#load();
    this.#sep();
    if (this.#peek() !== QUOTE) throw this.#unexpected("a string");
    const text = this.#text();
    this.#save();
    return text;
  }

  /** The end of the number at the cursor (the bytes may end inside it: an underrun). */
  #token(): number {
    const b = this.#buf, end = this.#end;
    let i = this.#at;
    while (i < end && NUMERIC[b[i]!]) i++;
    if (i >= end) throw new InputBufferUnderrunError();
    if (i === this.#at) throw this.#unexpected("a number");
    return i;
  }

  /** Reads an integer (quoted as an object key): a number, or past 15 digits a bigint. */
  integer(): number | bigint {
    this.#load();
    const quoted = this.#sep();
    if (quoted) this.#expect(QUOTE);
    else this.#peek();
    const b = this.#buf, from = this.#at, to = this.#token();
    const negative = b[from] === MINUS;
    const first = negative ? from + 1 : from;
    // leading zeros are taken: npm `thrift` writes an `Int64` of -1 as -000000000001
    let v = to > first ? 0 : NaN;
    for (let i = first; i < to && v === v; i++) {
      const d = b[i]! - ZERO;
      v = d >= 0 && d <= 9 ? v * 10 + d : NaN;
    }
    if (v !== v) {
      const text = b.toString("latin1", from, to);
      throw new ProtocolError(`Invalid reply: integer ${JSON.stringify(text)} is malformed`);
    }
    this.#at = to;
    if (quoted) {
      if (b[to] !== QUOTE) throw this.#unexpected(show(QUOTE));
      this.#at++;
    }
    this.#save();
    if (to - first > 15) return BigInt(b.toString("latin1", from, to));
    return negative ? 0 - v : v;
  }

  /** Reads an integer of `bits` bits; `what` names it in errors. */
  int(bits: number, what: string): number {
    const v = this.integer();
    const max = 2 ** (bits - 1);
    if (typeof v !== "number" || v < -max || v >= max) {
      throw new ProtocolError(`Invalid reply: ${what} ${v} is out of range`);
    }
    return v;
  }

  /**
   * Reads a double: a number, or the string `"NaN"`, `"Infinity"` or `"-Infinity"`; as an
   * object key, quoted.
   */
  double(): number {
    this.#load();
    const key = this.#sep();
    const quoted = this.#peek() === QUOTE;
    let text: string;
    if (quoted) {
      text = this.#text();
      const special = SPECIAL.get(text);
      if (special !== undefined) {
        this.#save();
        return special;
      }
    } else {
      const to = this.#token();
      text = this.#buf.toString("latin1", this.#at, to);
      this.#at = to;
    }
    if (quoted !== key) {
      const where = quoted ? "quoted outside" : "unquoted as";
      throw new ProtocolError(
        `Invalid reply: double ${JSON.stringify(text)} is ${where} a map key`,
      );
    }
    if (!NUMBER_TEXT.test(text)) {
      throw new ProtocolError(`Invalid reply: double ${JSON.stringify(text)} is malformed`);
    }
    this.#save();
    return Number(text);
  }
}
