/**
 * One connection: a channel, the generated client writing to it, and the calls in flight,
 * matched to replies by sequence id. Every call settles through one path (`#settle`).
 *
 * @module
 */
import { InputBufferUnderrunError, type Protocol, type ProtocolClass, STRUCT } from "./_thrift.ts";
import type { Endpoint } from "./config.ts";
import { Deadlines } from "./deadlines.ts";
import {
  ClosedError,
  ProtocolError,
  ThriftClientError,
  TimeoutError,
  TransportError,
} from "./errors.ts";
import { type OutgoingMessage, OutputTransport } from "./protocol.ts";
import type { Runtime } from "./transport/byte_stream.ts";
import type { Channel, ReplySink } from "./transport/channel.ts";
import { httpChannel } from "./transport/http.ts";
import { ReadBuffer } from "./transport/read_buffer.ts";
import { openSocketChannel } from "./transport/socket_channel.ts";

/** A generated Thrift client class, as `thrift --gen js:node,es6` writes it. */
export type ServiceClientClass<C> = new (output: never, pClass: never) => C;

/** Something that runs a named client method. */
export interface Caller {
  /** Runs `method(...args)` on a generated client and returns its promise. */
  call(method: string, args: unknown[]): Promise<unknown>;
}

type Callback = (error: unknown, result?: unknown) => void;

interface RawClient {
  _seqid: number;
  _reqs: Record<string, Callback | undefined>;
  [method: string]: unknown;
}

/** The shared, per-endpoint pieces every connection of one ThriftClient uses. */
export interface ConnectionKit {
  readonly endpoint: Endpoint;
  readonly runtime: Runtime;
  readonly ServiceClient: ServiceClientClass<unknown>;
  /** The protocol class the generated client writes with. */
  readonly writer: ProtocolClass;
  /** The protocol class replies are read with. */
  readonly reader: ProtocolClass;
  /** Builds the typed facade whose methods go through a caller. */
  readonly facade: (caller: Caller) => unknown;
}

const RECV = "thrift-client:reply";
type State = "idle" | "opening" | "open" | "closing" | "closed";

/**
 * An open (or opening) connection to a Thrift service. Use `using` / `await using`, or
 * `open()` and `close()`. Calls made while it opens wait for it.
 */
export class Connection<C> implements Caller {
  /** The generated client, bound to this connection. */
  readonly client: C;
  readonly #kit: ConnectionKit;
  #state: State = "idle";
  #drained: (() => void) | undefined;
  #raw!: RawClient;
  #channel: Channel | undefined;
  #buffer = new ReadBuffer();
  #protocol!: Protocol;
  readonly #deadlines: Deadlines;
  #abandoned = new Set<number>();
  #closeReason: Error | undefined;
  #aborted: { reason: unknown } | undefined;
  #ending: Promise<void> | undefined;
  #gate: PromiseWithResolvers<void> & { dial: AbortController } | undefined;
  readonly #onClosed: (() => void) | undefined;

