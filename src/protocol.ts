/**
 * The write side the generated client talks to: a protocol class that notes each message's
 * header (and adds the multiplexing prefix), and an output transport that hands each whole
 * message, already framed when asked, to the connection.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { MessageType, type ProtocolClass, protocolClasses } from "./_thrift.ts";
import type { ProtocolName } from "./config.ts";

/** What the connection learns about each outgoing message. */
export interface OutgoingMessage {
  /** The method name, without the multiplexing prefix. */
  readonly method: string;
  /** The sequence id the reply will carry. */
  readonly seqid: number;
  /** True for oneway calls, which get no reply. */
  readonly oneway: boolean;
}

/** Receives each serialized message from the output transport. */
export type MessageSink = (bytes: Uint8Array, message: OutgoingMessage) => void;

/** The transport object the generated client writes to (`new Client(output, pClass)`). */
export class OutputTransport {
  #chunks: Buffer[] = [];
  #size = 0;
  #message: OutgoingMessage = { method: "", seqid: 0, oneway: false };
  readonly #framed: boolean;
  readonly #sink: MessageSink;

  /**
   * @param framed Prefix each message with its length.
   * @param sink Receives each whole message.
   */
  constructor(framed: boolean, sink: MessageSink) {
    this.#framed = framed;
    this.#sink = sink;
  }

  /** Called by the protocol at `writeMessageBegin`. */
  begin(method: string, type: number, seqid: number): void {
    this.#chunks = [];
    this.#size = 0;
    this.#message = { method, seqid, oneway: type === MessageType.ONEWAY };
  }

  /** Appends bytes (or UTF-8 text, from the JSON protocol) to the current message. */
  write(data: Buffer | Uint8Array | string): void {
    const chunk = typeof data === "string" ? Buffer.from(data, "utf8") : data as Buffer;
    this.#chunks.push(chunk);
    this.#size += chunk.length;
  }

  /** Ends the current message and hands it over. */
  flush(): void {
    const head = this.#framed ? 4 : 0;
    const bytes = Buffer.allocUnsafe(head + this.#size);
    if (this.#framed) bytes.writeInt32BE(this.#size, 0);
    let at = head;
    for (const chunk of this.#chunks) {
      bytes.set(chunk, at);
      at += chunk.length;
    }
    this.#chunks = [];
    this.#size = 0;
    this.#sink(bytes, this.#message);
  }

  /** Called by npm `thrift` protocols; the sequence id already came through `begin`. */
  setCurrSeqId(_seqid: number): void {}

  /** Always true: the connection decides whether calls may be sent. */
  isOpen(): boolean {
    return true;
  }
}

/**
 * Returns the protocol class for a name: it tells the output transport each message's
 * header, and with `service` prefixes calls as `TMultiplexedProtocol` does.
 */
export function writingProtocol(
  name: ProtocolName,
  service?: string,
): ProtocolClass {
  const Base = protocolClasses[name];
  return class extends Base {
    override writeMessageBegin(
      method: string,
      type: number,
      seqid: number,
    ): void {
      const output = (this as unknown as { trans: unknown }).trans;
      if (output instanceof OutputTransport) output.begin(method, type, seqid);
      const call = type === MessageType.CALL || type === MessageType.ONEWAY;
      super.writeMessageBegin(
        service && call ? `${service}:${method}` : method,
        type,
        seqid,
      );
    }
  };
}
