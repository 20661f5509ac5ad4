/**
 * The retry budget (Finagle's): over a sliding window of 10 s, retries may add up to 20 % of
 * the calls plus 10 per second, so retries never multiply the load on a failing backend.
 *
 * @module
 */

const WINDOW_MS = 10_000;
const SLOTS = 10;
const SLOT_MS = WINDOW_MS / SLOTS;

/** Counts calls and retries per second over the last 10 s. */
export class RetryBudget {
  readonly #calls = new Float64Array(SLOTS);
  readonly #retries = new Float64Array(SLOTS);
  #slot = 0;
  #slotStart = -Infinity;
  readonly #percent: number;
  readonly #perSecond: number;

  /**
   * @param percent The share of calls that may be retried (0.2).
   * @param perSecond Retries allowed per second whatever the calls (10).
   */
  constructor(percent = 0.2, perSecond = 10) {
    this.#percent = percent;
    this.#perSecond = perSecond;
  }

  /** Moves to the slot of `now`, forgetting the slots that left the window. */
  #advance(now: number): void {
    if (now - this.#slotStart >= WINDOW_MS) { // a whole window passed (or the first call)
      this.#calls.fill(0);
      this.#retries.fill(0);
      this.#slotStart = now;
      return;
    }
    while (now - this.#slotStart >= SLOT_MS) {
      this.#slot = (this.#slot + 1) % SLOTS;
      this.#calls[this.#slot] = 0;
      this.#retries[this.#slot] = 0;
      this.#slotStart += SLOT_MS;
    }
  }

  /** Counts a call (its first attempt). */
  deposit(now: number = performance.now()): void {
    this.#advance(now);
    this.#calls[this.#slot]!++;
  }

  /** Takes one retry from the budget; false when it is spent. */
  withdraw(now: number = performance.now()): boolean {
    this.#advance(now);
    let calls = 0;
    let retries = 0;
    for (let i = 0; i < SLOTS; i++) {
      calls += this.#calls[i]!;
      retries += this.#retries[i]!;
    }
    if (retries + 1 > calls * this.#percent + this.#perSecond * (WINDOW_MS / 1000)) return false;
    this.#retries[this.#slot]!++;
    return true;
  }
}
