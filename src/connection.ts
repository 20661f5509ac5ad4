/**
 * One connection: a channel, the generated client writing to it, and the calls in flight,
 * matched to replies by sequence id. Every call settles through one path (`#settle`).
 *
 * @module
 */
import { minArgs } from "./_service_class.ts";
import type { Caller, ConnectionHooks, ConnectionKit, SendOptions } from "./connection_kit.ts";
import { Deadlines } from "./deadlines.ts";
import type { EndpointState } from "./balancer.ts";
import { ClosedError, ConnectError, invalidReply, TimeoutError, TransportError } from "./errors.ts";
import { framerFor, type OutgoingMessage, OutputTransport } from "./protocol.ts";
import { type RawClient, ReplyReader } from "./reply_reader.ts";
import type { Lease } from "./pool.ts";
import type { Channel, ReplySink } from "./transport/channel.ts";

/**
 * What a connection builds per channel: the generated client and its output buffer, the
 * deadlines, the reply reader. A pooled channel keeps its engine across leases (it is given
 * back only when clean), and shares it between the connections that lease it at once
 * (`pipelining`): each call belongs to the connection that made it (`owners`).
 */
interface Engine {
  /** The connection whose call the generated client is writing (it writes synchronously). */
  sender: Connection<unknown>;
  /** The connection of each call in flight, by sequence id. */
  readonly owners: Map<number, Connection<unknown>>;
  /** A call timed out or was aborted and may still be answered: never reuse it clean. */
  tainted: boolean;
  /** With several endpoints: the endpoint's health, told of every reply. */
  readonly health: EndpointState | undefined;
  output: OutputTransport;
  raw: RawClient;
  deadlines: Deadlines;
  replies: ReplyReader;
}

/** The connection a call belongs to (the sender's, for a call it has not registered yet). */
function ownerOf(engine: Engine, seqid: number): Connection<unknown> {
  return engine.owners.get(seqid) ?? engine.sender;
}

let build: <C>(kit: ConnectionKit, hooks?: ConnectionHooks) => Connection<C>;

/** A new connection of `ThriftClient`'s (the class's constructor is private). */
export function newConnection<C>(kit: ConnectionKit, hooks?: ConnectionHooks): Connection<C> {
  return build(kit, hooks);
}

const MAX_SEQID = 2 ** 31 - 1;
type State = "idle" | "opening" | "open" | "closing" | "closed";

/**
 * An open (or opening) connection to a Thrift service. Use `using` / `await using`, or
 * `open()` and `close()`. Calls made while it opens wait for it.
 */
export class Connection<C> implements Caller {
  /** The generated client, bound to this connection. */
  readonly client: C;
  /** The client's kit (with several endpoints: its balancer); `#kit` is the endpoint's. */
  readonly #home: ConnectionKit;
  #kit: ConnectionKit;
  /** With several endpoints: the one this connection uses now. */
  #health: EndpointState | undefined;
  #state: State = "idle";
  #drained: (() => void) | undefined;
  #raw!: RawClient;
  #output!: OutputTransport;
  #channel: Channel | undefined;
  #replies!: ReplyReader;
  #deadlines!: Deadlines;
  #engine: Engine | undefined;
  /** The pool's lease, when the channel is leased. */
  #lease: Lease | undefined;
  /** This connection's calls in flight (the engine may carry other connections' too). */
  #inFlight = 0;
  #closeReason: Error | undefined;
  /** Ended gracefully: the close reason is made only if a later call asks (an Error costs a stack). */
  #ended = false;
  #aborted: { reason: unknown } | undefined;
  #ending: Promise<void> | undefined;
  #gate: PromiseWithResolvers<void> & { dial: AbortController } | undefined;
  readonly #hooks: ConnectionHooks;
  readonly #timeout: number;
  #callTimeout: number | undefined;
  readonly #unlinks = new Map<number, () => void>();
  /** Calls that asked for their reply's info headers (`SendOptions.onReplyHeaders`). */
  readonly #replyHeaders = new Map<number, (headers: ReadonlyMap<string, string>) => void>();
  /** The channel is leased from the pool: ending gives it back. */
  #leased = false;

  static {
    build = (kit, hooks) => new Connection(kit, hooks);
  }

  // Made by `ThriftClient` (`connect()`, `autoconnect()`, `transport`) through `newConnection`.
  private constructor(kit: ConnectionKit, hooks: ConnectionHooks = {}) {
    this.#home = kit;
    this.#kit = kit;
    this.#hooks = hooks;
    this.#timeout = hooks.timeout ?? kit.endpoint.timeout;
    this.client = kit.facade(this) as C;
  }

