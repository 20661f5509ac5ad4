/**
 * Call deadlines with one timer per connection instead of one per call. Calls may have
 * different timeouts (per scope, per call), so deadlines sit in a min-heap and the timer is
 * armed for the earliest one only; sequential calls with one timeout re-arm it about once
 * per timeout, not once per call.
 *
 * @module
 */
import { clearTimeout, setTimeout } from "node:timers";

type Timer = ReturnType<typeof setTimeout>;

interface Deadline {
  readonly seqid: number;
  readonly method: string;
  readonly timeout: number;
  readonly at: number;
}

/** The calls waiting for a reply, each with the time it expires. */
export class Deadlines {
  readonly #calls = new Map<number, Deadline>();
  readonly #heap: Deadline[] = [];
  readonly #onExpired: (seqid: number, method: string, timeout: number) => void;
  #timer: Timer | undefined;
  #wakeAt = Infinity;

  /** @param onExpired Called for each call whose time ran out (it is forgotten first). */
  constructor(onExpired: (seqid: number, method: string, timeout: number) => void) {
    this.#onExpired = onExpired;
  }

  /** How many calls wait. */
  get size(): number {
    return this.#calls.size;
  }

  /** The method of a waiting call, if it waits. */
  methodOf(seqid: number): string | undefined {
    return this.#calls.get(seqid)?.method;
  }

  /** Starts the clock of a call just written. */
  add(seqid: number, method: string, timeout: number): void {
    const deadline = { seqid, method, timeout, at: performance.now() + timeout };
    this.#calls.set(seqid, deadline);
    this.#push(deadline);
    if (deadline.at < this.#wakeAt) this.#arm(deadline.at);
  }

  /**
   * Forgets a call (answered, failed or expired); its heap entry is dropped lazily. The timer
   * stays armed when none is left: a later call due after it needs no new timer, and a wake-up
   * with nothing due just stops.
   */
  delete(seqid: number): void {
    this.#calls.delete(seqid);
    if (this.#calls.size === 0) this.#heap.length = 0;
  }

  /** Stops the timer and forgets every deadline. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#wakeAt = Infinity;
    this.#calls.clear();
    this.#heap.length = 0;
  }

  // Unref'd: a pending call keeps the process alive through its socket, not through this.
  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#wakeAt = at;
    this.#timer = setTimeout(() => this.#expire(), Math.max(0, at - performance.now()));
    this.#timer.unref();
  }

  #expire(): void {
    this.#timer = undefined;
    this.#wakeAt = Infinity;
    const now = performance.now();
    for (let top = this.#heap[0]; top; top = this.#heap[0]) {
      if (this.#calls.get(top.seqid) !== top) {
        this.#pop(); // answered meanwhile
        continue;
      }
      if (top.at > now) return this.#arm(top.at);
      this.#pop();
      this.#calls.delete(top.seqid);
      this.#onExpired(top.seqid, top.method, top.timeout);
    }
  }

  #push(deadline: Deadline): void {
    const heap = this.#heap;
    let i = heap.push(deadline) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = heap[parent]!;
      if (above.at <= deadline.at) break;
      heap[i] = above;
      i = parent;
    }
    heap[i] = deadline;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right]!.at < heap[left]!.at ? right : left;
      const below = heap[child]!;
      if (below.at >= last.at) break;
      heap[i] = below;
      i = child;
    }
    heap[i] = last;
  }
}
