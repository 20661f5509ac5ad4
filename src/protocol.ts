/**
 * The write side the generated client talks to: a protocol class that notes each message's
 * header (and adds the multiplexing prefix), and an output transport that hands each whole
 * message, already framed when asked, to the connection.
 *
 * @module
 */
import { MessageType, type ProtocolClass } from "./_thrift.ts";
import type { ProtocolName } from "./config.ts";
import { TBinaryProtocol } from "./protocol/binary.ts";
import { TCompactProtocol } from "./protocol/compact.ts";
import { TJSONProtocol } from "./protocol/json.ts";
import { WriteBuffer } from "./transport/write_buffer.ts";
import { type Int64Maker, makeBigint } from "./protocol/_values.ts";

/** What the connection learns about each outgoing message. */
export interface OutgoingMessage {
  /** The method name, without the multiplexing prefix. */
  readonly method: string;
  /** The sequence id the reply will carry. */
  readonly seqid: number;
  /** True for oneway calls, which get no reply. */
  readonly oneway: boolean;
  /** The call's headers (HTTP request headers, THeader info headers), when it has any. */
  headers?: Headers;
}

/** Receives each serialized message from the output transport. */
export type MessageSink = (bytes: Uint8Array, message: OutgoingMessage) => void;

/**
 * The transport object the generated client writes to (`new Client(output, pClass)`): one
 * growable buffer per connection, reused across messages. The sink gets a view on it that
 * is valid only until the sink returns: it copies what it keeps.
 */
export class OutputTransport extends WriteBuffer {
  #message: OutgoingMessage = { method: "", seqid: 0, oneway: false };
  readonly #head: number;
  readonly #sink: MessageSink;

  /**
   * @param framed Prefix each message with its length.
   * @param sink Receives each whole message.
   */
  constructor(framed: boolean, sink: MessageSink) {
    super();
    this.#head = framed ? 4 : 0;
    this.pos = this.#head;
    this.#sink = sink;
  }

  /** Called by the protocol at `writeMessageBegin`: starts a message. */
  begin(method: string, type: number, seqid: number): void {
    this.pos = this.#head;
    this.#message = { method, seqid, oneway: type === MessageType.ONEWAY };
  }

  /** Discards the message being written (the generated code calls it when a write throws). */
  reset(): void {
    this.pos = this.#head;
  }

  /** Ends the current message and hands it over (framed when asked). */
  flush(): void {
    const size = this.pos;
    if (this.#head) this.view.setInt32(0, size - 4);
    this.pos = this.#head;
    try {
      this.#sink(this.bytes.subarray(0, size), this.#message);
    } finally {
      this.shrink(size);
    }
  }

  /** Always true: the connection decides whether calls may be sent. */
  isOpen(): boolean {
    return true;
  }
}

const classes: Readonly<Record<ProtocolName, ProtocolClass>> = {
  BINARY: TBinaryProtocol as unknown as ProtocolClass,
  COMPACT: TCompactProtocol as unknown as ProtocolClass,
  JSON: TJSONProtocol as unknown as ProtocolClass,
};

/** Returns the protocol class that reads replies for a name, with i64 values as asked. */
export function readingProtocol(name: ProtocolName, int64: "Int64" | "bigint"): ProtocolClass {
  if (int64 === "Int64") return classes[name];
  const Base = classes[name] as unknown as new (t: unknown, int64: Int64Maker) => object;
  return class extends Base {
    constructor(transport: unknown) {
      super(transport, makeBigint);
    }
  } as unknown as ProtocolClass;
}

/**
 * Returns the protocol class for a name: it tells the output transport each message's
 * header, and with `service` prefixes calls as `TMultiplexedProtocol` does.
 */
export function writingProtocol(
  name: ProtocolName,
  service?: string,
): ProtocolClass {
  const Base = classes[name];
  return class extends Base {
    override writeMessageBegin(
      method: string,
      type: number,
      seqid: number,
    ): void {
      const output = (this as unknown as { getTransport(): unknown })
        .getTransport();
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