  /** Made by `ThriftClient`; not meant to be built by hand. */
  constructor(kit: ConnectionKit, onClosed?: () => void) {
    this.#kit = kit;
    this.#onClosed = onClosed;
    this.client = kit.facade(this) as C;
    const { timeout, label } = kit.endpoint;
    this.#deadlines = new Deadlines(timeout, (seqid, method) => {
      this.#abandon(seqid);
      this.#settle(
        seqid,
        new TimeoutError(`Call "${method}" to "${label}" got no reply within ${timeout} ms`),
      );
    });
  }

  /** Where the connection is in its life: idle, opening, open, closing or closed. */
  get state(): "idle" | "opening" | "open" | "closing" | "closed" {
    return this.#state;
  }

  #closedNow(): void {
    this.#state = "closed";
    this.#deadlines.stop();
    this.#onClosed?.();
  }

  /** True once open and until closed. */
  isOpen(): boolean {
    return this.#state === "open";
  }

  /**
   * Opens the connection (again, after a close); resolves when calls can be sent.
   *
   * @throws {ConnectError} when the server cannot be reached.
   */
  open(): Promise<void> {
    if (this.#state === "open" || this.#state === "opening") return this.#gate!.promise;
    if (this.#state === "closing") {
      return Promise.reject(
        new ClosedError(
          `Cannot open "${this.#kit.endpoint.label}": it is closing`,
        ),
      );
    }
    this.#state = "opening";
    this.#closeReason = undefined;
    this.#aborted = undefined;
    this.#abandoned.clear();
    this.#buffer = new ReadBuffer(this.#kit.endpoint.maxMessageSize);
    this.#protocol = new this.#kit.reader(this.#buffer, true, true);
    this.#raw = this.#newClient();
    // Calls made meanwhile wait on this gate; a close rejects it at once.
    const gate = Object.assign(Promise.withResolvers<void>(), { dial: new AbortController() });
    gate.promise.catch(() => {});
    this.#gate = gate;
    this.#openChannel(gate.dial.signal).then((channel) => {
      if (this.#gate !== gate) return channel.close(); // closed while opening
      this.#channel = channel;
      this.#state = "open";
      gate.resolve();
    }, (error) => {
      if (this.#gate === gate) {
        this.#closeReason = error;
        this.#closedNow();
      }
      gate.reject(error);
    });
    return gate.promise;
  }

  #newClient(): RawClient {
    const output = new OutputTransport(
      this.#kit.endpoint.framed,
      (bytes, message) => this.#send(bytes, message),
    );
    const { ServiceClient, writer } = this.#kit;
    return new ServiceClient(output as never, writer as never) as RawClient;
  }

  #openChannel(cancel: AbortSignal): Promise<Channel> {
    const { endpoint, runtime } = this.#kit;
    const sink: ReplySink = {
      bytes: (chunk, whole) => this.#receive(chunk, whole),
      reply: (seqid, body) => this.#httpReply(seqid, body),
      callFailed: (seqid, error) => this.#settle(seqid, error),
      closed: (error) => this.#lost(error),
    };
    if (endpoint.httpUrl) {
      const fetch = runtime.fetchWith(endpoint.httpTls);
      return Promise.resolve(
        httpChannel(endpoint, endpoint.httpUrl, sink, fetch),
      );
    }
    return openSocketChannel(endpoint, endpoint.target!, sink, runtime, cancel);
  }

  /** Runs a generated method once open; rejects at once when closed. */
  call(method: string, args: unknown[]): Promise<unknown> {
    switch (this.#state) {
      case "open": {
        const fn = this.#raw[method] as (
          ...args: unknown[]
        ) => Promise<unknown>;
        return fn.apply(this.#raw, args);
      }
      case "opening":
        return this.#gate!.promise.then(() => this.call(method, args));
      case "idle":
        return this.open().then(() => this.call(method, args));
      default:
        return Promise.reject(this.#aborted ? this.#aborted.reason : this.#closedError(method));
    }
  }

  #closedError(method: string): ClosedError {
    const label = this.#kit.endpoint.label;
    const state = this.#state === "closing" ? "closing" : "closed";
    return new ClosedError(
      `Cannot call "${method}" on "${label}": the connection is ${state}`,
      {
        cause: this.#closeReason,
      },
    );
  }

  #send(bytes: Uint8Array, message: OutgoingMessage): void {
    if (!message.oneway) {
      this.#deadlines.add(message.seqid, message.method);
    }
    this.#channel!.send(bytes, message);
  }

  /** Remembers a timed-out call so its late reply is skipped; keeps the last 1024. */
  #abandon(seqid: number): void {
    this.#abandoned.add(seqid);
    if (this.#abandoned.size > 1024) {
      this.#abandoned.delete(this.#abandoned.values().next().value!);
    }
  }

  /** The one settle path: forgets the deadline, then resolves or rejects the caller. */
  #settle(seqid: number, error: unknown, result?: unknown): void {
    const callback = this.#raw._reqs[seqid];
    if (!callback) return;
    delete this.#raw._reqs[seqid];
    this.#deadlines.delete(seqid);
    callback(error, result);
    if (this.#deadlines.size === 0) this.#drained?.();
  }

  #receive(chunk: Uint8Array, whole: boolean): void {
    try {
      this.#buffer.append(chunk);
      this.#readReplies(this.#buffer, this.#protocol, whole);
    } catch (error) {
      this.#fail(error);
    }
  }

  #httpReply(seqid: number, body: Uint8Array): void {
    const buffer = new ReadBuffer(this.#kit.endpoint.maxMessageSize);
    buffer.append(body);
    try {
      this.#readReplies(buffer, new this.#kit.reader(buffer, true, true), true);
      if (this.#raw._reqs[seqid]) {
        throw new ProtocolError(
          `No reply to call ${seqid} in the HTTP response`,
        );
      }
    } catch (error) {
      this.#settle(seqid, this.#protocolError(error));
    }
  }

  /** Reads every complete reply in the buffer; `whole` means a partial message is an error. */
  #readReplies(buffer: ReadBuffer, protocol: Protocol, whole: boolean): void {
    while (buffer.pending > 0) {
      try {
        this.#readReply(protocol);
        buffer.commit();
      } catch (error) {
        if (!(error instanceof InputBufferUnderrunError)) throw error;
        buffer.rollback();
        const limit = this.#kit.endpoint.maxMessageSize;
        if (whole) {
          throw new ProtocolError(
            `Truncated reply from "${this.#kit.endpoint.label}"`,
          );
        }
        if (buffer.pending > limit) {
          throw new ProtocolError(
            `Reply from "${this.#kit.endpoint.label}" exceeds the ${limit} byte limit`,
          );
        }
        return;
      }
    }
  }

  #readReply(protocol: Protocol): void {
    const header = protocol.readMessageBegin();
    const seqid = header.rseqid;
    const method = String(header.fname).replace(/^.*:/, "");
    if (!this.#raw._reqs[seqid]) {
      if (!this.#abandoned.delete(seqid)) {
        throw new ProtocolError(
          `Unexpected reply "${method}" with sequence id ${seqid} from "${this.#kit.endpoint.label}"`,
        );
      }
      protocol.skip(STRUCT); // a late reply to a call that timed out
      protocol.readMessageEnd();
      return;
    }
    const recv = this.#raw["recv_" + method];
    if (typeof recv !== "function") {
      throw new ProtocolError(
        `Reply to unknown method "${method}" from "${this.#kit.endpoint.label}"`,
      );
    }
    let outcome: [unknown, unknown] | undefined;
    this.#raw._reqs[RECV] = (error, result) => outcome = [error, result];
    recv.call(this.#raw, protocol, header.mtype, RECV);
    if (outcome) this.#settle(seqid, outcome[0], outcome[1]);
  }

  #protocolError(error: unknown): Error {
    if (error instanceof ThriftClientError) return error;
    const reason = error instanceof Error ? error.message : String(error);
    return new ProtocolError(
      `Invalid reply from "${this.#kit.endpoint.label}": ${reason}`,
      {
        cause: error,
      },
    );
  }

  #fail(error: unknown): void {
    const channel = this.#channel;
    this.#lost(this.#protocolError(error));
    channel?.close();
  }

  /** The channel is gone: reject what waits, forget the channel. */
  #lost(error?: Error): void {
    if (this.#state === "closed" && !this.#channel) return;
    this.#channel = undefined;
    this.#closedNow();
    this.#closeReason ??= error;
    this.#rejectAll(
      error ??
        new TransportError(
          `Connection to "${this.#kit.endpoint.label}" was closed by the server before the reply`,
        ),
    );
  }

  #rejectAll(error: unknown): void {
    for (const key of Object.keys(this.#raw?._reqs ?? {})) {
      const seqid = Number(key);
      if (Number.isInteger(seqid)) this.#settle(seqid, error);
    }
  }

  /** Closes at once; every call in flight rejects with a `ClosedError`. Idempotent. */
  close(): Promise<void> {
    const label = this.#kit.endpoint.label;
    this.#shutdown(new ClosedError(`Call to "${label}" aborted: the connection was closed`));
    return Promise.resolve();
  }

  /**
   * Closes at once like `close()`, but calls in flight reject with `reason` unchanged (as
   * `fetch` does with `signal.reason`). Idempotent.
   *
   * @param reason What the calls in flight reject with.
   */
  abort(reason: unknown): void {
    if (this.#state === "closed") return;
    this.#aborted = { reason };
    this.#shutdown(reason);
  }

  #shutdown(reason: unknown): void {
    if (this.#state === "closed") return;
    if (this.#state === "idle") return this.#closedNow();
    const label = this.#kit.endpoint.label;
    this.#closeReason ??= new ClosedError(`Connection to "${label}" was closed`, {
      cause: reason,
    });
    const channel = this.#channel;
    this.#channel = undefined;
    this.#closedNow();
    this.#gate?.reject(this.#aborted ? this.#aborted.reason : this.#closeReason);
    this.#gate?.dial.abort(this.#closeReason);
    this.#gate = undefined;
    this.#rejectAll(reason);
    channel?.close();
  }

  /**
   * Stops new calls, waits for those in flight (each bounded by its timeout), then closes,
   * sending what is queued first. Idempotent.
   */
  end(): Promise<void> {
    this.#ending ??= this.#end().finally(() => this.#ending = undefined);
    return this.#ending;
  }

  async #end(): Promise<void> {
    if (this.#state === "opening") await this.#gate!.promise.catch(() => {});
    if (this.#state !== "open") return this.close();
    this.#state = "closing";
    if (this.#deadlines.size > 0) {
      await new Promise<void>((resolve) => this.#drained = resolve);
    }
    this.#drained = undefined;
    const channel = this.#channel;
    this.#channel = undefined;
    this.#closeReason ??= new ClosedError(`Connection to "${this.#kit.endpoint.label}" was closed`);
    this.#closedNow();
    if (channel) await endWithin(channel, this.#kit.endpoint.timeout);
  }

  /** Closes at once (see `close()`). */
  [Symbol.dispose](): void {
    void this.close();
  }

  /** Closes gracefully (see `end()`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.end();
  }
}

/** Ends a channel gracefully, or closes it when the peer does not take the bytes in time. */
async function endWithin(channel: Channel, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<void>((resolve) => timer = setTimeout(resolve, ms));
  await Promise.race([channel.end(), late]);
  clearTimeout(timer);
  channel.close();
}
