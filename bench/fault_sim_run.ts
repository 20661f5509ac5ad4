/**
 * The fault simulation itself (bench/fault_sim.ts prints it, tests/fault_sim_test.ts checks
 * its short form): three Thrift servers in child processes on 127.0.0.2-4 (one port), named
 * `thrift.test` by a dnsmasq on loopback; a client app (`Deno.serve` / `Bun.serve`) whose
 * handler calls `add` (idempotent) and `echoString` (not) through `thrift.autoconnect` with a
 * pool, balancing over what `thrift.test` resolves to; `clients` fetch loops against it; then
 * phases: steady, one server killed and restarted, one slowed, DNS swapping one address for
 * a fourth server's, steady again.
 */
import { type EndpointStats, ThriftClient } from "../mod.ts";
import { startDnsmasq } from "../tests/helpers/dnsmasq.ts";
import { Calculator } from "../tests/helpers/calculator.ts";
import { serve as serveHttp } from "../tests/helpers/serve.ts";
import { type Load, quantile, startLoad } from "./fault_load.ts";
import { freePortOn } from "../tests/helpers/ports.ts";
import { runtimeName, type ServerProcess, startServer } from "./fault_procs.ts";

/** The name the client resolves, and what dnsmasq answers at first. */
const NAME = "thrift.test";
const HOSTS = ["127.0.0.2", "127.0.0.3", "127.0.0.4"] as const;
const [KILLED, SLOWED, DROPPED] = HOSTS;
/** The fourth server, which DNS adds while dropping DROPPED. */
const ADDED = "127.0.0.5";
/** The slowed server's delay per call, ms. */
const SLOW_MS = 50;
/** Non-idempotent failures count as "around the kill" within this after it, ms. */
export const KILL_WINDOW_MS = 1_000;
/** The client's deadlines: finite and short, so that the hang bound means something. */
const CALL_TIMEOUT_MS = 2_000;
const CONNECT_TIMEOUT_MS = 1_000;

/** How to run it. */
export interface FaultSimOptions {
  /** The length of each phase, ms (the kill phase restarts the server half-way). */
  readonly phaseMs: number;
  /** Concurrent HTTP clients. @default {64} */
  readonly clients?: number;
  /** A fetch not settled after this is hung, ms. @default {20000} */
  readonly hangMs?: number;
  /** Told what happens as it happens. */
  readonly log?: (line: string) => void;
}

/** The figures of one phase. */
export interface PhaseResult {
  readonly name: string;
  readonly what: string;
  readonly ms: number;
  readonly requests: number;
  readonly perSecond: number;
  readonly failedIdempotent: number;
  readonly failedNonIdempotent: number;
  readonly failedRequests: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Adds answered per server (by address). */
  readonly answeredBy: Record<string, number>;
}

/** Everything one run measured. */
export interface FaultSimResult {
  readonly runtime: "deno" | "bun";
  readonly clients: number;
  readonly phaseMs: number;
  readonly hangMs: number;
  readonly port: number;
  readonly hosts: { killed: string; slowed: string; dropped: string; added: string };
  readonly phases: PhaseResult[];
  /** Fetches that did not settle within `hangMs`; the slowest that did, ms. */
  readonly hung: number;
  readonly slowestMs: number;
  /** Connections using the killed server (and leases waiting for it) just before the kill. */
  readonly inUseAtKill: number;
  /** From the SIGKILL to `thrift.endpoints` showing the server ejected, ms. */
  readonly ejectedMs: number | undefined;
  /** From the kill to the restarted server listening again, ms. */
  readonly restartedAfterMs: number;
  /** From the restarted server listening to `thrift.endpoints` showing it healthy, ms. */
  readonly readmittedMs: number | undefined;
  /** Non-idempotent failures, and how many of them came more than KILL_WINDOW_MS after it. */
  readonly nonIdempotentFailures: number;
  readonly nonIdempotentOutsideKill: number;
  /** The last non-idempotent failure after the kill, ms (undefined: none). */
  readonly lastFailureAfterKillMs: number | undefined;
  /** From the DNS change: the added address in the list, the dropped one gone (drained), ms. */
  readonly addedSeenMs: number | undefined;
  readonly droppedGoneMs: number | undefined;
  /** Adds the dropped server answered after it was gone from the list (must be 0 or false). */
  readonly droppedAnsweredAfterGone: boolean;
  /** Adds the added server answered. */
  readonly addedAnswered: number;
  /** Why requests and calls failed, most frequent first. */
  readonly errors: [string, number][];
  /** `thrift.endpoints` at the end. */
  readonly endpoints: EndpointStats[];
}

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Polls `check` every 5 ms from now for `limit` ms; the time since `from` when it held. */
async function when(
  check: () => boolean,
  from: number,
  limit: number,
): Promise<number | undefined> {
  const end = performance.now() + limit;
  for (;;) {
    if (check()) return performance.now() - from;
    if (performance.now() > end) return undefined;
    await sleep(5);
  }
}

