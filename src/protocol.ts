/**
 * The write side the generated client talks to: a protocol class that notes each message's
 * header (and adds the multiplexing prefix), and an output transport that hands each whole
 * message, framed as the endpoint asks (4-byte frames, THeader frames, or none), to the
 * connection.
 *
 * @module
 */
import { MessageType, type ProtocolClass } from "./_thrift.ts";
import type { Endpoint, WireProtocol } from "./config.ts";
import { TBinaryProtocol } from "./protocol/binary.ts";
import { TCompactProtocol } from "./protocol/compact.ts";
import { HeaderFramer } from "./protocol/header.ts";
import type { InfoHeaders, OutgoingMessage } from "./transport/channel.ts";
import { TJSONProtocol } from "./protocol/json.ts";
import { WriteBuffer } from "./transport/write_buffer.ts";
import { type Int64Maker, makeBigint } from "./protocol/_values.ts";

export type { InfoHeaders, OutgoingMessage } from "./transport/channel.ts";

/** Receives each serialized message from the output transport. */
export type MessageSink = (bytes: Uint8Array, message: OutgoingMessage) => void;

/** How each message is framed in the output buffer. */
export interface Framer {
  /** Writes what precedes a message's payload at byte 0; returns where the payload starts. */
  begin(out: WriteBuffer, message: OutgoingMessage): number;
  /** Completes the message whose payload is `out.bytes[start, out.pos)`; returns its length. */
  end(out: WriteBuffer, start: number): number;
}

/** No framing: the message is its payload. */
const UNFRAMED: Framer = {
  begin: () => 0,
  end: (out) => out.pos,
};

/** `TFramedTransport`: the payload's length as a big-endian i32, then the payload. */
const FRAMED: Framer = {
  begin: () => 4,
  end(out) {
    out.view.setInt32(0, out.pos - 4);
    return out.pos;
  },
};

/**
 * Returns the framing of an endpoint's messages: THeader's, `TFramedTransport`'s, or none.
 *
 * @param endpoint Its protocol, `framed` and THeader settings.
 * @returns The framer its output transport uses.
 */
export function framerFor(
  endpoint: Pick<Endpoint, "protocol" | "framed"> & Partial<Pick<Endpoint, "header">>,
): Framer {
  if (endpoint.header) return new HeaderFramer(endpoint.protocol, endpoint.header.zlib);
  return endpoint.framed ? FRAMED : UNFRAMED;
}

/**
 * The transport object the generated client writes to (`new Client(output, pClass)`): one
 * growable buffer per connection, reused across messages. The sink gets a view on it that
 * is valid only until the sink returns: it copies what it keeps.
 */
export class OutputTransport extends WriteBuffer {
  /**
   * The headers of the message written next: the connection sets them around the one
   * synchronous write of a call (and clears them after), `begin()` puts them in the
   * {@link OutgoingMessage}, and the framer writes them (THeader info headers).
   */
  headers: InfoHeaders | undefined;
  #message: OutgoingMessage = { method: "", seqid: 0, oneway: false };
  #start = 0;
  readonly #framer: Framer;
  readonly #sink: MessageSink;

  /**
   * @param framer How each message is framed (see {@link framerFor}).
   * @param sink Receives each whole message.
   */
  constructor(framer: Framer, sink: MessageSink) {
    super();
    this.#framer = framer;
    this.#sink = sink;
    // At a payload's start from the first, as after each flush (a protocol used without
    // `begin()`, as in the protocol tests, writes there).
    this.pos = this.#start = framer.begin(this, this.#message);
  }

  /** Called by the protocol at `writeMessageBegin`: starts a message. */
  begin(method: string, type: number, seqid: number): void {
    const oneway = type === MessageType.ONEWAY;
    const headers = this.headers;
    this.#message = headers ? { method, seqid, oneway, headers } : { method, seqid, oneway };
    this.pos = 0;
    this.pos = this.#start = this.#framer.begin(this, this.#message);
  }

  /** Discards the message being written (the generated code calls it when a write throws). */
  reset(): void {
    this.pos = this.#start;
  }

  /** Ends the current message and hands it over, framed. */
  flush(): void {
    const size = this.#framer.end(this, this.#start);
    this.pos = this.#start;
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

const classes: Readonly<Record<WireProtocol, ProtocolClass>> = {
  BINARY: TBinaryProtocol as unknown as ProtocolClass,
  COMPACT: TCompactProtocol as unknown as ProtocolClass,
  JSON: TJSONProtocol as unknown as ProtocolClass,
};

/** Returns the protocol class that reads replies for a name, with i64 values as asked. */
export function readingProtocol(name: WireProtocol, int64: "Int64" | "bigint"): ProtocolClass {
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
  name: WireProtocol,
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
