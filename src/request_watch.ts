/**
 * Cancels the Thrift calls of an HTTP request whose client went away, and only of requests
 * still running: `request.signal` is looked at once a request has run for a tick (25 to
 * 50 ms), never on the fast path. Reading it costs: Deno's legacy `request.signal` then
 * aborts after every response, building a `DOMException` with a stack each time.
 *
 * @module
 */
import { clearInterval, setInterval } from "node:timers";
import type { Connection } from "./connection.ts";

/** How often requests still running are linked to their signal. */
const TICK_MS = 25;

interface Watched {
  readonly request: Request;
  readonly connection: Connection<unknown>;
  ticks: number;
  unlink?: () => void;
}

/** The requests running now, linked to their client-gone signal once they take a while. */
export class RequestWatch {
  /** Requests not linked yet (younger than two ticks): the only ones a tick looks at. */
  readonly #young = new Set<Watched>();
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Aborts `connection` if `request`'s client goes away while it runs; returns the unwatch. */
  watch(request: Request, connection: Connection<unknown>): () => void {
    const watched: Watched = { request, connection, ticks: 0 };
    this.#young.add(watched);
    if (!this.#timer) {
      this.#timer = setInterval(() => this.#tick(), TICK_MS);
      this.#timer.unref(); // a request's socket keeps the process alive, not this
    }
    return () => {
      this.#young.delete(watched);
      watched.unlink?.();
    };
  }

  #tick(): void {
    for (const watched of this.#young) {
      if (++watched.ticks < 2) continue;
      this.#young.delete(watched);
      watched.unlink = abortOn(watched.request.signal, watched.connection);
    }
    if (this.#young.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}

/** Aborts `connection` when `signal` aborts (now, if it has); returns what undoes the link. */
export function abortOn(
  signal: AbortSignal | undefined,
  connection: Connection<unknown>,
): () => void {
  if (!signal) return () => {};
  const onAbort = () => connection.abort(signal.reason);
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  return () => signal.removeEventListener("abort", onAbort);
}
