/**
 * The connection pool: leases open channels to connections, takes back the clean ones and
 * closes the rest. It knows channels and their health, not sockets or protocols.
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
}

interface Entry {
  channel: Channel;
  readonly born: number;
  sink: ReplySink | undefined;
  /** What the leasing connections keep with the channel (its engine). */
  readonly memo: { value?: unknown };
  idleTimer?: ReturnType<typeof setTimeout>;
}

interface Waiter {
  readonly sink: ReplySink;
  readonly resolve: (channel: Channel) => void;
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
    return {
      open: this.#count,
      idle: this.#idle.length,
      leased: this.#count - this.#idle.length,
      waiting: this.#waiters.length,
      created: this.#created,
      discarded: this.#discarded,
      timeouts: this.#timeouts,
    };
  }

  /**
   * Leases a channel delivering to `sink`: an idle one, a new one, or the next one given back.
   * Its `end()` gives it back, its `close()` discards it.
   */
  acquire(sink: ReplySink, signal: AbortSignal): Promise<Channel> {
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
    return new Promise<Channel>((resolve, reject) => {
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

  async #create(sink: ReplySink, signal: AbortSignal): Promise<Channel> {
    this.#count++;
    const entry: Entry = { channel: undefined!, born: performance.now(), sink, memo: {} };
    try {
      entry.channel = await this.#open(this.#forwarder(entry), signal);
    } catch (error) {
      this.#count--;
      this.#next();
      throw error;
    }
    this.#created++;
    return this.#lease(entry, sink);
  }

  /** The sink of the real channel: forwards to the current lease; trouble while idle drops it. */
  #forwarder(entry: Entry): ReplySink {
    const idleTrouble = () => {
      const at = this.#idle.indexOf(entry);
      if (at >= 0) {
        this.#idle.splice(at, 1);
        this.#close(entry, true);
      }
    };
    return {
      bytes: (chunk, whole) => entry.sink ? entry.sink.bytes(chunk, whole) : idleTrouble(),
      reply: (seqid, body, headers) => entry.sink?.reply(seqid, body, headers),
      callFailed: (seqid, error) => entry.sink?.callFailed(seqid, error),
      closed: (error) => entry.sink ? entry.sink.closed(error) : idleTrouble(),
    };
  }

  #lease(entry: Entry, sink: ReplySink): Channel {
    entry.sink = sink;
    entry.channel.ref?.();
    let done = false;
    const finish = (): boolean => {
      if (done) return false;
      done = true;
      entry.sink = undefined;
      return true;
    };
    return {
      memo: entry.memo,
      send: (bytes, message, timeout) => {
        if (!done) entry.channel.send(bytes, message, timeout);
      },
      end: () => {
        if (finish()) this.#giveBack(entry);
        return Promise.resolve();
      },
      close: () => {
        if (finish()) this.#close(entry, true);
      },
    };
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
    clearTimeout(entry.idleTimer);
    entry.sink = undefined;
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
