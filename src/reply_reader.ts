/**
 * Reading replies on one channel: the inbound buffer, where each unframed message ends (the
 * scanner), THeader frames unwrapped, the checks of each reply (type, sequence id, method),
 * and the generated reader that turns it into the caller's result, handed to the connection's
 * one settle path with the reply's info headers.
 *
 * @module
 */
import {
  InputBufferUnderrunError,
  MessageType,
  type Protocol,
  STRUCT,
  TApplicationException,
} from "./_thrift.ts";
import type { Endpoint } from "./config.ts";
import type { ConnectionKit } from "./connection_kit.ts";
import type { Deadlines } from "./deadlines.ts";
import { printable, ProtocolError, replyTooLarge, truncatedReply } from "./errors.ts";
import { type HeaderExpectations, type HeaderFrame, readHeaderFrame } from "./protocol/header.ts";
import { type MessageScanner, NEED_MORE, newScanner, TOO_LARGE } from "./protocol/scanner.ts";
import { ReadBuffer } from "./transport/read_buffer.ts";

/** The callback the generated client keeps per sequence id. */
export type Callback = (error: unknown, result?: unknown) => void;

/** The generated client, as the connection drives it. */
export interface RawClient {
  _seqid: number;
  _reqs: Record<string, Callback | undefined>;
  [method: string]: unknown;
}

/**
 * Where a reply's outcome goes: the connection's settle path, with the reply's THeader info
 * headers (absent for the other protocols).
 */
export type Settle = (
  seqid: number,
  error: unknown,
  result?: unknown,
  replyHeaders?: ReadonlyMap<string, string>,
) => void;

