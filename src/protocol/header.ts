/**
 * THeader (Apache Thrift's `doc/specs/HeaderFormat.md`): a framing of its own around each
 * binary or compact message, carrying info headers (string key-value pairs) both ways and
 * per-frame transforms (zlib). A transport-level wrapper: the output transport frames each
 * message with {@link HeaderFramer}; the reply reader unwraps each frame, already cut at its
 * 4-byte length and checked against `maxMessageSize` by the frame decoder, with
 * {@link readHeaderFrame}.
 *
 * A frame: its length (i32, not counting itself); magic 0x0FFF (u16); flags (u16); sequence
 * id (i32); header size in 4-byte words (u16); the header: protocol id, transform count and
 * ids (varints), info headers (type 1: a count, then each key and value as a varint length
 * and UTF-8 bytes), zero padding to a multiple of 4; then the payload, the message itself,
 * compressed as one zlib stream per frame when the zlib transform is listed.
 *
 * @module
 */
import { deflateSync, inflateSync } from "node:zlib";
import type { WireProtocol } from "../config.ts";
import { ProtocolError, replyTooLarge } from "../errors.ts";
import type { Framer, OutgoingMessage } from "../protocol.ts";
import { headerPairs } from "../transport/channel.ts";
import type { WriteBuffer } from "../transport/write_buffer.ts";

export type { InfoHeaders } from "../transport/channel.ts";

