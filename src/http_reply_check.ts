/**
 * The check of an HTTP response body before its call settles: exactly one reply to that call.
 * It reads protocols, so it lives above the transport, which is handed it.
 *
 * @module
 */
import { InputBufferUnderrunError, type MessageHeader, MessageType } from "./_thrift.ts";
import type { Endpoint } from "./config.ts";
import { invalidReply, printable, ProtocolError, replyTooLarge, truncatedReply } from "./errors.ts";
import { type OutgoingMessage, readingProtocol } from "./protocol.ts";
import { NEED_MORE, newScanner, TOO_LARGE } from "./protocol/scanner.ts";
import { ReadBuffer } from "./transport/read_buffer.ts";

/**
 * Refuses a body that is not exactly one reply to `message` (its sequence id, its method, a
 * REPLY or EXCEPTION): a response must settle its own call, never another one in flight. Only
 * the header is parsed here; the scanner finds where the message ends (what is inside it is
 * the generated reader's to read, once).
 */
export function checkHttpReply(
  endpoint: Pick<Endpoint, "label" | "maxMessageSize" | "protocol">,
  message: OutgoingMessage,
  body: Uint8Array,
): void {
  const label = endpoint.label;
  const buffer = new ReadBuffer(endpoint.maxMessageSize);
  buffer.adopt(body); // only read: the reply reader adopts the same bytes next
  const size = buffer.scan(newScanner(endpoint.protocol));
  if (size === NEED_MORE) throw truncatedReply(label);
  if (size === TOO_LARGE) throw replyTooLarge(label, endpoint.maxMessageSize);
  const protocol = new (readingProtocol(endpoint.protocol, "Int64"))(buffer);
  let header: MessageHeader;
  try {
    header = protocol.readMessageBegin();
  } catch (error) {
    if (error instanceof InputBufferUnderrunError) {
      throw truncatedReply(label);
    }
    throw invalidReply(error, label);
  }
  const name = String(header.fname).replace(/^.*:/, "");
  const type = header.mtype;
  const wrong = type !== MessageType.REPLY && type !== MessageType.EXCEPTION
    ? `message type ${type}`
    : header.rseqid !== message.seqid
    ? `sequence id ${header.rseqid}`
    : name !== message.method
    ? `method "${printable(name)}"`
    : undefined;
  if (wrong) {
    throw new ProtocolError(
      `Reply to "${message.method}" (sequence id ${message.seqid}) from "${label}" has ${wrong}`,
    );
  }
  const rest = body.subarray(size);
  if (rest.some((c) => c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09)) {
    throw new ProtocolError(
      `Reply to "${message.method}" from "${label}" has ${rest.length} bytes after its message`,
    );
  }
}
