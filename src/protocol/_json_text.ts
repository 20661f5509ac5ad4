/**
 * The text side of the JSON protocol: string escaping as Apache Thrift writes it, unescaping,
 * base64 for binaries and the UUID form.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { ProtocolError } from "../errors.ts";
import type { WriteBuffer } from "../transport/write_buffer.ts";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const EQUALS = 0x3d;

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);
const HEX = ascii("0123456789abcdef");
const BASE64 = ascii("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");

/** The escape letter of each byte written as `\x`; other control bytes become `\u00XX`. */
const SHORT = new Uint8Array(0x60);
SHORT[0x08] = 0x62; // \b
SHORT[0x09] = 0x74; // \t
SHORT[0x0a] = 0x6e; // \n
SHORT[0x0c] = 0x66; // \f
SHORT[0x0d] = 0x72; // \r
SHORT[QUOTE] = QUOTE;
SHORT[BACKSLASH] = BACKSLASH;

/** What each escape letter (`\x`) stands for. */
const UNESCAPED = new Map([
  ['"', '"'],
  ["\\", "\\"],
  ["/", "/"],
  ["b", "\b"],
  ["f", "\f"],
  ["n", "\n"],
  ["r", "\r"],
  ["t", "\t"],
]);

// deno-lint-ignore no-control-regex -- the control characters are what it looks for
const NEEDS_ESCAPE = /["\\\u0000-\u001f]/;
const BASE64_TEXT = /^[A-Za-z0-9+/]*={0,2}$/;
const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const quoted = (text: string): string => JSON.stringify(text.slice(0, 40));

/** Bytes `c` takes once escaped. */
function escapedLength(c: number): number {
  if (c === QUOTE || c === BACKSLASH) return 2;
  return c >= 0x20 ? 1 : SHORT[c] ? 2 : 6;
}

/**
 * Writes `text` as a quoted JSON string, UTF-8, escaped as Apache Thrift does: `"` and `\`,
 * the control characters (`\b`, `\t`, `\n`, `\f`, `\r`, else `\u00XX`); nothing else.
 */
export function writeJSONString(o: WriteBuffer, text: string): void {
  o.ensure(2 + text.length * 3);
  const at = o.pos + 1;
  let end = at + o.utf8(text, at);
  if (NEEDS_ESCAPE.test(text)) end = escapeInPlace(o, at, end);
  const b = o.bytes;
  b[o.pos] = QUOTE;
  b[end] = QUOTE;
  o.pos = end + 1;
}

/** Escapes the UTF-8 bytes in `at..end` in place, from the back; returns their new end. */
function escapeInPlace(o: WriteBuffer, at: number, end: number): number {
  let extra = 0;
  for (let i = at; i < end; i++) extra += escapedLength(o.bytes[i]!) - 1;
  const pos = o.pos;
  o.pos = end; // so that growing keeps the text
  o.ensure(extra + 1);
  o.pos = pos;
  const b = o.bytes;
  let w = end + extra;
  for (let r = end - 1; w > r + 1; r--) { // until the bytes left are in place
    const c = b[r]!;
    const n = escapedLength(c);
    if (n === 1) b[--w] = c;
    else if (n === 2) {
      b[--w] = SHORT[c]!;
      b[--w] = BACKSLASH;
    } else {
      b[--w] = HEX[c & 15]!;
      b[--w] = HEX[c >> 4]!;
      b[--w] = 0x30; // 0
      b[--w] = 0x30;
      b[--w] = 0x75; // u
      b[--w] = BACKSLASH;
    }
  }
  return end + extra;
}

/** Writes `bytes` as a quoted base64 string, padded. */
export function writeBase64(o: WriteBuffer, bytes: Uint8Array): void {
  const n = bytes.length;
  o.ensure(2 + Math.ceil(n / 3) * 4);
  const b = o.bytes;
  let w = o.pos;
  b[w++] = QUOTE;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    b[w++] = BASE64[v >> 18]!;
    b[w++] = BASE64[(v >> 12) & 63]!;
    b[w++] = BASE64[(v >> 6) & 63]!;
    b[w++] = BASE64[v & 63]!;
  }
  if (i < n) {
    const two = i + 1 < n;
    const v = (bytes[i]! << 16) | (two ? bytes[i + 1]! << 8 : 0);
    b[w++] = BASE64[v >> 18]!;
    b[w++] = BASE64[(v >> 12) & 63]!;
    b[w++] = two ? BASE64[(v >> 6) & 63]! : EQUALS;
    b[w++] = EQUALS;
  }
  b[w++] = QUOTE;
  o.pos = w;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  c |= 0x20; // lower case
  return c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
}

/**
 * Decodes the body of a JSON string holding escapes: `buf[from..to]`, between its quotes.
 * A `\uXXXX` escape is one UTF-16 code unit, so a pair of them makes an astral character.
 *
 * @throws {ProtocolError} on an unknown or malformed escape.
 */
export function unescapeJSON(buf: Buffer, from: number, to: number): string {
  let out = "";
  let run = from; // start of the bytes not yet decoded
  let i = from;
  while (i < to) {
    if (buf[i] !== BACKSLASH) {
      i++;
      continue;
    }
    out += buf.toString("utf8", run, i);
    const letter = String.fromCharCode(buf[i + 1]!);
    if (letter === "u") {
      let unit = 0;
      for (let k = i + 2; k < i + 6; k++) {
        const d = k < to ? hexDigit(buf[k]!) : -1;
        if (d < 0) {
          const text = buf.toString("latin1", i, Math.min(i + 6, to));
          throw new ProtocolError(`Invalid reply: JSON escape ${quoted(text)} is malformed`);
        }
        unit = unit * 16 + d;
      }
      out += String.fromCharCode(unit);
      i += 6;
    } else {
      const char = UNESCAPED.get(letter);
      if (char === undefined) {
        throw new ProtocolError(`Invalid reply: JSON escape ${quoted("\\" + letter)} is unknown`);
      }
      out += char;
      i += 2;
    }
    run = i;
  }
  return out + buf.toString("utf8", run, to);
}

/**
 * Decodes a binary's base64 text, padded or not.
 *
 * @throws {ProtocolError} when it is not base64.
 */
export function decodeBase64(text: string): Buffer {
  const padded = text.endsWith("=");
  if (!BASE64_TEXT.test(text) || text.length % 4 === 1 || (padded && text.length % 4 !== 0)) {
    throw new ProtocolError(`Invalid reply: binary ${quoted(text)} is not base64`);
  }
  return Buffer.from(text, "base64");
}

/**
 * Decodes a UUID's text (`8-4-4-4-12` hex digits) to its 16 bytes.
 *
 * @throws {ProtocolError} when it is not a UUID.
 */
export function decodeUuid(text: string): Buffer {
  if (!UUID_TEXT.test(text)) {
    throw new ProtocolError(`Invalid reply: uuid ${quoted(text)} is malformed`);
  }
  return Buffer.from(text.replaceAll("-", ""), "hex");
}
