/**
 * Live call statistics from a hook: every call's method, duration and outcome, kept for the
 * last minute, summed up as calls per second and p50 / p99 per method. The demo's panel shows
 * them; any app can serve the same from a health route.
 */
import type { CallHook } from "../mod.ts";

/** What the panel shows. */
export interface StatsSnapshot {
  /** Calls that settled in the last second. */
  callsPerSecond: number;
  /** Calls settled since the start. */
  total: number;
  /** Per method, over the last 10 s: calls, failures, p50 and p99 in ms. */
  methods: Record<string, { calls: number; failed: number; p50: number; p99: number }>;
  /** Calls per second, one point a second, the last 60 s (oldest first). */
  series: number[];
}

interface Sample {
  at: number;
  method: string;
  ms: number;
  ok: boolean;
}

const WINDOW_MS = 10_000;
const SERIES_SECONDS = 60;

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0
    ? 0
    : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

/** A hook that records calls, and the snapshot of what it recorded. */
export function callStats(): { hook: CallHook; snapshot(): StatsSnapshot } {
  const samples: Sample[] = [];
  const perSecond = new Map<number, number>(); // epoch second -> calls settled in it
  let total = 0;
  const record = (method: string, started: number, ok: boolean) => {
    const at = Date.now();
    samples.push({ at, method, ms: performance.now() - started, ok });
    const second = Math.floor(at / 1000);
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
    total++;
  };
  const hook: CallHook = async (call, next) => {
    const started = performance.now();
    try {
      const result = await next();
      record(call.method, started, true);
      return result;
    } catch (error) {
      record(call.method, started, false);
      throw error;
    }
  };
  const snapshot = (): StatsSnapshot => {
    const now = Date.now();
    while (samples.length > 0 && samples[0]!.at < now - WINDOW_MS) samples.shift();
    const second = Math.floor(now / 1000);
    for (const s of perSecond.keys()) if (s <= second - SERIES_SECONDS) perSecond.delete(s);
    const byMethod = new Map<string, Sample[]>();
    for (const s of samples) byMethod.set(s.method, [...byMethod.get(s.method) ?? [], s]);
    const methods: StatsSnapshot["methods"] = {};
    for (const [method, list] of byMethod) {
      const sorted = list.map((s) => s.ms).sort((a, b) => a - b);
      methods[method] = {
        calls: list.length,
        failed: list.filter((s) => !s.ok).length,
        p50: percentile(sorted, 0.5),
        p99: percentile(sorted, 0.99),
      };
    }
    const series = Array.from(
      { length: SERIES_SECONDS },
      (_, i) => perSecond.get(second - SERIES_SECONDS + 1 + i) ?? 0,
    );
    return { callsPerSecond: perSecond.get(second - 1) ?? 0, total, methods, series };
  };
  return { hook, snapshot };
}
