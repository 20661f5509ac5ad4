/**
 * The fault simulation's load: `clients` loops, each fetching the app's URL one request after
 * another until told to stop (or after `maxEach` requests), every fetch bounded by `hangMs`
 * (past it the fetch counts as hung and is aborted). Each request is counted in the phase it
 * ended in (as a dashboard would show it).
 */

/** What the app answers for one request (bench/fault_sim_run.ts). */
export interface AppReply {
  /** The last octet of the server that answered `add`, when it succeeded; `addAt`: when. */
  readonly by?: number;
  readonly addAt?: number;
  /** Why `add` (idempotent) failed, when it did. */
  readonly add?: string;
  /** Why `echoString` (not idempotent) failed, when it did; `at`: when (performance.now()). */
  readonly echo?: string;
  readonly at?: number;
}

/** The figures of one phase. */
export interface PhaseCounts {
  requests: number;
  /** Requests whose `add` failed (the idempotent call). */
  failedIdempotent: number;
  /** Requests whose `echoString` failed (the non-idempotent call). */
  failedNonIdempotent: number;
  /** Requests that got no answer from the app (its connection never opened, a 500, ...). */
  failedRequests: number;
  /** Latency of every request, ms. */
  readonly latencies: number[];
  /** Adds answered per server (last octet of its address). */
  readonly answeredBy: Map<number, number>;
  /** When each non-idempotent failure happened (performance.now()). */
  readonly echoFailedAt: number[];
}

/** The running load. */
export interface Load {
  /** The phase requests that end now count in. */
  phase: number;
  /** The counts per phase so far. */
  readonly phases: PhaseCounts[];
  /** Fetches that did not settle within `hangMs`. */
  readonly hung: () => number;
  /** The slowest fetch that settled, ms. */
  readonly slowest: () => number;
  /** Why requests and calls failed, with how many times (messages, ports stripped). */
  readonly errors: Map<string, number>;
  /** When each server last answered an add (performance.now()), for the DNS checks. */
  readonly lastAnswer: Map<number, number>;
  /** Stops the loops; resolves once every fetch in flight settled (each within `hangMs`). */
  stop(): Promise<void>;
}

/** Counts for a new phase. */
function counts(): PhaseCounts {
  return {
    requests: 0,
    failedIdempotent: 0,
    failedNonIdempotent: 0,
    failedRequests: 0,
    latencies: [],
    answeredBy: new Map(),
    echoFailedAt: [],
  };
}

/** Starts `clients` fetch loops against `url`. */
export function startLoad(
  url: string,
  { clients, hangMs, maxEach }: { clients: number; hangMs: number; maxEach: number },
): Load {
  let stopped = false;
  let hung = 0;
  let slowest = 0;
  const errors = new Map<string, number>();
  const lastAnswer = new Map<number, number>();
  const note = (why: string) => {
    const key = why.replace(/:\d{2,5}\b/g, ":PORT").slice(0, 200);
    errors.set(key, (errors.get(key) ?? 0) + 1);
  };
  const load: Load = {
    phase: 0,
    phases: [counts()],
    hung: () => hung,
    slowest: () => slowest,
    errors,
    lastAnswer,
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
  const one = async (): Promise<void> => {
    const started = performance.now();
    const control = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bound = new Promise<"hung">((resolve) => {
      timer = setTimeout(() => resolve("hung"), hangMs);
    });
    const request = fetch(url, { signal: control.signal }).then(async (response) => {
      const text = await response.text();
      if (response.status !== 200) return `HTTP ${response.status}: ${text}`;
      return JSON.parse(text) as AppReply;
    }).catch((error: unknown) => `fetch failed: ${String(error)}`);
    const outcome = await Promise.race([request, bound]);
    clearTimeout(timer);
    const ms = performance.now() - started;
    const into = load.phases[load.phase] ??= counts();
    into.requests++;
    into.latencies.push(ms);
    if (outcome === "hung") {
      hung++;
      control.abort();
      await request;
      return;
    }
    slowest = Math.max(slowest, ms);
    if (typeof outcome === "string") {
      into.failedRequests++;
      return note(outcome);
    }
    if (outcome.add !== undefined) {
      into.failedIdempotent++;
      note(`add: ${outcome.add}`);
    } else if (outcome.by !== undefined) {
      into.answeredBy.set(outcome.by, (into.answeredBy.get(outcome.by) ?? 0) + 1);
      const at = outcome.addAt ?? performance.now();
      lastAnswer.set(outcome.by, Math.max(at, lastAnswer.get(outcome.by) ?? 0));
    }
    if (outcome.echo !== undefined) {
      into.failedNonIdempotent++;
      into.echoFailedAt.push(outcome.at ?? performance.now());
      note(`echoString: ${outcome.echo}`);
    }
  };
  const loops = Array.from({ length: clients }, async () => {
    for (let n = 0; n < maxEach && !stopped; n++) await one();
  });
  return load;
}

/** The `q` quantile of `values` (0..1), or 0 when there are none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}
