/**
 * The fault simulation: what a web app calling a balanced Thrift service sees while its
 * servers fail. Three servers (bench/fault_server.ts, one child process each, on 127.0.0.2-4,
 * one port) are named `thrift.test` by a dnsmasq on loopback; the app (`Deno.serve` /
 * `Bun.serve`, this process) calls `add` (idempotent) and `echoString` (not) per request
 * through `thrift.autoconnect` with a pool, `dns: { refresh: 1000 }`; 64 fetch loops drive it.
 * Phases: steady; 127.0.0.2 SIGKILLed and restarted half-way; 127.0.0.3 slowed to 50 ms per
 * call; DNS drops 127.0.0.4 and adds 127.0.0.5 (a fourth server); steady again.
 *
 *   deno run -A --unstable-no-legacy-abort bench/fault_sim.ts [--short] [--phase-ms N]
 *   bun bench/fault_sim.ts [--short] [--phase-ms N]
 *
 * Prints per phase requests/s, failed requests (idempotent / non-idempotent / whole
 * requests), p99 and max latency, who answered; then how long the killed server took to be
 * ejected and re-admitted, the DNS change, and the targets, each "met" or "MISSED". Exits
 * non-zero only when a request hung or the run could not be done, never for a figure.
 * --short: phases of 1 s (the test's form); default 4 s.
 */
import process from "node:process";
import { type FaultSimResult, KILL_WINDOW_MS, runFaultSim } from "./fault_sim_run.ts";

/** One target: what it asks, what was measured, met or not. */
export interface Target {
  readonly what: string;
  readonly measured: string;
  readonly met: boolean;
}

const ms = (n: number | undefined): string => n === undefined ? "never" : `${Math.round(n)} ms`;
const int = (n: number): string => Math.round(n).toLocaleString("en-US");

/** The targets of the simulation, judged on one run. */
export function targets(r: FaultSimResult): Target[] {
  const sum = (key: "failedIdempotent" | "failedRequests") =>
    r.phases.reduce((n, p) => n + p[key], 0);
  const outsideKill = r.phases.filter((p) => p.name !== "kill")
    .reduce((n, p) => n + p.failedNonIdempotent, 0);
  return [
    {
      what: `no request hangs (every fetch settles within ${int(r.hangMs)} ms)`,
      measured: `${r.hung} hung; slowest ${ms(r.slowestMs)}`,
      met: r.hung === 0,
    },
    {
      what: "0 failed idempotent calls (add)",
      measured: `${sum("failedIdempotent")}`,
      met: sum("failedIdempotent") === 0,
    },
    {
      what: "0 requests failed outright (the app always answered)",
      measured: `${sum("failedRequests")}`,
      met: sum("failedRequests") === 0,
    },
    {
      what: `non-idempotent failures only around the kill (within ${KILL_WINDOW_MS} ms after it)`,
      measured: `${r.nonIdempotentFailures} in all, ${r.nonIdempotentOutsideKill} outside, ` +
        `${outsideKill} in other phases; last ${ms(r.lastFailureAfterKillMs)} after the kill`,
      met: r.nonIdempotentOutsideKill === 0 && outsideKill === 0,
    },
    {
      what: "the killed server is ejected, then re-admitted after its restart",
      measured: `ejected ${ms(r.ejectedMs)} after the kill; re-admitted ${
        ms(r.readmittedMs)
      } after listening again`,
      met: r.ejectedMs !== undefined && r.readmittedMs !== undefined,
    },
    {
      what: "the DNS change is seen: the dropped address drained, the new one serving",
      measured: `${r.hosts.added} listed ${ms(r.addedSeenMs)} after the change, ${
        int(r.addedAnswered)
      } adds answered; ${r.hosts.dropped} gone ${ms(r.droppedGoneMs)} after it, ${
        r.droppedAnsweredAfterGone ? "answering after that" : "nothing answered after that"
      }`,
      met: r.addedSeenMs !== undefined && r.droppedGoneMs !== undefined &&
        !r.droppedAnsweredAfterGone && r.addedAnswered > 0,
    },
  ];
}

function markdown(head: string[], body: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

/** The report of one run, as printed (Markdown). */
export function report(r: FaultSimResult): string {
  const rows = r.phases.map((p) => [
    p.name,
    p.what,
    int(p.perSecond),
    String(p.failedIdempotent),
    String(p.failedNonIdempotent),
    String(p.failedRequests),
    ms(p.p99Ms),
    ms(p.maxMs),
    Object.entries(p.answeredBy).map(([host, n]) => `.${host.split(".").at(-1)} ${n}`).join(", "),
  ]);
  const table = markdown([
    "phase",
    "what happens",
    "requests/s",
    "failed add (idempotent)",
    "failed echoString (not)",
    "failed requests",
    "p99",
    "max",
    "adds answered by",
  ], rows);
  const lines = [
    `Fault simulation on ${r.runtime} (${process.versions[r.runtime]}): ${r.clients} HTTP ` +
    `clients, phases of ${int(r.phaseMs)} ms, servers on port ${r.port}`,
    "",
    table,
    "",
    `- killed ${r.hosts.killed} (${r.inUseAtKill} connections or leases on it): ejected ` +
    `${ms(r.ejectedMs)} after the SIGKILL; listening ` +
    `again ${ms(r.restartedAfterMs)} after it; re-admitted (healthy) ${ms(r.readmittedMs)} ` +
    "after that",
    `- DNS change: ${r.hosts.added} in the list ${ms(r.addedSeenMs)} after it, ` +
    `${r.hosts.dropped} drained and gone ${ms(r.droppedGoneMs)} after it`,
    `- every fetch settled: ${r.hung} hung (bound ${int(r.hangMs)} ms), slowest ${ms(r.slowestMs)}`,
    `- endpoints at the end: ${
      r.endpoints.map((e) => `${e.url} ${e.state} (failures ${e.failures})`).join("; ")
    }`,
  ];
  if (r.errors.length > 0) {
    lines.push("- failures seen:");
    for (const [message, n] of r.errors.slice(0, 8)) lines.push(`  - ${n} × ${message}`);
  }
  lines.push("", "Targets:");
  for (const t of targets(r)) {
    lines.push(`- ${t.met ? "met   " : "MISSED"} ${t.what}: ${t.measured}`);
  }
  return lines.join("\n");
}

async function main(args: string[]): Promise<number> {
  const at = args.indexOf("--phase-ms");
  const phaseMs = at >= 0 ? Number(args[at + 1]) : args.includes("--short") ? 1_000 : 4_000;
  if (!(phaseMs >= 200)) {
    console.error(`Invalid --phase-ms "${args[at + 1]}": expected a number of ms, at least 200`);
    return 2;
  }
  let result: FaultSimResult;
  try {
    result = await runFaultSim({ phaseMs, log: (line) => console.log(line) });
  } catch (error) {
    console.error("The fault simulation could not be run:", error);
    return 1;
  }
  console.log();
  console.log(report(result));
  return result.hung > 0 ? 1 : 0;
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