/** A call's failure as one line: its class and message. */
function why(error: unknown): string {
  return error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error);
}

/** Runs the simulation; cleans everything up even when it fails. */
export async function runFaultSim(options: FaultSimOptions): Promise<FaultSimResult> {
  const { phaseMs, clients = 64, hangMs = 20_000 } = options;
  const log = options.log ?? (() => {});
  const servers = new Map<string, ServerProcess>();
  const cleanups: (() => Promise<unknown>)[] = [];
  let load: Load | undefined;
  try {
    await using dns = await startDnsmasq({ records: { [NAME]: [...HOSTS] } });
    const port = await freePortOn([...HOSTS, ADDED]);
    for (const server of await Promise.all(HOSTS.map((host) => startServer(host, port)))) {
      servers.set(server.host, server);
    }
    log(`servers on ${HOSTS.join(", ")} port ${port}; dnsmasq on ${dns.server}`);
    const thrift = new ThriftClient(Calculator.Client, {
      transport: `tcp://${NAME}:${port}`,
      dns: { refresh: 1_000, servers: [dns.server] },
      pool: true,
      idempotent: ["add"],
      timeout: CALL_TIMEOUT_MS,
      connectTimeout: CONNECT_TIMEOUT_MS,
    });
    cleanups.push(() => thrift.close());
    const app = serveHttp(
      thrift.autoconnect(async (_request: Request) => {
        const reply: Record<string, unknown> = {};
        await thrift.client.add(1, 2).then((sum) => {
          reply.by = Math.round((sum - 3) / 1000);
          reply.addAt = performance.now();
        }, (error) => reply.add = why(error));
        await thrift.client.echoString("fault").catch((error) => {
          reply.echo = why(error);
          reply.at = performance.now();
        });
        return Response.json(reply);
      }),
      (error) => new Response(why(error), { status: 500 }),
    );
    cleanups.unshift(() => app[Symbol.asyncDispose]());
    const stateOf = (host: string) =>
      thrift.endpoints?.find((e) => e.url === `tcp://${host}:${port}`)?.state;

    load = startLoad(`${app.url}/`, { clients, hangMs, maxEach: 1_000_000 });
    const phases: { name: string; what: string; ms: number }[] = [];
    const phase = async (
      name: string,
      what: string,
      run: (start: number) => Promise<void> | void,
      ms = phaseMs,
    ) => {
      log(`phase ${name}: ${what}`);
      load!.phase = phases.length;
      const start = performance.now();
      await run(start);
      await sleep(start + ms - performance.now());
      phases.push({ name, what, ms: performance.now() - start });
    };

    await phase("warm-up", "3 servers; pools fill, code warms up", () => {}, phaseMs / 2);
    await phase("steady", "3 servers", () => {});

    let killedAt = 0;
    let ejected: Promise<number | undefined> = Promise.resolve(undefined);
    let restartedAfterMs = NaN;
    let readmitted: Promise<number | undefined> = Promise.resolve(undefined);
    let inUseAtKill = 0;
    await phase("kill", `${KILLED} SIGKILLed, restarted after ${phaseMs / 2} ms`, async (start) => {
      inUseAtKill = thrift.endpoints?.find((e) => e.url === `tcp://${KILLED}:${port}`)?.inFlight ??
        0;
      killedAt = performance.now();
      const killing = servers.get(KILLED)!.kill();
      ejected = when(() => stateOf(KILLED) === "ejected", killedAt, 10_000);
      await killing;
      await sleep(start + phaseMs / 2 - performance.now());
      const again = await startServer(KILLED, port);
      servers.set(KILLED, again);
      const listening = performance.now();
      restartedAfterMs = listening - killedAt;
      readmitted = when(() => stateOf(KILLED) === "healthy", listening, 10_000);
      log(`  ${KILLED} listening again ${Math.round(restartedAfterMs)} ms after the kill`);
    });

    let added: Promise<ServerProcess> | undefined;
    await phase("slow", `${SLOWED} answers each call after ${SLOW_MS} ms`, () => {
      servers.get(SLOWED)!.send(`slow ${SLOW_MS}`);
      added = startServer(ADDED, port); // ready before the DNS change
    });

    let changedAt = 0;
    let addedSeen: Promise<number | undefined> = Promise.resolve(undefined);
    let droppedGone: Promise<number | undefined> = Promise.resolve(undefined);
    await phase("dns", `${SLOWED} fast again; DNS: ${DROPPED} out, ${ADDED} in`, async () => {
      servers.get(SLOWED)!.send("fast");
      const fourth = await added!;
      servers.set(ADDED, fourth);
      await dns.setRecords(NAME, [KILLED, SLOWED, ADDED]);
      changedAt = performance.now();
      addedSeen = when(() => stateOf(ADDED) !== undefined, changedAt, 10_000);
      droppedGone = when(() => stateOf(DROPPED) === undefined, changedAt, 10_000);
    });

    // The last phase lasts until every watcher is done (probes need the traffic to go on).
    let watched: (number | undefined)[] = [];
    await phase("steady", `${KILLED}, ${SLOWED}, ${ADDED}`, async () => {
      watched = await Promise.all([ejected, readmitted, addedSeen, droppedGone]);
    });
    const [ejectedMs, readmittedMs, addedSeenMs, droppedGoneMs] = watched;
    const stopped = load;
    load = undefined;
    await stopped.stop();
    const endpoints = thrift.endpoints ?? [];

    const echoFailedAt = stopped.phases.flatMap((p) => p.echoFailedAt);
    const afterKill = echoFailedAt.filter((at) => at >= killedAt).map((at) => at - killedAt);
    const gone = droppedGoneMs === undefined ? Infinity : changedAt + droppedGoneMs;
    const octet = (host: string) => Number(host.split(".").at(-1));
    return {
      runtime: runtimeName(),
      clients,
      phaseMs,
      hangMs,
      port,
      hosts: { killed: KILLED, slowed: SLOWED, dropped: DROPPED, added: ADDED },
      phases: phases.map((p, i) => {
        const counts = stopped.phases[i]!;
        return {
          ...p,
          requests: counts.requests,
          perSecond: counts.requests / (p.ms / 1000),
          failedIdempotent: counts.failedIdempotent,
          failedNonIdempotent: counts.failedNonIdempotent,
          failedRequests: counts.failedRequests,
          p99Ms: quantile(counts.latencies, 0.99),
          maxMs: quantile(counts.latencies, 1),
          answeredBy: Object.fromEntries(
            [...counts.answeredBy].sort(([a], [b]) => a - b).map(([n, c]) => [`127.0.0.${n}`, c]),
          ),
        };
      }),
      hung: stopped.hung(),
      slowestMs: stopped.slowest(),
      inUseAtKill,
      ejectedMs,
      restartedAfterMs,
      readmittedMs,
      nonIdempotentFailures: echoFailedAt.length,
      nonIdempotentOutsideKill: echoFailedAt.filter((at) =>
        at < killedAt || at > killedAt + KILL_WINDOW_MS
      ).length,
      lastFailureAfterKillMs: afterKill.length > 0 ? Math.max(...afterKill) : undefined,
      addedSeenMs,
      droppedGoneMs,
      droppedAnsweredAfterGone: (stopped.lastAnswer.get(octet(DROPPED)) ?? 0) > gone,
      addedAnswered: stopped.phases.reduce((n, p) => n + (p.answeredBy.get(octet(ADDED)) ?? 0), 0),
      errors: [...stopped.errors].sort((a, b) => b[1] - a[1]),
      endpoints,
    };
  } finally {
    await load?.stop();
    for (const cleanup of cleanups) await cleanup();
    await Promise.all([...servers.values()].map((server) => server.stop()));
  }
}
