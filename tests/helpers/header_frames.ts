/**
 * THeader frames made and taken apart byte by byte, for raw servers that answer the client
 * with well-formed or hostile frames (tests/header_test.ts). Written from the spec
 * (Apache's doc/specs/HeaderFormat.md), apart from the library's own code.
 */
import { deflateSync } from "node:zlib";

const encoder = new TextEncoder();

/** An unsigned LEB128 varint; `bytes` forces a longer (overlong) encoding. */
export function varint(value: number, bytes = 0): number[] {
  const out: number[] = [];
  do {
    out.push(value % 128);
    value = Math.floor(value / 128);
  } while (value > 0 || out.length < bytes);
  for (let i = 0; i < out.length - 1; i++) out[i]! |= 0x80;
  return out;
}

function str(text: string): number[] {
  const bytes = encoder.encode(text);
  return [...varint(bytes.length), ...bytes];
}

/** What a frame is made of; each field can be made wrong on purpose. */
export interface FrameParts {
  seqid: number;
  payload: Uint8Array;
  /** Default 0x0fff. */
  magic?: number;
  /** Default 0 (binary). */
  protocolId?: number;
  /** Transform ids; with `[1]` the payload is compressed unless `compress` is false. */
  transforms?: number[];
  compress?: boolean;
  /** Key-value info headers. */
  info?: [string, string][];
  /** Header bytes used instead of the ones made from the fields above (then padded). */
  header?: number[];
  /** The header size field, in 4-byte words, instead of the real one. */
  words?: number;
  /** The length field instead of the real one. */
  length?: number;
}

/** A whole THeader frame, its 4-byte length included. */
export function headerFrame(parts: FrameParts): Uint8Array {
  let header = parts.header;
  if (!header) {
    const transforms = parts.transforms ?? [];
    header = [...varint(parts.protocolId ?? 0), ...varint(transforms.length)];
    for (const id of transforms) header.push(...varint(id));
    if (parts.info?.length) {
      header.push(1, ...varint(parts.info.length));
      for (const [key, value] of parts.info) header.push(...str(key), ...str(value));
    }
  }
  while (header.length % 4) header.push(0);
  const zlib = (parts.transforms ?? []).includes(1) && parts.compress !== false;
  const payload = zlib ? deflateSync(parts.payload) : parts.payload;
  const out = new Uint8Array(14 + header.length + payload.length);
  const view = new DataView(out.buffer);
  view.setInt32(0, parts.length ?? out.length - 4);
  view.setUint16(4, parts.magic ?? 0x0fff);
  view.setUint16(6, 0);
  view.setInt32(8, parts.seqid);
  view.setUint16(12, parts.words ?? header.length / 4);
  out.set(header, 14);
  out.set(payload, 14 + header.length);
  return out;
}

/** A strict binary message `name` of `type` whose result struct holds string `text` in field 0. */
export function binaryMessage(type: number, name: string, seqid: number, text: string): Uint8Array {
  const n = encoder.encode(name);
  const t = encoder.encode(text);
  const out = new Uint8Array(12 + n.length + 7 + t.length + 1);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x80010000 | type);
  view.setInt32(4, n.length);
  out.set(n, 8);
  view.setInt32(8 + n.length, seqid);
  let at = 12 + n.length;
  out[at++] = 11; // string field 0
  view.setInt16(at, 0);
  view.setInt32(at + 2, t.length);
  out.set(t, at + 6);
  return out; // the last byte, 0, is the field stop
}

/** A strict binary REPLY `name` whose result struct holds string `text` in field 0. */
export function binaryReply(name: string, seqid: number, text: string): Uint8Array {
  return binaryMessage(2, name, seqid, text);
}

/** A request frame as the client wrote it, taken apart (no transforms expected). */
export interface RequestFrame {
  seqid: number;
  flags: number;
  protocolId: number;
  transforms: number[];
  info: Map<string, string>;
  /** The header section's size in bytes (a multiple of 4). */
  headerBytes: number;
  payload: Uint8Array;
  /** The message's own sequence id (binary payloads). */
  messageSeqid: number;
}

/** Takes apart a frame the client sent (one whole frame per chunk). */
export function parseRequest(chunk: Uint8Array): RequestFrame {
  const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (view.getInt32(0) !== chunk.length - 4) throw new Error("not one whole frame");
  if (view.getUint16(4) !== 0x0fff) throw new Error("no THeader magic");
  const headerBytes = view.getUint16(12) * 4;
  let at = 14;
  const next = () => {
    let value = 0;
    for (let shift = 0;; shift += 7) {
      const byte = chunk[at++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  };
  const text = () => {
    const length = next();
    at += length;
    return new TextDecoder().decode(chunk.subarray(at - length, at));
  };
  const protocolId = next();
  const transforms = Array.from({ length: next() }, next);
  const info = new Map<string, string>();
  if (at < 14 + headerBytes && chunk[at] === 1) {
    at++;
    for (let n = next(); n > 0; n--) info.set(text(), text());
  }
  const payload = chunk.subarray(14 + headerBytes);
  const p = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const messageSeqid = protocolId === 0 && !transforms.length ? p.getInt32(8 + p.getInt32(4)) : -1;
  return {
    seqid: view.getInt32(8),
    flags: view.getUint16(6),
    protocolId,
    transforms,
    info,
    headerBytes,
    payload,
    messageSeqid,
  };
}
