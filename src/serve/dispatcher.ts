/**
 * One request in, one reply out: the generated processor reads a whole request with this
 * library's protocol, calls the handler, and writes the reply (or the exception) with it.
 * Shared by the socket and HTTP sides of the test server.
 *
 * @module
 */
import { type MessageHeader, MessageType, type Protocol } from "../_thrift.ts";
import type { WireProtocol } from "../config.ts";
import { ProtocolError } from "../errors.ts";
import {
  type Framer,
  framerFor,
  OutputTransport,
  readingProtocol,
  writingProtocol,
} from "../protocol.ts";
import type { ReadBuffer } from "../transport/read_buffer.ts";

/** The generated processor, as the server drives it. */
export interface Processor {
  process(input: Protocol, output: Protocol): void;
}

/** A protocol reading requests, which keeps the header of the last one. */
export interface RequestReader extends Protocol {
  /** The header of the request read last. */
  header?: MessageHeader;
}

/** Runs requests through a processor. */
export class Dispatcher {
  readonly #processor: Processor;
  readonly #Reader: new (buffer: ReadBuffer) => RequestReader;
  readonly #Writer: new (output: OutputTransport) => Protocol;
  readonly #framer: Framer;

  /**
   * @param processor The generated processor, made with the recording handler.
   * @param protocol The protocol of requests and replies.
   * @param framed Prefix each reply with its length.
   */
  constructor(processor: Processor, protocol: WireProtocol, framed: boolean) {
    this.#processor = processor;
    this.#framer = framerFor({ protocol, framed });
    // The processor ends each reply with the protocol's `flush()`: the transport's, here.
    this.#Writer = class extends writingProtocol(protocol) {
      readonly #output: OutputTransport;

      constructor(output: OutputTransport) {
        super(output);
        this.#output = output;
      }

      flush(): void {
        this.#output.flush();
      }
    };
    const Base = readingProtocol(protocol, "Int64");
    this.#Reader = class extends Base implements RequestReader {
      header?: MessageHeader;

      override readMessageBegin(): MessageHeader {
        const header = super.readMessageBegin();
        if (header.mtype !== MessageType.CALL && header.mtype !== MessageType.ONEWAY) {
          throw new ProtocolError(
            `Invalid request: message "${header.fname}" has type ${header.mtype}, expected a call`,
          );
        }
        return this.header = header;
      }
    };
  }

  /** Returns a reader of the requests in `buffer`, to pass to {@link dispatch}. */
  reader(buffer: ReadBuffer): RequestReader {
    return new this.#Reader(buffer);
  }

  /**
   * Reads the request at `reader`'s position, whole, before returning, and calls the
   * handler.
   *
   * @returns The reply's bytes (framed when asked) once the handler has settled, or
   *   undefined for a oneway call.
   * @throws {Error} what reading threw when the bytes are not a call.
   */
  dispatch(reader: RequestReader): Promise<Uint8Array<ArrayBuffer> | undefined> {
    const { promise, resolve } = Promise.withResolvers<Uint8Array<ArrayBuffer> | undefined>();
    const output = new OutputTransport(this.#framer, (bytes) => resolve(bytes.slice()));
    this.#processor.process(reader, new this.#Writer(output));
    if (reader.header?.mtype === MessageType.ONEWAY) resolve(undefined); // nothing is written
    return promise;
  }
}
