/**
 * The connection pool: leases open channels to connections, takes back the clean ones and
 * closes the rest. With `pipelining` above 1, several connections (scopes) may lease one
 * channel at once, up to that many calls in flight on it. It knows channels, their leases and
 * their health, not sockets or protocols.
 *
 * @module
 */
import { clearTimeout, setTimeout } from "node:timers";
import type { PoolSettings } from "./config.ts";
import { ClosedError, TimeoutError } from "./errors.ts";
import type { Channel, ReplySink } from "./transport/channel.ts";
import type { ChannelOpener } from "./transport/open_channel.ts";

/** Pool counters, for health endpoints. */
export interface PoolStats {
  /** Connections open or opening (idle and leased). */
  readonly open: number;
  /** Open connections waiting in the pool. */
  readonly idle: number;
  /** Connections handed out (including those still opening). */
  readonly leased: number;
  /** Leases waiting for a free connection. */
  readonly waiting: number;
  /** Connections opened since the pool was made. */
  readonly created: number;
  /** Connections closed as unhealthy or by `close()` / `abort()` (not idle expiry or retirement). */
  readonly discarded: number;
  /** Leases that waited past `acquireTimeout`. */
  readonly timeouts: number;
  /** Calls sent on pooled connections and not settled yet. */
  readonly inFlight: number;
  /** Connections leased by more than one scope now (`pipelining` above 1). */
  readonly shared: number;
}

interface Entry {
  channel: Channel;
  readonly born: number;
  /** The leases on it now: one, or several when shared. */
  readonly sinks: Set<ReplySink>;
  /** Calls sent and not settled, over all its leases. */
  inFlight: number;
  /** A reply is owed to an abandoned call, or a lease ended unclean: no new leases. */
  tainted: boolean;
  /** Closed (its leases are being told). */
  dead: boolean;
  /** What the leasing connections keep with the channel (its engine). */
  readonly memo: { value?: unknown };
  idleTimer?: ReturnType<typeof setTimeout>;
}

/** A leased channel as the pool hands it out: what a connection may tell the pool. */
export interface Lease extends Channel {
  /** A call sent on it has settled (answered, failed, timed out or aborted). */
  settled(): void;
  /** A call on it was abandoned and its reply is owed: it takes no new leases. */
  taint(): void;
  /** The channel broke (a protocol error): every lease on it gets `closed(error)`. */
  abort(error: Error): void;
}

interface Waiter {
  readonly sink: ReplySink;
  readonly resolve: (lease: Lease) => void;
  readonly reject: (error: unknown) => void;
  readonly timer: ReturnType<typeof setTimeout>;
  readonly signal: AbortSignal;
  readonly onAbort: () => void;
}

/** Channels to one endpoint, at most `max` at a time. */
export class Pool {
  readonly #settings: PoolSettings;
  readonly #open: ChannelOpener;
  readonly #label: string;
  readonly #idle: Entry[] = [];
  /** Entries with at least one lease. */
  readonly #leased = new Set<Entry>();
  readonly #waiters: Waiter[] = [];
  #count = 0;
  #created = 0;
  #discarded = 0;
  #timeouts = 0;
  #draining = 0;

  /**
   * @param settings Size and timers.
   * @param open Opens a new channel.
   * @param label The endpoint, for messages.
   */
  constructor(settings: PoolSettings, open: ChannelOpener, label: string) {
    this.#settings = settings;
    this.#open = open;
    this.#label = label;
  }

  /** The counters. */
  get stats(): PoolStats {
    let inFlight = 0;
    let shared = 0;
    for (const entry of this.#leased) {
      inFlight += entry.inFlight;
      if (entry.sinks.size > 1) shared++;
    }
    return {
      open: this.#count,
      idle: this.#idle.length,
      leased: this.#count - this.#idle.length,
      waiting: this.#waiters.length,
      created: this.#created,
      discarded: this.#discarded,
      timeouts: this.#timeouts,
      inFlight,
      shared,
    };
  }