  /** A new engine; its callbacks go to whichever connection owns it at the time. */
  #newEngine(): Engine {
    const { endpoint, ServiceClient, writer } = this.#kit;
    const output = new OutputTransport(
      framerFor(endpoint),
      (bytes, message) => engine.sender.#send(bytes, message),
    );
    const raw = new ServiceClient(output as never, writer as never) as RawClient;
    const deadlines = new Deadlines((seqid, method, timeout) =>
      ownerOf(engine, seqid).#expired(seqid, method, timeout)
    );
    const engine: Engine = {
      sender: this as Connection<unknown>,
      owners: new Map(),
      tainted: false,
      health: this.#health,
      output,
      raw,
      deadlines,
      replies: new ReplyReader(
        this.#kit,
        raw,
        deadlines,
        (seqid, error, result, headers) => {
          engine.health?.ok();
          ownerOf(engine, seqid).#settle(seqid, error, result, headers);
        },
      ),
    };
    return engine;
  }

  /** Takes the engine's parts as this connection's. */
  #adopt(engine: Engine): void {
    this.#engine = engine;
    this.#raw = engine.raw;
    this.#output = engine.output;
    this.#deadlines = engine.deadlines;
    this.#replies = engine.replies;
  }

  #expired(seqid: number, method: string, timeout: number): void {
    this.#abandon(seqid);
    this.#settle(
      seqid,
      new TimeoutError(
        `Call "${method}" to "${this.#kit.endpoint.label}" got no reply within ${timeout} ms`,
      ),
    );
  }

  /** Where the connection is in its life: idle, opening, open, closing or closed. */
  get state(): "idle" | "opening" | "open" | "closing" | "closed" {
    return this.#state;
  }

  /** Closed now; a leased engine's (unref'd) deadline timer is the pool's to keep. */
  #closedNow(): void {
    this.#state = "closed";
    if (this.#health) {
      this.#home.balancer!.leave(this.#health);
      this.#health = undefined;
    }
    if (!this.#leased) this.#deadlines?.stop();
    this.#hooks.closed?.();
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
    this.#ended = false;
    this.#aborted = undefined;
    this.#inFlight = 0;
    this.#hooks.opened?.();
    this.#lease = undefined;
    if (!this.#home.balancer) this.#prepare(this.#home); // else once an endpoint is picked
    // Calls made meanwhile wait on this gate; a close rejects it at once.
    const gate = Object.assign(Promise.withResolvers<void>(), { dial: new AbortController() });
    gate.promise.catch(() => {});
    this.#gate = gate;
    this.#openChannel(gate.dial.signal).then((channel) => {
      if (this.#gate !== gate) return channel.close(); // closed while opening
      if (this.#leased) {
        const memo = channel.memo ?? {};
        this.#adopt((memo.value ??= this.#newEngine()) as Engine);
        channel.memo = memo;
        this.#lease = channel as Lease;
      }
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

  /** Uses an endpoint's kit; a leased channel brings its engine, others get a new one. */
  #prepare(kit: ConnectionKit): void {
    this.#kit = kit;
    this.#leased = Boolean(this.#hooks.pooled && kit.pool && !kit.endpoint.httpUrl);
    if (!this.#leased) this.#adopt(this.#newEngine());
  }

  async #openChannel(cancel: AbortSignal): Promise<Channel> {
    const sink: ReplySink = {
      bytes: (chunk, whole) => this.#receive(chunk, whole),
      reply: (seqid, body, headers) => this.#httpReply(seqid, body, headers),
      callFailed: (seqid, error) => this.#settle(seqid, error),
      closed: (error) => this.#lost(error),
    };
    const balancer = this.#home.balancer;
    if (!balancer) return this.#dial(sink, cancel);
    // A connect that fails never reached a server: another endpoint is tried, each once.
    const tried = this.#hooks.tried ?? new Set<EndpointState>();
    for (;;) {
      const state = await balancer.pick(tried);
      tried.add(state); // and its load counts this connection now
      this.#health = state;
      this.#prepare(state.kit);
      try {
        cancel.throwIfAborted(); // closed while picking: leaving it ends a probe
        return await this.#dial(sink, cancel);
      } catch (error) {
        this.#health = undefined;
        const refused = error instanceof ConnectError && !cancel.aborted;
        if (refused) state.failed(); // before leaving it: a failed probe is a verdict
        balancer.leave(state);
        if (!refused) throw error;
        if (tried.size >= balancer.size || !this.#home.budget!.withdraw()) throw error;
      }
    }
  }

  #dial(sink: ReplySink, cancel: AbortSignal): Promise<Channel> {
    return this.#leased ? this.#kit.pool!.acquire(sink, cancel) : this.#kit.open(sink, cancel);
  }

  /**
   * Runs a generated method once open; rejects at once when closed.
   *
   * @param method The generated client's method.
   * @param args Its arguments.
   * @param options The call's deadline and signal, and its THeader info headers both ways
   *   (`headers` sent with its message, `onReplyHeaders` told those of its reply).
   * @returns What the generated method resolves with.
   */
  call(method: string, args: unknown[], options?: SendOptions): Promise<unknown> {
    switch (this.#state) {
      case "open":
        return this.#start(method, args, options);
      case "opening":
        return this.#afterOpen(this.#gate!.promise, method, args, options);
      case "idle":
        return this.#afterOpen(this.open(), method, args, options);
      default:
        return Promise.reject(this.#aborted ? this.#aborted.reason : this.#closedError(method));
    }
  }

  /** A call made while opening: it starts once open; its signal can reject it before. */
  #afterOpen(
    opened: Promise<void>,
    method: string,
    args: unknown[],
    options?: SendOptions,
  ): Promise<unknown> {
    const next = opened.then(() => this.call(method, args, options));
    const signal = options?.signal;
    if (!signal) return next;
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal.reason); // `#start` then sends nothing
      signal.addEventListener("abort", onAbort, { once: true });
      next.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  }

  /** The one place a call starts: sequence id, deadline, per-call signal, info headers. */
  #start(method: string, args: unknown[], options?: SendOptions): Promise<unknown> {
    const raw = this.#raw;
    const fn = raw[method] as (...args: unknown[]) => Promise<unknown>;
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (args.length < fn.length) {
      const least = minArgs(raw.constructor, method, fn.length);
      if (args.length < least) {
        const takes = least < fn.length ? `${least} to ${fn.length}` : `${least}`;
        return Promise.reject(
          new TypeError(
            `Cannot call "${method}" on "${this.#kit.endpoint.label}": it takes ${takes} arguments, got ${args.length}`,
          ),
        );
      }
    }
    // Sequence ids stay within i32 and never reuse one still in flight.
    while (raw._seqid >= MAX_SEQID || raw._reqs[raw._seqid + 1]) {
      raw._seqid = raw._seqid >= MAX_SEQID ? 0 : raw._seqid + 1;
    }
    // The generated method writes its one message synchronously: these apply to it alone.
    this.#callTimeout = options?.timeout;
    this.#output.headers = options?.headers;
    this.#engine!.sender = this as Connection<unknown>;
    let result: Promise<unknown>;
    try {
      result = fn.apply(raw, args);
    } finally {
      this.#callTimeout = undefined;
      this.#output.headers = undefined;
    }
    const seqid = raw._seqid;
    if (!raw._reqs[seqid]) return result; // oneway: settled once sent
    this.#engine!.owners.set(seqid, this as Connection<unknown>);
    this.#inFlight++;
    const onReplyHeaders = options?.onReplyHeaders;
    if (onReplyHeaders) this.#replyHeaders.set(seqid, onReplyHeaders);
    if (signal) {
      const onAbort = () => {
        this.#abandon(seqid);
        this.#settle(seqid, signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#unlinks.set(seqid, () => signal.removeEventListener("abort", onAbort));
    }
    return result;
  }

  #closedError(method: string): ClosedError {
    const label = this.#kit.endpoint.label;
    const state = this.#state === "closing" ? "closing" : "closed";
    return new ClosedError(
      `Cannot call "${method}" on "${label}": the connection is ${state}`,
      {
        cause: this.#closeReason ??= this.#ended
          ? new ClosedError(`Connection to "${label}" was closed`)
          : undefined,
      },
    );
  }

  #send(bytes: Uint8Array, message: OutgoingMessage): void {
    const timeout = this.#callTimeout ?? this.#timeout;
    if (!message.oneway) this.#deadlines.add(message.seqid, message.method, timeout);
    this.#channel!.send(bytes, message, timeout);
  }

  /** A timed-out or aborted call: its late reply is skipped, and the connection is tainted. */
  #abandon(seqid: number): void {
    this.#engine!.tainted = true;
    this.#replies.abandon(seqid);
    this.#lease?.taint();
  }

  /**
   * The one settle path: forgets the deadline, hands a reply's info headers to the call that
   * asked for them, then resolves or rejects the caller.
   */
  #settle(
    seqid: number,
    error: unknown,
    result?: unknown,
    replyHeaders?: ReadonlyMap<string, string>,
  ): void {
    const callback = this.#raw._reqs[seqid];
    if (!callback) return;
    delete this.#raw._reqs[seqid];
    this.#deadlines.delete(seqid);
    if (this.#engine!.owners.delete(seqid)) {
      this.#inFlight--;
      this.#lease?.settled();
    }
    const unlink = this.#unlinks.get(seqid);
    if (unlink) {
      this.#unlinks.delete(seqid);
      unlink();
    }
    if (this.#replyHeaders.size > 0) {
      const onReplyHeaders = this.#replyHeaders.get(seqid);
      this.#replyHeaders.delete(seqid);
      try {
        if (onReplyHeaders && replyHeaders) onReplyHeaders(replyHeaders);
      } catch (thrown) {
        [error, result] = [thrown, undefined]; // the call rejects with it
      }
    }
    callback(error, result);
    if (this.#inFlight === 0) this.#drained?.();
  }

  #receive(chunk: Uint8Array, whole: boolean): void {
    try {
      this.#replies.receive(chunk, whole);
    } catch (error) {
      this.#fail(error);
    }
  }

  #httpReply(seqid: number, body: Uint8Array, headers: Headers): void {
    // The response's headers (names in lower case), for a call that asked for its reply's.
    const received = this.#replyHeaders.has(seqid) ? new Map(headers) : undefined;
    try {
      this.#replies.httpReply(seqid, body, received);
    } catch (error) {
      this.#settle(seqid, this.#protocolError(error), undefined, received);
    }
  }

  #protocolError(error: unknown): Error {
    return invalidReply(error, this.#kit.endpoint.label);
  }

  /** Bytes that are not valid replies: the channel is lost for every connection on it. */
  #fail(error: unknown): void {
    const reason = this.#protocolError(error);
    if (this.#lease && this.#channel) this.#lease.abort(reason); // each lease gets closed()
    else this.#lost(reason);
  }

  /** The channel is gone: reject what waits (an open in progress too), forget the channel. */
  #lost(error?: Error): void {
    if (this.#state === "closed" && !this.#channel) return;
    if (error || this.#inFlight > 0) this.#health?.failed(); // a transport failure
    const channel = this.#channel;
    this.#channel = undefined;
    this.#closedNow();
    this.#closeReason ??= error;
    channel?.close(); // a pooled channel is discarded
    if (this.#gate) { // bytes or an error while opening: the dial's channel is closed on arrival
      this.#gate.reject(
        this.#closeReason ??
          new ClosedError(`Connection to "${this.#kit.endpoint.label}" was closed while opening`),
      );
      this.#gate.dial.abort(this.#closeReason);
      this.#gate = undefined;
    }
    this.#rejectAll(
      error ??
        new TransportError(
          `Connection to "${this.#kit.endpoint.label}" was closed by the server before the reply`,
        ),
    );
  }

  /** Rejects this connection's calls in flight (not those of others sharing the channel). */
  #rejectAll(error: unknown): void {
    for (const [seqid, owner] of this.#engine?.owners ?? []) {
      if (owner === this) this.#settle(seqid, error);
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
    if (this.#inFlight > 0) {
      await new Promise<void>((resolve) => this.#drained = resolve);
    }
    this.#drained = undefined;
    const channel = this.#channel;
    this.#channel = undefined;
    this.#ended = true; // the close reason, if ever needed, is made by #closedError
    // A reply still owed, or bytes read while no call is in flight on the channel (part of an
    // unsolicited message): not clean enough to reuse. Another connection's reply arriving on a
    // shared channel is not that.
    const engine = this.#engine!;
    const unclean = engine.tainted || (this.#replies.pending > 0 && engine.owners.size === 0);
    this.#closedNow(); // a pooled engine keeps its timer: the next lease, or a sharer, uses it
    if (!channel) return;
    if (this.#leased) return unclean ? channel.close() : void channel.end(); // gives it back
    await endWithin(channel, this.#kit.endpoint.timeout);
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
