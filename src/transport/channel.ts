/**
 * The contract between a connection and what carries its messages: a socket channel (one
 * byte stream for many calls) or an HTTP channel (one POST per call).
 *
 * @module
 */

/** A call's headers: a `Map`, a `Headers`, `[name, value]` pairs, or a record. */
export type InfoHeaders =
  | Iterable<readonly [string, string]>
  | Readonly<Record<string, string>>;

/** A call's headers as `[name, value]` pairs, in their order. */
export function headerPairs(headers: InfoHeaders): (readonly [string, string])[] {
  return Symbol.iterator in headers
    ? [...headers as Iterable<readonly [string, string]>]
    : Object.entries(headers);
}

/** What the connection learns about each outgoing message. */
export interface OutgoingMessage {
  /** The method name, without the multiplexing prefix. */
  readonly method: string;
  /** The sequence id the reply will carry. */
  readonly seqid: number;
  /** True for oneway calls, which get no reply. */
  readonly oneway: boolean;
  /**
   * The call's own headers: HTTP request headers over http(s), info headers in a THeader
   * frame; other framings ignore them.
   */
  readonly headers?: InfoHeaders;
}

/** Where a channel delivers what it receives. */
export interface ReplySink {
  /**
   * Socket bytes in order. A `whole` chunk is exactly one frame, and the sink's to keep;
   * any other is valid only until `bytes` returns.
   */
  bytes(chunk: Uint8Array, whole: boolean): void;
  /** An HTTP response body answering the call with this sequence id, and its headers. */
  reply(seqid: number, body: Uint8Array, headers: Headers): void;
  /** The call with this sequence id failed on its own (HTTP). */
  callFailed(seqid: number, error: Error): void;
  /** The channel is gone; every call still waiting must settle. Called at most once. */
  closed(error?: Error): void;
}

/** Carries serialized messages to the server. */
export interface Channel {
  /**
   * Sends one serialized (and, when framed, length-prefixed) message whose reply is due
   * within `timeout` ms (a channel that holds resources per call releases them by then).
   */
  send(bytes: Uint8Array, message: OutgoingMessage, timeout: number, defer?: boolean): void;
  /** Sends what is queued, then closes; never rejects. */
  end(): Promise<void>;
  /** Closes at once. */
  close(): void;
  /** Lets the process exit while the channel is open and idle (a pooled channel). */
  unref?(): void;
  /** Undoes `unref()`. */
  ref?(): void;
  /**
   * What the connection using the channel keeps with it across leases (a pooled channel's
   * slot lives as long as the channel; set it to keep something).
   */
  memo?: { value?: unknown };
}