const MAGIC = 0x0fff;
/** Magic, flags, sequence id and header size: the bytes between the length and the header. */
const FIXED = 10;
/** Where the header starts in a frame written with its length. */
const HEADER_AT = 4 + FIXED;
/** Protocol ids, as `TProtocolTypes.h` numbers them. */
const PROTOCOL_IDS: Readonly<Record<WireProtocol, number>> = { BINARY: 0, JSON: 1, COMPACT: 2 };
const PROTOCOL_NAMES: readonly string[] = ["binary", "JSON", "compact"];
const ZLIB_TRANSFORM = 1;
const INFO_KEY_VALUE = 1;
/** The largest header libthrift's C++ reader accepts (a size field below 16384 words). */
const MAX_HEADER = 16383 * 4;
const NO_HEADERS: ReadonlyMap<string, string> = new Map();
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function putVarint(out: WriteBuffer, value: number): void {
  out.ensure(5);
  let v = value >>> 0;
  while (v > 0x7f) {
    out.bytes[out.pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out.bytes[out.pos++] = v;
}

function putString(out: WriteBuffer, text: unknown, what: string): void {
  if (typeof text !== "string") {
    throw new TypeError(`Cannot write ${what}: expected a string, got ${typeof text}`);
  }
  const bytes = encoder.encode(text);
  putVarint(out, bytes.length);
  out.put(bytes);
}

/** Frames each message as THeader, with the call's info headers and the zlib transform. */
export class HeaderFramer implements Framer {
  readonly #protocolId: number;
  readonly #zlib: boolean;

  /**
   * @param protocol How the payload is encoded (binary or compact).
   * @param zlib Compress each payload with the zlib transform.
   */
  constructor(protocol: WireProtocol, zlib: boolean) {
    this.#protocolId = PROTOCOL_IDS[protocol];
    this.#zlib = zlib;
  }

  /**
   * Writes the frame's fixed part and header; the length is set by `end()`.
   *
   * @throws {TypeError} when an info header name or value is not a string.
   * @throws {RangeError} when the info headers do not fit in a THeader header.
   */
  begin(out: WriteBuffer, message: OutgoingMessage): number {
    out.ensure(HEADER_AT);
    out.view.setUint16(4, MAGIC);
    out.view.setUint16(6, 0); // flags
    out.view.setInt32(8, message.seqid);
    out.pos = HEADER_AT;
    putVarint(out, this.#protocolId);
    putVarint(out, this.#zlib ? 1 : 0);
    if (this.#zlib) putVarint(out, ZLIB_TRANSFORM);
    const pairs = message.headers ? headerPairs(message.headers) : [];
    if (pairs.length > 0) {
      putVarint(out, INFO_KEY_VALUE);
      putVarint(out, pairs.length);
      for (const [name, value] of pairs) {
        putString(out, name, `an info header name of "${message.method}"`);
        putString(out, value, `info header "${name}" of "${message.method}"`);
      }
    }
    const size = (out.pos - HEADER_AT + 3) & ~3;
    if (size > MAX_HEADER) {
      throw new RangeError(
        `Cannot write the info headers of "${message.method}": they need ${size} bytes, more than the ${MAX_HEADER} a THeader holds`,
      );
    }
    out.ensure(3);
    out.bytes.fill(0, out.pos, HEADER_AT + size);
    out.pos = HEADER_AT + size;
    out.view.setUint16(12, size / 4);
    return out.pos;
  }

  /** Compresses the payload when zlib is on, and sets the frame's length. */
  end(out: WriteBuffer, start: number): number {
    if (this.#zlib) {
      const packed = deflateSync(out.bytes.subarray(start, out.pos));
      out.pos = start;
      out.put(packed);
    }
    out.view.setInt32(0, out.pos - 4);
    return out.pos;
  }
}

/** What a reply frame is checked against. */
export interface HeaderExpectations {
  /** How the payload must be encoded (the protocol id the calls were sent with). */
  readonly protocol: WireProtocol;
  /** The largest payload accepted once inflated, in bytes. */
  readonly maxMessageSize: number;
  /** The endpoint, for error messages. */
  readonly label: string;
}

/** One THeader frame, unwrapped. */
export interface HeaderFrame {
  /** The frame's sequence id, which its message must carry too. */
  readonly seqid: number;
  /** The frame's info headers (empty when it has none). */
  readonly headers: ReadonlyMap<string, string>;
  /** The message, inflated when the frame was compressed. */
  readonly payload: Uint8Array;
}

/** Reads a header's varints and strings, never past its end. */
class HeaderCursor {
  pos: number;
  readonly #bytes: Uint8Array;
  readonly end: number;
  readonly #label: string;

  constructor(bytes: Uint8Array, pos: number, end: number, label: string) {
    this.#bytes = bytes;
    this.pos = pos;
    this.end = end;
    this.#label = label;
  }

  fail(what: string): ProtocolError {
    return invalidFrame(this.#label, what);
  }

  /** A varint of at most 5 bytes, within 0..2^31-1. */
  varint(what: string): number {
    let value = 0;
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.end) throw this.fail(`the header ends inside ${what}`);
      const byte = this.#bytes[this.pos++]!;
      value += (byte & 0x7f) * 2 ** (7 * i);
      if (byte < 0x80) {
        if (value > 0x7fffffff) throw this.fail(`${what} ${value} is out of range`);
        return value;
      }
    }
    throw this.fail(`${what} is a varint longer than 5 bytes`);
  }

  /** A varint length, then that many bytes of UTF-8. */
  string(what: string): string {
    const length = this.varint(`the length of ${what}`);
    if (length > this.end - this.pos) {
      throw this.fail(`${what} of ${length} bytes runs past the end of the header`);
    }
    const text = decoder.decode(this.#bytes.subarray(this.pos, this.pos + length));
    this.pos += length;
    return text;
  }
}

function invalidFrame(label: string, what: string): ProtocolError {
  return new ProtocolError(`Invalid THeader frame from "${label}": ${what}`);
}

function notHeader(label: string, frame: Uint8Array): ProtocolError {
  const head = (frame[0]! << 8) | frame[1]!;
  const what = head === 0x8001
    ? "a framed binary message"
    : frame[0] === 0x82
    ? "a framed compact message"
    : `magic 0x${head.toString(16).padStart(4, "0")}, not 0x0fff`;
  return invalidFrame(label, `${what} (is the server using THeaderProtocol?)`);
}

/** The info headers: key-value lists until the padding, or a type this reader skips. */
function infoHeaders(cursor: HeaderCursor): ReadonlyMap<string, string> {
  let headers: Map<string, string> | undefined;
  while (cursor.pos < cursor.end) {
    const type = cursor.varint("an info header type");
    // 0 starts the padding; the spec lets a reader skip other types, and all that follow.
    if (type !== INFO_KEY_VALUE) break;
    const count = cursor.varint("the info header count");
    const left = cursor.end - cursor.pos;
    if (count * 2 > left) {
      throw cursor.fail(`${count} info headers cannot fit in the ${left} header bytes left`);
    }
    headers ??= new Map();
    for (let i = 0; i < count; i++) {
      const name = cursor.string("an info header name");
      headers.set(name, cursor.string(`info header "${name}"`));
    }
  }
  return headers ?? NO_HEADERS;
}

function inflated(payload: Uint8Array, expect: HeaderExpectations): Uint8Array {
  try {
    return inflateSync(payload, { maxOutputLength: expect.maxMessageSize });
  } catch (error) {
    if ((error as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE") {
      throw replyTooLarge(expect.label, expect.maxMessageSize);
    }
    throw new ProtocolError(
      `Cannot inflate the THeader payload from "${expect.label}": ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * Unwraps one THeader frame (the bytes after its length).
 *
 * @param frame The frame, as the frame decoder cut it.
 * @param expect The protocol, the size limit and the endpoint's label.
 * @returns The frame's sequence id, info headers and (inflated) message.
 * @throws {ProtocolError} when it is not a THeader frame, its header is truncated, larger
 *   than the frame or holds an absurd varint, its protocol id is not the one expected, it
 *   lists a transform other than zlib, or its payload does not inflate within the limit.
 */
export function readHeaderFrame(frame: Uint8Array, expect: HeaderExpectations): HeaderFrame {
  const { label } = expect;
  if (frame.length < FIXED) {
    throw invalidFrame(label, `${frame.length} bytes, fewer than the ${FIXED} of its fixed part`);
  }
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (view.getUint16(0) !== MAGIC) throw notHeader(label, frame);
  const seqid = view.getInt32(4);
  const size = view.getUint16(8) * 4;
  if (size > frame.length - FIXED) {
    throw invalidFrame(
      label,
      `its header of ${size} bytes is larger than the ${frame.length - FIXED} bytes that follow`,
    );
  }
  const cursor = new HeaderCursor(frame, FIXED, FIXED + size, label);
  const protocolId = cursor.varint("the protocol id");
  const expected = PROTOCOL_IDS[expect.protocol];
  if (protocolId !== expected) {
    const name = PROTOCOL_NAMES[protocolId] ?? "unknown";
    throw cursor.fail(
      `protocol id ${protocolId} (${name}), expected ${expected} (${PROTOCOL_NAMES[expected]})`,
    );
  }
  let inflations = 0;
  const transforms = cursor.varint("the transform count");
  for (let i = 0; i < transforms; i++) {
    const id = cursor.varint("a transform id");
    if (id !== ZLIB_TRANSFORM) {
      throw cursor.fail(`unknown transform ${id} (only zlib, 1, is supported)`);
    }
    inflations++;
  }
  const headers = infoHeaders(cursor);
  let payload = frame.subarray(FIXED + size);
  for (; inflations > 0; inflations--) payload = inflated(payload, expect);
  return { seqid, headers, payload };
}