/** Reads the replies of one channel's calls. */
export class ReplyReader {
  readonly #endpoint: Endpoint;
  readonly #reader: ConnectionKit["reader"];
  readonly #raw: RawClient;
  readonly #deadlines: Deadlines;
  readonly #settle: Settle;
  readonly #buffer: ReadBuffer;
  readonly #protocol: Protocol;
  readonly #scanner: MessageScanner | undefined;
  /** THeader: what each frame is checked against; absent for other framings. */
  readonly #theader: HeaderExpectations | undefined;
  /** THeader: the frame whose message is being read. */
  #frame: HeaderFrame | undefined;
  readonly #abandoned = new Set<number>();
  readonly #outcome: [unknown, unknown] = [undefined, undefined];
  #captured = false;
  readonly #capture: Callback = (error, result) => {
    this.#outcome[0] = error;
    this.#outcome[1] = result;
    this.#captured = true;
  };

  /**
   * @param kit The endpoint and the protocol class replies are read with.
   * @param raw The generated client whose calls these replies answer.
   * @param deadlines The calls waiting, with their methods.
   * @param settle The connection's settle path.
   */
  constructor(
    kit: Pick<ConnectionKit, "endpoint" | "reader">,
    raw: RawClient,
    deadlines: Deadlines,
    settle: Settle,
  ) {
    this.#endpoint = kit.endpoint;
    this.#reader = kit.reader;
    this.#raw = raw;
    this.#deadlines = deadlines;
    this.#settle = settle;
    this.#buffer = new ReadBuffer(kit.endpoint.maxMessageSize);
    this.#protocol = new kit.reader(this.#buffer);
    const { framed, header, protocol, maxMessageSize, label } = kit.endpoint;
    this.#scanner = framed ? undefined : newScanner(protocol);
    this.#theader = header ? { protocol, maxMessageSize, label } : undefined;
  }

  /** Bytes received and not yet read as a reply (part of one, or an unsolicited message). */
  get pending(): number {
    return this.#buffer.pending;
  }

  /** Remembers a timed-out or aborted call so its late reply is skipped; keeps the last 1024. */
  abandon(seqid: number): void {
    this.#abandoned.add(seqid);
    if (this.#abandoned.size > 1024) {
      this.#abandoned.delete(this.#abandoned.values().next().value!);
    }
  }

  /**
   * Takes socket bytes (a `whole` frame is kept as it is) and reads every reply now complete.
   *
   * @throws {ProtocolError} (or the reader's error) when the bytes are not valid replies.
   */
  receive(chunk: Uint8Array, whole: boolean): void {
    if (this.#theader) return this.#readFrame(chunk);
    if (whole) this.#buffer.adopt(chunk);
    else this.#buffer.append(chunk);
    this.#readReplies(this.#buffer, whole);
  }

  /**
   * Reads the HTTP response body answering call `seqid` (its header already checked by the
   * channel); `headers`, the response's, settle with it.
   *
   * @throws {ProtocolError} (or the reader's error) when it is not that call's reply.
   */
  httpReply(seqid: number, body: Uint8Array, headers?: ReadonlyMap<string, string>): void {
    const buffer = new ReadBuffer(this.#endpoint.maxMessageSize);
    buffer.adopt(body);
    this.#readReply(new this.#reader(buffer), headers);
    if (this.#raw._reqs[seqid]) {
      throw new ProtocolError(
        `No reply to call ${seqid} in the HTTP response from "${this.#endpoint.label}"`,
      );
    }
  }

  /**
   * Reads every complete reply in the buffer, each parsed once: a whole frame as it is; on
   * an unframed stream, once the scanner has found where the message ends.
   */
  #readReplies(buffer: ReadBuffer, whole: boolean): void {
    const { label, maxMessageSize } = this.#endpoint;
    while (buffer.pending > 0) {
      const scanner = whole ? undefined : this.#scanner!;
      const size = scanner ? buffer.scan(scanner) : buffer.pending;
      if (size === NEED_MORE) return buffer.reserve(scanner!.wanted);
      if (size === TOO_LARGE) {
        throw replyTooLarge(label, maxMessageSize);
      }
      scanner?.reset();
      this.#readWhole();
      if (scanner && buffer.consumed !== size) {
        throw new ProtocolError(
          `Invalid reply from "${label}": the message ends at byte ${size}, its reader stopped at byte ${buffer.consumed}`,
        );
      }
      buffer.commit();
    }
  }

  /**
   * Reads the one message of a THeader frame, which must carry the frame's sequence id and
   * fill the frame's payload.
   */
  #readFrame(bytes: Uint8Array): void {
    const frame = readHeaderFrame(bytes, this.#theader!);
    const buffer = this.#buffer;
    buffer.adopt(frame.payload);
    this.#frame = frame;
    try {
      this.#readWhole();
    } finally {
      this.#frame = undefined;
    }
    buffer.commit();
  }

  /** THeader: the frame must hold its message and nothing more (checked before settling). */
  #checkFrameEnd(): void {
    const frame = this.#frame;
    const extra = frame ? frame.payload.length - this.#buffer.consumed : 0;
    if (extra > 0) {
      throw new ProtocolError(
        `Invalid reply from "${this.#endpoint.label}": ${extra} bytes follow the message in its THeader frame`,
      );
    }
  }

  /** Reads one reply whose bytes are all in the buffer. */
  #readWhole(): void {
    try {
      this.#readReply(this.#protocol);
    } catch (error) {
      if (!(error instanceof InputBufferUnderrunError)) throw error;
      throw truncatedReply(this.#endpoint.label);
    }
  }

  /**
   * Reads one reply: a REPLY or EXCEPTION for the method of the call it names; it settles with
   * `headers` (an HTTP response's), else its THeader frame's info headers.
   */
  #readReply(protocol: Protocol, headers?: ReadonlyMap<string, string>): void {
    const header = protocol.readMessageBegin();
    const seqid = header.rseqid;
    const name = String(header.fname);
    const { label } = this.#endpoint;
    if (header.mtype !== MessageType.REPLY && header.mtype !== MessageType.EXCEPTION) {
      throw new ProtocolError(
        `Invalid reply from "${label}": message "${name}" has type ${header.mtype}, expected a reply or an exception`,
      );
    }
    const frame = this.#frame;
    if (frame && frame.seqid !== seqid) {
      throw new ProtocolError(
        `Invalid reply from "${label}": a THeader frame with sequence id ${frame.seqid} holds message "${name}" with sequence id ${seqid}`,
      );
    }
    const raw = this.#raw;
    const callback = raw._reqs[seqid];
    if (!callback) {
      if (!this.#abandoned.delete(seqid)) {
        throw new ProtocolError(
          `Unexpected reply "${name}" with sequence id ${seqid} from "${label}"${
            header.mtype === MessageType.EXCEPTION ? serverSays(protocol) : ""
          }`,
        );
      }
      protocol.skip(STRUCT); // a late reply to a call that timed out
      protocol.readMessageEnd();
      return this.#checkFrameEnd();
    }
    const method = this.#deadlines.methodOf(seqid) ?? name;
    // a multiplexing server may answer with the service's prefix
    if (name !== method && !name.endsWith(":" + method)) {
      throw new ProtocolError(
        `Invalid reply from "${label}": a reply named "${name}" answers call ${seqid} of "${method}"`,
      );
    }
    const recv = raw["recv_" + method];
    if (typeof recv !== "function") {
      throw new ProtocolError(`Reply to unknown method "${method}" from "${label}"`);
    }
    // The generated reader takes the callback it finds under the sequence id: it gets the
    // capture, and the outcome then settles through the connection's one path.
    raw._reqs[seqid] = this.#capture;
    this.#captured = false;
    try {
      recv.call(raw, protocol, header.mtype, seqid);
    } finally {
      raw._reqs[seqid] = callback;
    }
    if (!this.#captured) return;
    this.#checkFrameEnd();
    const [error, result] = this.#outcome;
    this.#outcome[0] = this.#outcome[1] = undefined;
    this.#settle(seqid, error, result, headers ?? frame?.headers);
  }
}

/**
 * What an EXCEPTION answering no call says, for the error: a server that cannot read a
 * request (C++ and Python THeader servers, for one) answers so with sequence id 0.
 */
function serverSays(protocol: Protocol): string {
  try {
    const error = new TApplicationException();
    error.read(protocol);
    return `: the server says "${printable(error.message)}"`;
  } catch {
    return "";
  }
}
