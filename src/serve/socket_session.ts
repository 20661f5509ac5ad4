/**
 * One connection of the test server over a socket: requests are cut out of the bytes by
 * frame, or unframed by the resumable scanner (each parsed once, whole), dispatched as they
 * arrive, and answered in the order they came. Bytes that are not requests close it.
 *
 * @module
 */
import type { WireProtocol } from "../config.ts";
import { ProtocolError } from "../errors.ts";
import { NEED_MORE, newScanner, TOO_LARGE } from "../protocol/scanner.ts";
import type { ByteStream, StreamHandlers } from "../transport/byte_stream.ts";
import { FrameDecoder } from "../transport/framing.ts";
import { ReadBuffer } from "../transport/read_buffer.ts";
import type { Dispatcher } from "./dispatcher.ts";

/** How a session reads its connection. */
export interface SessionSettings {
  readonly dispatcher: Dispatcher;
  readonly protocol: WireProtocol;
  readonly framed: boolean;
  /** The server's URL, for error messages. */
  readonly label: string;
}

/**
 * Serves the requests arriving on `stream`.
 *
 * @param stream The accepted connection.
 * @param settings The dispatcher, and how requests are delimited.
 * @param onClose Called once, when the connection has closed.
 * @returns The handlers to give the connection's bytes to.
 */
export function socketSession(
  stream: ByteStream,
  settings: SessionSettings,
  onClose: () => void,
): StreamHandlers {
  const { dispatcher, label } = settings;
  const buffer = new ReadBuffer();
  const reader = dispatcher.reader(buffer);
  const frames = settings.framed ? new FrameDecoder(buffer.maxMessageSize, label) : undefined;
  const scanner = newScanner(settings.protocol);
  let replies = Promise.resolve();

  const run = (size: number): void => {
    const reply = dispatcher.dispatch(reader);
    if (buffer.consumed !== size) {
      throw new ProtocolError(
        `Invalid request to "${label}": the message ends at byte ${size}, its reader stopped at byte ${buffer.consumed}`,
      );
    }
    buffer.commit();
    replies = replies.then(() => reply).then((bytes) => bytes && stream.write(bytes));
  };
  const receive = (chunk: Uint8Array): void => {
    if (frames) {
      return frames.push(chunk, (frame) => {
        buffer.adopt(frame);
        run(frame.length);
      });
    }
    buffer.append(chunk);
    while (buffer.pending > 0) {
      const size = buffer.scan(scanner);
      if (size === NEED_MORE) return buffer.reserve(scanner.wanted);
      if (size === TOO_LARGE) {
        throw new ProtocolError(
          `Request to "${label}" exceeds the ${buffer.maxMessageSize} byte limit`,
        );
      }
      scanner.reset();
      run(size);
    }
  };
  return {
    onData(chunk: Uint8Array): void {
      try {
        receive(chunk);
      } catch { // not a request: nothing more on this connection can be trusted
        stream.close();
      }
    },
    onClose,
  };
}
