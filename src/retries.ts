/**
 * Safe retries of a client's calls: a call of a method named in `idempotent` that failed on
 * the transport (the connection closed or broke before its reply) is sent again, on another
 * endpoint when there is one, within the call's deadline (which covers every attempt) and the
 * retry budget. Oneway calls are never sent twice. (Connects that fail are retried on another
 * endpoint by the connection itself: they never reached a server.)
 *
 * @module
 */
import type { CallOptions, CallRetries, SendOptions } from "./connection_kit.ts";
import { TransportError } from "./errors.ts";
import type { RetryBudget } from "./retry_budget.ts";

/** One attempt of a call: its number (1 for the first) and its options. */
export type Attempt = (attempt: number, options: SendOptions | undefined) => Promise<unknown>;

/** Decides and runs the retries of one client's calls. */
export class Retrier implements CallRetries {
  readonly #budget: RetryBudget;
  readonly #idempotent: (method: string) => boolean;
  readonly #attempts: () => number;
  readonly #timeout: number;

  /**
   * @param budget The client's retry budget.
   * @param idempotent The `idempotent` option.
   * @param attempts How many attempts a call may make (at least 2: one per endpoint).
   * @param timeout The client's call timeout, the deadline of all attempts without `timeout`.
   */
  constructor(
    budget: RetryBudget,
    idempotent: (method: string) => boolean,
    attempts: () => number,
    timeout: number,
  ) {
    this.#budget = budget;
    this.#idempotent = idempotent;
    this.#attempts = attempts;
    this.#timeout = timeout;
  }

  /** Runs `attempt` until it succeeds or a failure may not be retried. */
  async run(
    method: string,
    oneway: boolean,
    options: CallOptions | undefined,
    attempt: Attempt,
  ): Promise<unknown> {
    this.#budget.deposit();
    const deadline = performance.now() + (options?.timeout ?? this.#timeout);
    const tried = new Set<unknown>();
    for (let n = 1;; n++) {
      const remaining = Math.ceil(deadline - performance.now());
      const sent: SendOptions = n === 1
        ? { ...options, tried }
        : { ...options, tried, timeout: remaining };
      try {
        return await attempt(n, sent);
      } catch (error) {
        const left = deadline - performance.now();
        const retry = !oneway && error instanceof TransportError && this.#idempotent(method) &&
          n < this.#attempts() && left >= 1 && !options?.signal?.aborted && this.#budget.withdraw();
        if (!retry) throw error;
      }
    }
  }
}