  /**
   * Leases a channel delivering to `sink`: an idle one, a new one below `max`, a shared one
   * below `pipelining` calls in flight, or the next one freed. Its `end()` gives it back, its
   * `close()` gives it back unclean (discarded once no lease is left on it).
   */
  acquire(sink: ReplySink, signal: AbortSignal): Promise<Lease> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.#draining > 0) {
      return Promise.reject(this.#closingError());
    }
    for (let entry = this.#idle.pop(); entry; entry = this.#idle.pop()) {
      clearTimeout(entry.idleTimer);
      if (this.#tooOld(entry)) this.#close(entry, false);
      else return Promise.resolve(this.#lease(entry, sink));
    }
    if (this.#count < this.#settings.max) return this.#create(sink, signal);
    const shared = this.#shareable();
    if (shared) return Promise.resolve(this.#lease(shared, sink));
    return new Promise<Lease>((resolve, reject) => {
      const { acquireTimeout, max } = this.#settings;
      const onAbort = () => {
        this.#forget(waiter);
        reject(signal.reason);
      };
      const timer = setTimeout(() => {
        this.#forget(waiter);
        this.#timeouts++;
        reject(
          new TimeoutError(
            `Cannot lease a connection to "${this.#label}": the pool is exhausted (all ${max} connections leased) after waiting ${acquireTimeout} ms`,
          ),
        );
      }, acquireTimeout);
      timer.unref();
      const waiter: Waiter = { sink, resolve, reject, timer, signal, onAbort };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Closes every idle channel at once; leased ones are closed by their connections. */
  closeIdle(): void {
    for (const entry of this.#idle.splice(0)) this.#close(entry, false);
  }

  /** Refuses new leases while `work` runs (a graceful shutdown), then closes what is idle. */
  async drain(work: Promise<unknown>): Promise<void> {
    this.#draining++;
    for (const waiter of this.#waiters.splice(0)) {
      this.#unwait(waiter);
      waiter.reject(this.#closingError());
    }
    try {
      await work;
    } finally {
      this.#draining--;
      this.closeIdle();
    }
  }

  #closingError(): ClosedError {
    return new ClosedError(`Cannot lease a connection to "${this.#label}": the client is closing`);
  }

  #tooOld(entry: Entry): boolean {
    return performance.now() - entry.born >= this.#settings.maxLifetime;
  }

  /**
   * The least loaded leased channel that may take one more scope, if sharing is on: fewer
   * than `pipelining` scopes hold it and fewer than `pipelining` calls are in flight on it.
   */
  #shareable(): Entry | undefined {
    const { pipelining } = this.#settings;
    if (pipelining <= 1) return undefined;
    let best: Entry | undefined;
    for (const entry of this.#leased) {
      if (
        entry.tainted || entry.dead || entry.inFlight >= pipelining ||
        entry.sinks.size >= pipelining || this.#tooOld(entry)
      ) continue;
      if (
        !best || entry.inFlight < best.inFlight ||
        (entry.inFlight === best.inFlight && entry.sinks.size < best.sinks.size)
      ) best = entry;
    }
    return best;
  }

  /** Hands shareable channels to waiting leases, in order. */
  #serveWaiters(): void {
    while (this.#waiters.length > 0) {
      const entry = this.#shareable();
      if (!entry) return;
      const waiter = this.#waiters.shift()!;
      this.#unwait(waiter);
      waiter.resolve(this.#lease(entry, waiter.sink));
    }
  }

  async #create(sink: ReplySink, signal: AbortSignal): Promise<Lease> {
    this.#count++;
    const entry: Entry = {
      channel: undefined!,
      born: performance.now(),
      sinks: new Set(),
      inFlight: 0,
      tainted: false,
      dead: false,
      memo: {},
    };
    try {
      entry.channel = await this.#open(this.#forwarder(entry), signal);
    } catch (error) {
      this.#count--;
      this.#next();
      throw error;
    }
    this.#created++;
    const lease = this.#lease(entry, sink);
    this.#serveWaiters(); // leases waiting may share it
    return lease;
  }

  /**
   * The sink of the real channel. Bytes go to one lease (the leases of a channel share the
   * engine that reads them); the channel closing goes to every lease; trouble while idle drops it.
   */
  #forwarder(entry: Entry): ReplySink {
    const idleTrouble = () => {
      const at = this.#idle.indexOf(entry);
      if (at >= 0) {
        this.#idle.splice(at, 1);
        this.#close(entry, true);
      }
    };
    const first = () => entry.sinks.values().next().value;
    return {
      bytes: (chunk, whole) => {
        const sink = first();
        return sink ? sink.bytes(chunk, whole) : idleTrouble();
      },
      reply: (seqid, body, headers) => first()?.reply(seqid, body, headers),
      callFailed: (seqid, error) => first()?.callFailed(seqid, error),
      closed: (error) => entry.sinks.size > 0 ? this.#broken(entry, error) : idleTrouble(),
    };
  }

  /** The channel is gone or broke: every lease on it is told (each then lets go of it). */
  #broken(entry: Entry, error?: Error): void {
    entry.tainted = true;
    for (const sink of [...entry.sinks]) sink.closed(error);
    if (entry.sinks.size === 0) this.#close(entry, true);
  }

  #lease(entry: Entry, sink: ReplySink): Lease {
    entry.sinks.add(sink);
    this.#leased.add(entry);
    entry.channel.ref?.();
    let done = false;
    let mine = 0; // this lease's calls in flight
    const release = (clean: boolean): void => {
      if (done) return;
      done = true;
      entry.sinks.delete(sink);
      entry.inFlight -= mine;
      mine = 0;
      if (!clean) entry.tainted = true;
      this.#released(entry);
    };
    return {
      memo: entry.memo,
      send: (bytes, message, timeout) => {
        if (done || entry.dead) return;
        // Shared with calls in flight: the message may go out with the others of this turn.
        const defer = entry.sinks.size > 1 && entry.inFlight > 0;
        if (!message.oneway) {
          mine++;
          entry.inFlight++;
        }
        entry.channel.send(bytes, message, timeout, defer);
      },
      settled: () => {
        if (done || mine === 0) return;
        mine--;
        entry.inFlight--;
        if (this.#waiters.length > 0) this.#serveWaiters();
      },
      taint: () => {
        entry.tainted = true;
      },
      abort: (error) => {
        if (!done && !entry.dead) this.#broken(entry, error);
      },
      end: () => {
        release(true);
        return Promise.resolve();
      },
      close: () => release(false),
    };
  }

  /** A lease let go: the last one gives the channel back (or closes it when unclean). */
  #released(entry: Entry): void {
    if (entry.sinks.size > 0) return this.#serveWaiters();
    this.#leased.delete(entry);
    if (entry.dead) return;
    if (entry.tainted) return this.#close(entry, true);
    this.#giveBack(entry);
  }

  #giveBack(entry: Entry): void {
    if (this.#tooOld(entry) || this.#draining > 0) {
      return this.#close(entry, false);
    }
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#unwait(waiter);
      return waiter.resolve(this.#lease(entry, waiter.sink));
    }
    entry.idleTimer = setTimeout(() => {
      const at = this.#idle.indexOf(entry);
      if (at >= 0) this.#idle.splice(at, 1);
      this.#close(entry, false);
    }, this.#settings.idleTimeout);
    entry.idleTimer.unref();
    entry.channel.unref?.();
    this.#idle.push(entry);
  }

  #close(entry: Entry, discarded: boolean): void {
    if (entry.dead) return;
    entry.dead = true;
    clearTimeout(entry.idleTimer);
    this.#leased.delete(entry);
    this.#count--;
    if (discarded) this.#discarded++;
    entry.channel.close();
    this.#next();
  }

  /** A slot freed: the first waiter opens a new channel in it. */
  #next(): void {
    const waiter = this.#waiters.shift();
    if (!waiter) return;
    this.#unwait(waiter);
    this.#create(waiter.sink, waiter.signal).then(waiter.resolve, waiter.reject);
  }

  #forget(waiter: Waiter): void {
    const at = this.#waiters.indexOf(waiter);
    if (at >= 0) this.#waiters.splice(at, 1);
    this.#unwait(waiter);
  }

  #unwait(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    waiter.signal.removeEventListener("abort", waiter.onAbort);
  }
}
