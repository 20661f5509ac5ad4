/**
 * Call deadlines with one timer per connection instead of one per call: every call of a
 * connection has the same timeout, so deadlines arrive in order and the oldest is first.
 *
 * @module
 */
import { clearTimeout, setTimeout } from "node:timers";

type Timer = ReturnType<typeof setTimeout>;

/** The calls waiting for a reply, each with the time it expires. */
export class Deadlines {
  readonly #calls = new Map<number, { at: number; method: string }>();
  readonly #timeout: number;
  readonly #onExpired: (seqid: number, method: string) => void;
  #timer: Timer | undefined;

  /**
   * @param timeout Milliseconds each call may wait.
   * @param onExpired Called for each call whose time ran out (it should `delete` it).
   */
  constructor(timeout: number, onExpired: (seqid: number, method: string) => void) {
    this.#timeout = timeout;
    this.#onExpired = onExpired;
  }

  /** How many calls wait. */
  get size(): number {
    return this.#calls.size;
  }

  /** Starts the clock of a call just written. */
  add(seqid: number, method: string): void {
    const at = performance.now() + this.#timeout;
    this.#calls.set(seqid, { at, method });
    this.#timer ??= this.#wakeAt(at);
  }

  /** Forgets a call (answered, failed or expired). */
  delete(seqid: number): void {
    this.#calls.delete(seqid);
  }

  /** Stops the timer; the calls must have been settled. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  // Unref'd: a pending call keeps the process alive through its socket, not through this.
  #wakeAt(at: number): Timer {
    const timer = setTimeout(() => this.#expire(), Math.max(0, at - performance.now()));
    timer.unref();
    return timer;
  }

  #expire(): void {
    this.#timer = undefined;
    const now = performance.now();
    for (const [seqid, { at, method }] of this.#calls) {
      if (at > now) {
        this.#timer = this.#wakeAt(at);
        return;
      }
      this.#onExpired(seqid, method);
      this.#calls.delete(seqid);
    }
  }
}
