/**
 * The side-by-side benchmark: builds and starts bench/server.cpp once, starts one child
 * (bench/child.js) per runtime x client, and measures every workload in short rounds,
 * round-robin over the columns, so machine noise hits all columns alike. Per-call rows have two
 * raw floors (node:net and Deno.connect / Bun.connect); the HTTP table (HTTP_DESIGNS) puts the
 * library's ways of calling from a Deno.serve / Bun.serve handler beside raw pooled and raw
 * shared floors and npm `thrift`, all in the same wrk rounds. Prints the tables
 * and writes JSON (bench/results/latest.json; quick.json with --quick), then the verdict on the
 * performance targets (targets() below: ratios within the run, per runtime). The observability
 * table sets the library before hooks and telemetry (BASELINE_COMMIT, extracted with git
 * archive; n/a without git or the commit) beside today's with no observer, a no-op hook, and
 * the OpenTelemetry SDK recording.
 *
 *   deno run -A bench/bench.ts [--quick]
 *
 * Exits non-zero when a cell produced no number; missed targets are listed, never a failure.
 * --quick: tiny counts; prints the verdict but never fails on it (never asserts a speed).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import process from "node:process";

const quick = process.argv.includes("--quick");
const ROUNDS = quick ? 1 : 5;
/** The observability table's rounds: twice as many, as its target (0.97x) is the tightest. */
const OBS_ROUNDS = quick ? 1 : 2 * ROUNDS;
const CELL_MS = quick ? 120 : 400;
const WRK_SECONDS = quick ? 1 : 2;
/** Measured wrk rounds per HTTP cell; quick runs only the (then counted) first round. */
const WRK_ROUNDS = quick ? 0 : 2;
/** Sequential adds between the two heap readings of the memory row. */
const HEAP_CALLS = quick ? 1_000 : 10_000;
/** The size of every pool in the HTTP designs: the library's default `max` (child.js too). */
const POOL_MAX = 10;
/** The chunked port's write size (bench_server --chunk). */
const CHUNK_BYTES = 1024;
/** The library before hooks and telemetry: the observability table's baseline column. */
const BASELINE_COMMIT = "14f74f6";

const here = (relative: string): string =>
  decodeURIComponent(new URL(relative, import.meta.url).pathname);
const ROOT = here("../");
const BIN = join(ROOT, "node_modules/.bin");

// ---- the server ----

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 240_000 });
  if (r.status !== 0) throw new Error(`${cmd} failed:\n${r.stdout}${r.stderr}${r.error ?? ""}`);
}

/** Compiles bench/server.cpp once per source + libthrift version, cached in the temp dir. */
function buildServer(): string {
  const sources = [here("server.cpp"), here("bench.thrift"), "/usr/include/thrift/config.h"];
  const hash = createHash("sha256");
  for (const f of sources) if (existsSync(f)) hash.update(readFileSync(f));
  const dir = join(tmpdir(), `thrift-bench-server-${hash.digest("hex").slice(0, 16)}`);
  const binary = join(dir, "bench_server");
  if (existsSync(binary)) return binary;
  const staging = mkdtempSync(`${dir}.staging-`);
  const gen = join(staging, "gen");
  mkdirSync(gen);
  sh("thrift", ["--gen", "cpp", "-out", gen, here("bench.thrift")]);
  sh("g++", [
    "-std=c++17",
    "-O2",
    "-I",
    gen,
    "-o",
    join(staging, "bench_server"),
    here("server.cpp"),
    join(gen, "Bench.cpp"),
    join(gen, "bench_types.cpp"),
    "-lthrift",
    "-lpthread",
  ]);
  try {
    renameSync(staging, dir);
  } catch {
    rmSync(staging, { recursive: true, force: true }); // another run was first
  }
  return binary;
}

/** Lines of a process's stdout, one at a time, each awaited with a time limit. */
function lineReader(input: NodeJS.ReadableStream, what: string): (ms?: number) => Promise<string> {
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  const rl = createInterface({ input });
  rl.on("line", (line) => {
    lines.push(line);
    wake?.();
  });
  rl.on("close", () => {
    closed = true;
    wake?.();
  });
  return async (ms = 30_000) => {
    const deadline = Date.now() + ms;
    while (lines.length === 0) {
      if (closed) throw new Error(`${what}: exited`);
      if (Date.now() >= deadline) throw new Error(`${what}: no answer in ${ms} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
    return lines.shift()!;
  };
}

/** utime + stime of a process in seconds (Linux /proc), for the server's CPU %. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}

/**
 * Extracts the baseline library (`mod.ts` and `src/` at BASELINE_COMMIT) into
 * .tmp/bench-baseline, inside the repository so deno.json's imports and node_modules resolve
 * for it. Returns undefined when it is there, else why not (the column then says n/a).
 */
function extractBaseline(): string | undefined {
  const dir = join(ROOT, ".tmp/bench-baseline");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const archive = spawnSync("git", ["archive", BASELINE_COMMIT, "mod.ts", "src"], {
    cwd: ROOT,
    maxBuffer: 64 << 20,
    timeout: 60_000,
  });
  if (archive.error) return `git: ${archive.error.message}`;
  if (archive.status !== 0) {
    return `git archive ${BASELINE_COMMIT}: ${
      (String(archive.stderr).trim().split("\n")[0] ?? "").replace(/^fatal: /, "")
    }`;
  }
  const tar = spawnSync("tar", ["-x", "-C", dir], { input: archive.stdout, timeout: 60_000 });
  if (tar.error || tar.status !== 0) {
    return `tar: ${tar.error?.message ?? String(tar.stderr).trim().split("\n")[0]}`;
  }
  return existsSync(join(dir, "mod.ts")) ? undefined : `no mod.ts in ${BASELINE_COMMIT}`;
}

// ---- the children ----

type Runtime = "deno" | "bun" | "node";
/** lib_*: the observability table's columns (bench/child.js says what each one is). */
/** raw: the floor on node:net; rawrt: the floor on the runtime's own socket API. */
type Kind = "lib" | "npm" | "raw" | "rawrt" | "lib_base" | "lib_hook" | "lib_otel";
type Reply = Record<string, unknown> & { ok: boolean; error?: string; na?: string };

interface Child {
  name: string;
  runtime: Runtime;
  kind: Kind;
  ask(cmd: object): Promise<Reply>;
  proc: ChildProcess;
}

async function startChild(
  runtime: Runtime,
  kind: Kind,
  port: number,
  chunkedPort: number,
): Promise<Child> {
  const script = here("child.js");
  // --expose-gc: globalThis.gc for the memory row (Bun has Bun.gc)
  const [cmd, args] = runtime === "deno"
    ? [join(BIN, "deno"), [
      "run",
      "-A",
      "--unstable-no-legacy-abort",
      "--v8-flags=--expose-gc",
      script,
    ]]
    : runtime === "bun"
    ? [join(BIN, "bun"), [script]]
    : ["node", ["--expose-gc", script]];
  const proc = spawn(cmd, [...args, kind, String(port), String(chunkedPort)], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "inherit"],
  });
  const name = `${runtime}/${kind}`;
  const next = lineReader(proc.stdout!, name);
  const ready = JSON.parse(await next());
  if (!ready.ok) throw new Error(`${name}: ${ready.error}`);
  let queue: Promise<unknown> = Promise.resolve();
  const ask = (command: object): Promise<Reply> => {
    const answer = queue.then(async () => {
      proc.stdin!.write(JSON.stringify(command) + "\n");
      return JSON.parse(await next(120_000)) as Reply;
    });
    queue = answer.catch(() => {});
    return answer;
  };
  return { name, runtime, kind, ask, proc };
}

// ---- measuring ----

interface Cell {
  /** the value shown, or undefined with `note` */
  value?: number;
  note?: string;
  rounds: Reply[];
  serverCpuPercent?: number;
  clientCpuPercent?: number;
}

interface Row {
  id: string;
  label: string;
  unit: string;
  higherIsBetter: boolean;
  cells: Record<string, Cell>;
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};
const num = (r: Reply, key: string): number => Number(r[key]);
const mean = (rs: Reply[], key: string): number => sum(rs.map((r) => num(r, key))) / rs.length;

/** How a row turns a column's rounds into one number. */
const AGGREGATE = {
  rate: (rs) => sum(rs.map((r) => num(r, "calls"))) / sum(rs.map((r) => num(r, "seconds"))),
  p50: (rs) => median(rs.map((r) => num(r, "p50"))),
  p99: (rs) => median(rs.map((r) => num(r, "p99"))),
  mbps: (rs) => sum(rs.map((r) => num(r, "bytes"))) / 1e6 / sum(rs.map((r) => num(r, "seconds"))),
  msPerCall: (rs) =>
    1000 * sum(rs.map((r) => num(r, "seconds"))) / sum(rs.map((r) => num(r, "calls"))),
  rps: (rs) => sum(rs.map((r) => num(r, "requests"))) / sum(rs.map((r) => num(r, "seconds"))),
  heapDelta: (rs) => mean(rs, "delta"),
} satisfies Record<string, (rs: Reply[]) => number>;

interface Tally {
  replies: Reply[];
  serverCpu: number;
  wall: number;
  clientCpu: number;
}

/** Runs `measure` for every column, round-robin, `rounds` times after one warm-up round. */
async function roundRobin<T>(
  columns: T[],
  rounds: number,
  measure: (c: T) => Promise<Reply>,
  serverPid: number,
): Promise<Map<T, Tally>> {
  const out = new Map(
    columns.map((c): [T, Tally] => [c, { replies: [], serverCpu: 0, wall: 0, clientCpu: 0 }]),
  );
  for (let round = 0; round <= rounds; round++) {
    for (const column of columns) {
      const cpu0 = cpuSeconds(serverPid);
      const t0 = performance.now();
      const reply = await measure(column);
      const wall = (performance.now() - t0) / 1000;
      if (round === 0 && !quick) continue; // warm-up: JIT, connections
      const o = out.get(column)!;
      o.replies.push(reply);
      o.serverCpu += cpuSeconds(serverPid) - cpu0;
      o.wall += wall;
      o.clientCpu += Number(reply.cpuPercent ?? NaN) * wall / 100;
    }
  }
  return out;
}

function toCells(
  results: Map<Child, Tally>,
  aggregate: (rs: Reply[]) => number,
): Record<string, Cell> {
  const cells: Record<string, Cell> = {};
  for (const [child, { replies, serverCpu, wall, clientCpu }] of results) {
    const failed = replies.find((r) => !r.ok);
    const na = replies.find((r) => r.na);
    const cell: Cell = { rounds: replies };
    if (failed) cell.note = `error: ${String(failed.error).split("\n")[0]}`;
    else if (na) cell.note = `n/a (${na.na})`;
    else {
      cell.value = aggregate(replies);
      cell.serverCpuPercent = 100 * serverCpu / wall;
      cell.clientCpuPercent = 100 * clientCpu / wall;
    }
    cells[child.name] = cell;
  }
  return cells;
}

/** Runs wrk against `port`; requests and seconds, plus socket errors / non-2xx as an error. */
function wrk(port: number): Reply {
  const r = spawnSync("wrk", [
    "-t1",
    "-c64",
    `-d${WRK_SECONDS}s`,
    `http://127.0.0.1:${port}/`,
  ], { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) return { ok: false, error: `wrk: ${r.stderr || r.error}` };
  const requests = Number(/(\d+) requests in/.exec(r.stdout)?.[1]);
  const bad = /Non-2xx or 3xx responses: (\d+)/.exec(r.stdout)?.[1];
  if (bad) return { ok: false, error: `wrk: ${bad} non-2xx responses` };
  return { ok: true, requests, seconds: WRK_SECONDS };
}

// ---- output ----

function format(cell: Cell | undefined, unit: string): string {
  if (!cell) return "";
  if (cell.value === undefined) return cell.note ?? "?";
  const v = cell.value;
  const digits = v >= 100 ? 0 : v >= 10 ? 1 : v >= 1 ? 2 : 3;
  return `${v.toLocaleString("en-US", { maximumFractionDigits: digits })} ${unit}`;
}

/** A cell as shown in its row: the heap row shows the growth and the two readings. */
function show(row: Row, cell: Cell | undefined): string {
  if (row.id !== "mem" || cell?.value === undefined) return format(cell, row.unit);
  const d = cell.value;
  const [before, after] = [mean(cell.rounds, "before"), mean(cell.rounds, "after")];
  return `${d >= 0 ? "+" : ""}${d.toFixed(2)} MB (${before.toFixed(1)} → ${after.toFixed(1)})`;
}

function ratio(a: Cell | undefined, b: Cell | undefined, digits = 2): string {
  if (a?.value === undefined || b?.value === undefined || b.value === 0) return "";
  return `${(a.value / b.value).toFixed(digits)}x`;
}

/** A markdown table, its columns padded to their widest cell. */
function markdown(head: string[], body: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]) =>
    `| ${cells.map((s, i) => s.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

/** The runtime's own socket API, the second raw floor's column. */
const NATIVE = { deno: "Deno.connect", bun: "Bun.connect" } as const;

/**
 * The faster of a row's two raw floors (node:net or the runtime's own socket API), by the
 * row's direction; for "connection per call" and "pooled", the library on one connection.
 */
function fasterFloor(
  row: Row,
  runtime: "deno" | "bun",
): { cell: Cell; name: string } | undefined {
  const oneConnection = row.cells[`${runtime}/oneconn`];
  if (oneConnection) return { cell: oneConnection, name: "1 conn" };
  const floors = [
    { cell: row.cells[`${runtime}/raw`], name: "node:net" },
    { cell: row.cells[`${runtime}/rawrt`], name: NATIVE[runtime] },
  ].filter((f): f is { cell: Cell; name: string } => f.cell?.value !== undefined);
  const better = (a: number, b: number) => row.higherIsBetter ? a > b : a < b;
  return floors.reduce<{ cell: Cell; name: string } | undefined>(
    (best, f) => !best || better(f.cell.value!, best.cell.value!) ? f : best,
    undefined,
  );
}

function table(rows: Row[], runtime: "deno" | "bun"): string {
  const head = [
    "workload",
    "library",
    "npm thrift",
    "npm on Node",
    "raw floor (node:net)",
    `raw floor (${NATIVE[runtime]})`,
    "lib ÷ faster floor",
    "lib ÷ npm",
    "lib ÷ npm Node",
    "server CPU lib / floor",
  ];
  const body = rows.map((row) => {
    const c = (name: string) => row.cells[name];
    const lib = c(`${runtime}/lib`);
    const isLibOnly = row.id.startsWith("percall") || row.id.startsWith("pooled");
    const floor = fasterFloor(row, runtime);
    const noRatio = row.id === "mem"; // a ratio of two heap growths means nothing
    const floorRatio = ratio(lib, floor?.cell);
    return [
      `${row.label} (${row.higherIsBetter ? "↑" : "↓"})`,
      show(row, lib),
      isLibOnly ? "" : show(row, c(`${runtime}/npm`)),
      isLibOnly ? "" : show(row, c("node/npm")),
      isLibOnly ? "" : show(row, c(`${runtime}/raw`)),
      isLibOnly ? "" : show(row, c(`${runtime}/rawrt`)),
      noRatio || !floorRatio ? "" : `${floorRatio} (${floor?.name})`,
      isLibOnly || noRatio ? "" : ratio(lib, c(`${runtime}/npm`)),
      isLibOnly || noRatio ? "" : ratio(lib, c("node/npm")),
      noRatio
        ? "-"
        : [lib, floor?.cell].map((x) =>
          x?.serverCpuPercent === undefined ? "-" : `${x.serverCpuPercent.toFixed(0)}%`
        ).join(" / "),
    ];
  });
  return markdown(head, body);
}

/**
 * The end-to-end designs (HTTP server + one add per request), in the order of the HTTP table:
 * row id, label (`$own`: the runtime's socket API), the child's serve command, and which
 * ratio columns the row gets (the floors are not divided by themselves).
 */
const HTTP_DESIGNS: [
  id: string,
  label: string,
  serve: Record<string, unknown>,
  ratios: "none" | "floors" | "all",
][] = [
  ["http_plain", "HTTP, no Thrift (the bare server)", { mode: "plain" }, "none"],
  [
    "http_rawpool",
    `raw pooled floor: ${POOL_MAX} exclusive sockets, pre-encoded bytes ($own)`,
    { mode: "rawpool" },
    "none",
  ],
  [
    "http_rawshared",
    "raw shared floor: one socket, replies in order, pre-encoded bytes ($own)",
    { mode: "rawshared" },
    "none",
  ],
  [
    "http_npmshared",
    "npm thrift: one createConnection shared by every request",
    { mode: "npmshared" },
    "floors",
  ],
  [
    "http_npmpool",
    `npm thrift: thin pool of ${POOL_MAX} exclusive connections`,
    { mode: "npmpool" },
    "floors",
  ],
  ["http_auto", "library: a connection per request (no pool)", { mode: "auto" }, "all"],
  ["http_pool", "library: pool: true (exclusive leases)", { mode: "pool" }, "all"],
  [
    "http_pipe16",
    "library: pool: { pipelining: 16 }",
    { mode: "pipe", pipelining: 16 },
    "all",
  ],
  [
    "http_pipe64x1",
    "library: pool: { pipelining: 64, max: 1 }",
    { mode: "pipe", pipelining: 64, max: 1 },
    "all",
  ],
];

function httpTable(rows: Row[], runtime: "deno" | "bun"): string {
  const cell = (id: string) => rows.find((r) => r.id === id)?.cells[`${runtime}/lib`];
  const head = [
    "HTTP server + one add per request",
    "req/s",
    "÷ bare HTTP",
    "÷ raw pooled floor",
    "÷ raw shared floor",
    "÷ npm shared",
    "CPU server / runtime",
  ];
  const body = HTTP_DESIGNS.map(([id, label, , ratios]) => {
    const row = rows.find((r) => r.id === id);
    const mine = cell(id);
    const pct = (x: number | undefined) =>
      x === undefined || !Number.isFinite(x) ? "-" : `${x.toFixed(0)}%`;
    return [
      `${label.replace("$own", NATIVE[runtime])} (↑)`,
      row ? show(row, mine) : "",
      id === "http_plain" ? "" : ratio(mine, cell("http_plain")),
      ratios === "none" ? "" : ratio(mine, cell("http_rawpool")),
      ratios === "none" ? "" : ratio(mine, cell("http_rawshared")),
      ratios === "all" ? ratio(mine, cell("http_npmshared")) : "",
      `${pct(mine?.serverCpuPercent)} / ${pct(mine?.clientCpuPercent)}`,
    ];
  });
  return markdown(head, body);
}

/** The observability table's columns: the library before hooks and telemetry, then today's. */
const OBSERVED: [kind: Kind, head: string, short: string][] = [
  ["lib_base", `baseline (${BASELINE_COMMIT})`, "base"],
  ["lib", "hooks: none (OTel API, no SDK)", "none"],
  ["lib_hook", "one no-op hook", "hook"],
  ["lib_otel", "OTel SDK recording", "SDK"],
];

function observabilityTable(rows: Row[], runtime: "deno" | "bun"): string {
  const base = OBSERVED[0]!;
  const others = OBSERVED.slice(1);
  const head = [
    "workload",
    ...OBSERVED.map(([, h]) => h),
    ...others.map(([, , short]) => `${short} ÷ ${base[2]}`),
  ];
  const body = rows.map((row) => {
    const c = ([kind]: (typeof OBSERVED)[number]) => row.cells[`${runtime}/${kind}`];
    return [
      `${row.label} (${row.higherIsBetter ? "↑" : "↓"})`,
      ...OBSERVED.map((o) => show(row, c(o))),
      ...others.map((o) => ratio(c(o), c(base), 3)), // 3 digits: the target is 0.97
    ];
  });
  return markdown(head, body);
}

// ---- targets ----

interface Target {
  runtime: "deno" | "bun";
  target: string;
  /** the measured ratio (MB for the heap target); undefined when a cell has no number */
  measured?: number | undefined;
  op: ">=" | "<=" | "within";
  threshold: number;
  met: boolean;
  /** why the target could not be measured (a column that says n/a): neither met nor missed */
  na?: string;
}

/** A ratio printed beside the targets as information: nothing to meet. */
interface Info {
  runtime: "deno" | "bun";
  what: string;
  measured?: number | undefined;
}

/**
 * The performance issue's targets: ratios within this run, on each runtime. Per-call rows
 * count against the faster of their two raw floors (the target names it).
 */
function targets(rows: Row[]): { targets: Target[]; information: Info[] } {
  const value = (id: string, column: string) => rows.find((r) => r.id === id)?.cells[column]?.value;
  const over = (a?: number, b?: number) =>
    a === undefined || b === undefined || b === 0 ? undefined : a / b;
  const out: Target[] = [];
  const information: Info[] = [];
  for (const rt of ["deno", "bun"] as const) {
    const lib = `${rt}/lib`;
    const base = `${rt}/lib_base`;
    /** The library ÷ the row's faster raw floor, and the floor's name. */
    const vsFloor = (id: string, label: string): [string, number | undefined] => {
      const row = rows.find((r) => r.id === id);
      const floor = row && fasterFloor(row, rt);
      return [
        `${label}: library ÷ raw floor (the faster: ${floor?.name ?? "none"})`,
        over(value(id, lib), floor?.cell.value),
      ];
    };
    /** HTTP rows: every cell is the serving child's (`<runtime>/lib`). */
    const http = (a: string, b: string) => over(value(a, lib), value(b, lib));
    type Goal = [string, number | undefined, Target["op"], number, na?: string | undefined];
    /** The 3 % rule: no hooks and no SDK cost what calls cost before hooks and telemetry. */
    const observed = (id: string, label: string): Goal => [
      `${label}: hooks: none (OTel API, no SDK) ÷ baseline ${BASELINE_COMMIT}`,
      over(value(id, lib), value(id, base)),
      ">=",
      0.97,
      rows.find((r) => r.id === id)?.cells[base]?.note,
    ];
    const list: Goal[] = [
      [...vsFloor("seq", "add, sequential"), ">=", 0.85],
      [...vsFloor("par", "add, 64 in flight"), ">=", 0.7],
      [
        "add, 64 in flight: library ÷ npm thrift on Node",
        over(value("par", lib), value("par", "node/npm")),
        ">=",
        1.4,
      ],
      [...vsFloor("echo", "1 MiB echo (MB/s)"), ">=", rt === "bun" ? 0.8 : 0.6],
      [
        "list reply, library: 400,000 ÷ 100,000 points (ms/call)",
        over(value("list4", lib), value("list", lib)),
        "<=",
        5,
      ],
      [
        `list reply, library: ${CHUNK_BYTES / 1024} KiB server writes ÷ one write (ms/call)`,
        over(value("listchunked", lib), value("list", lib)),
        "<=",
        1.5,
      ],
      [
        "HTTP + add, pool: true ÷ raw pooled floor (req/s)",
        http("http_pool", "http_rawpool"),
        ">=",
        0.85,
      ],
      [
        "HTTP + add, pipelining: 16 ÷ raw shared floor (req/s)",
        http("http_pipe16", "http_rawshared"),
        ">=",
        0.85,
      ],
      [
        "HTTP + add, pipelining: 16 ÷ npm thrift on one shared connection (req/s)",
        http("http_pipe16", "http_npmshared"),
        ">=",
        1.5,
      ],
      [
        `library heap growth over ${HEAP_CALLS.toLocaleString("en-US")} sequential adds`,
        value("mem", lib),
        "within",
        5,
      ],
      observed("obs_seq", "add, sequential"),
      observed("obs_par", "add, 64 in flight"),
    ];
    for (const [target, measured, op, threshold, note] of list) {
      const met = measured !== undefined && Number.isFinite(measured) &&
        (op === ">="
          ? measured >= threshold
          : op === "<="
          ? measured <= threshold
          : Math.abs(measured) <= threshold);
      const na = note?.startsWith("n/a") ? { na: note } : {};
      out.push({ runtime: rt, target, measured, op, threshold, met, ...na });
    }
    // the old "pooled ≥ 0.4x the bare HTTP server" target, now information: the bare server
    // never leaves JavaScript for a socket, so no design that makes a call can come close
    const designs = [["http_pool", "pool: true"], ["http_pipe16", "pipelining: 16"]] as const;
    for (const [id, label] of designs) {
      information.push({
        runtime: rt,
        what: `HTTP + add, ${label} ÷ HTTP without Thrift (req/s)`,
        measured: http(id, "http_plain"),
      });
    }
    information.push({
      runtime: rt,
      what: "HTTP + add, pipelining: 64, max: 1 ÷ raw shared floor (req/s)",
      measured: http("http_pipe64x1", "http_rawshared"),
    });
  }
  return { targets: out, information };
}

function infoLine(i: Info): string {
  const measured = i.measured === undefined || !Number.isFinite(i.measured)
    ? "no number"
    : `${i.measured.toFixed(3)}x`;
  return `- ${i.runtime === "deno" ? "Deno" : "Bun"}: ${i.what}: ${measured}`;
}

function targetLine(t: Target): string {
  const rt = t.runtime === "deno" ? "Deno" : "Bun";
  const mb = t.op === "within";
  const measured = t.measured === undefined || !Number.isFinite(t.measured)
    ? "no number"
    : mb
    ? `${t.measured >= 0 ? "+" : ""}${t.measured.toFixed(2)} MB`
    : `${t.measured.toFixed(3)}x`; // 3 digits: 0.595 is no "0.60x" beside MISSED
  const goal = mb ? `within ±${t.threshold} MB` : `${t.op === ">=" ? "≥" : "≤"} ${t.threshold}x`;
  if (t.na) return `- ${rt}: ${t.target}: ${t.na} (target ${goal})`;
  return `- ${rt}: ${t.target}: ${measured} (target ${goal}): ${t.met ? "met" : "MISSED"}`;
}

// ---- main ----

async function main(): Promise<number> {
  const started = new Date();
  process.stderr.write("building the server (cached after the first run)...\n");
  const binary = buildServer();
  const server = spawn(binary, ["--chunk", String(CHUNK_BYTES)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const ready = await lineReader(server.stdout!, "server")();
  const [, port = NaN, chunkedPort = NaN] = ready.split(" ").map(Number);
  process.stderr.write(`extracting the baseline library (${BASELINE_COMMIT})...\n`);
  const baselineNa = extractBaseline();
  if (baselineNa) process.stderr.write(`baseline column n/a: ${baselineNa}\n`);
  const children: Child[] = [];
  /** The observability table's own columns (its "hooks: none" column is the lib child). */
  const observers: Child[] = [];
  try {
    for (const runtime of ["deno", "bun"] as const) {
      for (const kind of ["lib", "npm", "raw", "rawrt"] as const) {
        children.push(await startChild(runtime, kind, port, chunkedPort));
      }
      for (const [kind] of OBSERVED) {
        if (kind === "lib" || (kind === "lib_base" && baselineNa)) continue;
        observers.push(await startChild(runtime, kind, port, chunkedPort));
      }
    }
    children.push(
      await startChild("node", "npm", port, chunkedPort),
      await startChild("node", "raw", port, chunkedPort),
    );
    const by = (name: string) => [...children, ...observers].find((c) => c.name === name)!;
    const libs = [by("deno/lib"), by("bun/lib")];
    const rows: Row[] = [];
    type Aggregates = [
      suffix: string,
      label: string,
      unit: string,
      agg: keyof typeof AGGREGATE,
      up: boolean,
    ][];
    /**
     * Workloads measured together (each round runs every workload on every column), each
     * shown as one row per aggregate.
     */
    const measureRows = async (
      workloads: [workload: string, aggregates: Aggregates][],
      columns: Child[],
      extra: { rounds?: number; calls?: number; idPrefix?: string } = {},
    ) => {
      process.stderr.write(`measuring ${workloads.map(([w]) => w).join(", ")}...\n`);
      const pairs = workloads.flatMap(([workload]) =>
        columns.map((child) => ({ workload, child }))
      );
      const results = await roundRobin(
        pairs,
        extra.rounds ?? ROUNDS,
        ({ workload, child }) =>
          child.ask({ op: "run", workload, ms: CELL_MS, calls: extra.calls }),
        server.pid!,
      );
      for (const [workload, aggregates] of workloads) {
        const mine = new Map(
          [...results].filter(([p]) => p.workload === workload).map(([p, t]) => [p.child, t]),
        );
        for (const [suffix, l, u, agg, up] of aggregates) {
          rows.push({
            id: (extra.idPrefix ?? "") + workload + suffix,
            label: l,
            unit: u,
            higherIsBetter: up,
            cells: toCells(mine, AGGREGATE[agg]),
          });
        }
      }
    };
    /** One workload, measured once, shown as one row per aggregate. */
    const measureRow = (workload: string, columns: Child[], aggregates: Aggregates) =>
      measureRows([[workload, aggregates]], columns);
    await measureRow("seq", children, [
      ["", "add, sequential", "calls/s", "rate", true],
      ["_p50", "add, sequential p50", "ms", "p50", false],
      ["_p99", "add, sequential p99", "ms", "p99", false],
    ]);
    await measureRow("par", children, [
      ["", "add, 64 in flight", "calls/s", "rate", true],
    ]);
    // observability overhead: the library before hooks and telemetry beside today's with no
    // observer, with one no-op hook, and with the OTel SDK recording; interleaved, as
    // "hooks: none ÷ baseline" is a target
    await measureRows(
      [
        ["seq", [["", "add, sequential", "calls/s", "rate", true]]],
        ["par", [["", "add, 64 in flight", "calls/s", "rate", true]]],
      ],
      (["deno", "bun"] as const).flatMap((rt) =>
        OBSERVED.filter(([kind]) => !(kind === "lib_base" && baselineNa))
          .map(([kind]) => by(`${rt}/${kind}`))
      ),
      { idPrefix: "obs_", rounds: OBS_ROUNDS },
    );
    if (baselineNa) {
      for (const row of rows.filter((r) => r.id.startsWith("obs_"))) {
        for (const rt of ["deno", "bun"]) {
          row.cells[`${rt}/lib_base`] = { note: `n/a (${baselineNa})`, rounds: [] };
        }
      }
    }
    await measureRow("echo", children, [
      ["", "1 MiB binary echo", "MB/s", "mbps", true],
    ]);
    // interleaved, as their ratios are targets: linear in the size, and chunk-size blind
    await measureRows([
      ["list", [["", "100,000-point list reply", "ms/call", "msPerCall", false]]],
      ["list4", [["", "400,000-point list reply", "ms/call", "msPerCall", false]]],
      ["listchunked", [[
        "",
        `100,000-point list, ${CHUNK_BYTES / 1024} KiB server writes`,
        "ms/call",
        "msPerCall",
        false,
      ]]],
    ], children);
    await measureRow("percall", libs, [
      ["", "add, connection per call", "calls/s", "rate", true],
    ]);
    await measureRow("pooled", libs, [
      ["", "add, pooled (pool: true)", "calls/s", "rate", true],
    ]);
    // the connection-per-call row's floor is the library on one connection (seq row)
    for (const id of ["percall", "pooled"]) {
      const row = rows.find((r) => r.id === id)!;
      const seq = rows.find((r) => r.id === "seq")!;
      for (const rt of ["deno", "bun"]) row.cells[`${rt}/oneconn`] = seq.cells[`${rt}/lib`]!;
    }

    // end to end: an HTTP server making one add per request, driven by wrk: every design on
    // both runtimes in the same rounds (the serving child is the lib one; its CPU is measured
    // over wrk's run)
    process.stderr.write(`measuring HTTP + add, ${HTTP_DESIGNS.length} designs (wrk)...\n`);
    const designs = HTTP_DESIGNS.flatMap(([id, , command]) =>
      libs.map((child) => ({ id, command, child }))
    );
    const served = await roundRobin(designs, WRK_ROUNDS, async ({ command, child }) => {
      const started = await child.ask({ op: "serve", ...command });
      if (!started.ok || started.na) return started;
      const before = await child.ask({ op: "usage" });
      const t0 = performance.now();
      const reply = wrk(Number(started.port));
      const seconds = (performance.now() - t0) / 1000;
      const after = await child.ask({ op: "usage" });
      const stopped = await child.ask({ op: "unserve" });
      if (!stopped.ok) return stopped;
      const cpu = (r: Reply) => {
        const u = r.usage as { user: number; system: number } | undefined;
        return u ? (u.user + u.system) / 1e6 : NaN;
      };
      const cpuPercent = 100 * (cpu(after) - cpu(before)) / seconds;
      return { ...reply, cpuPercent, ...(stopped.peaks ? { poolPeaks: stopped.peaks } : {}) };
    }, server.pid!);
    for (const [id, label] of HTTP_DESIGNS) {
      const mine = new Map(
        [...served].filter(([d]) => d.id === id).map(([d, t]) => [d.child, t]),
      );
      rows.push({
        id,
        label,
        unit: "req/s",
        higherIsBetter: true,
        cells: toCells(mine, AGGREGATE.rps),
      });
    }

    // memory: heap used after a forced GC, before and after sequential adds on the kept
    // connection; one warm-up pass (JIT code is heap too), then one measured pass
    await measureRows(
      [
        ["mem", [[
          "",
          `heap growth, ${HEAP_CALLS.toLocaleString("en-US")} × add`,
          "MB",
          "heapDelta",
          false,
        ]]],
      ],
      children,
      { rounds: 1, calls: HEAP_CALLS },
    );

    const shown = rows.filter((r) => !r.id.startsWith("http_") && !r.id.startsWith("obs_"));
    const observability = rows.filter((r) => r.id.startsWith("obs_"));
    const report: string[] = [];
    for (const rt of ["deno", "bun"] as const) {
      report.push(`### ${rt === "deno" ? "Deno" : "Bun"}\n`, table(shown, rt) + "\n");
    }
    report.push(
      `\n↑ higher is better, ↓ lower is better. raw floors: pre-encoded request bytes, reply ` +
        `bytes counted, in the same runtime, on a node:net socket and on the runtime's own ` +
        `socket API (Deno.connect / Bun.connect, used as the library's adapters use it); ` +
        `"lib ÷ faster floor" divides by the better of the two and names it; for "connection ` +
        `per call" and "pooled" the floor is the library on one kept connection (1 conn). ` +
        `server CPU: the C++ server's CPU % during the library's cells and during the faster ` +
        `floor's (100% = one core). 1 MiB echo: payload bytes one way. ` +
        `The server writes each reply in one write, except in the "${CHUNK_BYTES / 1024} KiB ` +
        `server writes" row (a second port writing every reply in ${CHUNK_BYTES}-byte pieces). ` +
        `heap growth: heap used after a forced full GC, after ${
          HEAP_CALLS.toLocaleString("en-US")
        } sequential adds on the kept connection minus before them (before → after, MB; ` +
        `process.memoryUsage().heapUsed).`,
    );
    report.push(
      `${ROUNDS} rounds x ${CELL_MS} ms per cell (${
        quick ? "quick" : "+1 warm-up round"
      }), wrk -t1 -c64 ` +
        `-d${WRK_SECONDS}s x ${WRK_ROUNDS}; ${cpus().length} cores: ${cpus()[0]?.model ?? "?"}`,
    );
    for (const rt of ["deno", "bun"] as const) {
      report.push(
        `\n### HTTP server + one add per request: ${rt === "deno" ? "Deno.serve" : "Bun.serve"}\n`,
        httpTable(rows, rt),
      );
    }
    report.push(
      `\nwrk -t1 -c64 against the runtime's HTTP server, one add per request; every design on ` +
        `both runtimes in the same rounds. The floors answer once the reply's bytes are in ` +
        `(no decoding), on the runtime's own socket API: pooled, ${POOL_MAX} sockets each ` +
        `leased by one request at a time and given back after its reply (requests beyond ` +
        `wait in order); shared, one socket for every request, replies matched in order (the ` +
        `server answers one connection's calls in order). npm thrift: one createConnection ` +
        `at start-up shared by every request (replies matched by seqid), and a thin pool of ` +
        `${POOL_MAX} connections leased one request at a time. The library: ` +
        `\`thrift.autoconnect\`, \`pool\` as named (max ${POOL_MAX}, the default, unless ` +
        `given). CPU: the C++ server's and the serving runtime's (100% = one core).`,
    );
    for (const rt of ["deno", "bun"] as const) {
      report.push(
        `\n### Observability overhead: ${rt === "deno" ? "Deno" : "Bun"}\n`,
        observabilityTable(observability, rt),
      );
    }
    report.push(
      `\nThe same calls on one kept connection, the four columns measured side by side in the ` +
        `same rounds. baseline: this library at commit ${BASELINE_COMMIT}, before hooks and ` +
        `telemetry existed. hooks: none: today's library with default options (` +
        `@opentelemetry/api loaded, no SDK registered). one no-op hook: ` +
        `\`hooks: [(call, next) => next()]\`. OTel SDK recording: the official SDK registered ` +
        `before the client is made (BasicTracerProvider, SimpleSpanProcessor into an ` +
        `InMemorySpanExporter emptied every round, a MeterProvider with a reader, the ` +
        `AsyncLocalStorage context manager, the W3C propagator): every call ends one span and ` +
        `records one rpc.client.call.duration point (checked each round). ${OBS_ROUNDS} ` +
        `rounds x ${CELL_MS} ms per cell${quick ? "" : " (+1 warm-up round)"}.`,
    );

    const missing = rows.flatMap((r) =>
      Object.entries(r.cells)
        .filter(([, c]) =>
          !(c.value !== undefined && Number.isFinite(c.value) &&
            (c.value > 0 || r.id === "mem")) &&
          !c.note?.startsWith("n/a")
        )
        .map(([name, c]) => `${r.label} / ${name}: ${c.note ?? c.value}`)
    );
    const { targets: verdict, information } = targets(rows);
    const missed = verdict.filter((t) => !t.met && !t.na);
    const unmeasured = verdict.filter((t) => t.na).length;
    report.push(
      `\n### Targets\n`,
      quick
        ? `Quick run: the counts are far too small for these ratios to mean anything; ` +
          `printed, never enforced.\n`
        : `${verdict.length - unmeasured - missed.length} of ${verdict.length - unmeasured} met${
          unmeasured > 0 ? ` (${unmeasured} n/a)` : ""
        }.\n`,
      ...verdict.map(targetLine),
      `\nInformation (no target):\n`,
      ...information.map(infoLine),
    );
    console.log("\n" + report.join("\n"));
    const out = here(`results/${quick ? "quick" : "latest"}.json`);
    mkdirSync(here("results"), { recursive: true });
    writeFileSync(out.replace(/json$/, "md"), report.join("\n") + "\n");
    writeFileSync(
      out,
      JSON.stringify(
        {
          started: started.toISOString(),
          quick,
          rounds: ROUNDS,
          cellMs: CELL_MS,
          cpus: cpus().length,
          cpu: cpus()[0]?.model,
          versions: versions(),
          chunkBytes: CHUNK_BYTES,
          heapCalls: HEAP_CALLS,
          baseline: { commit: BASELINE_COMMIT, ...(baselineNa ? { na: baselineNa } : {}) },
          targets: verdict,
          information,
          rows: rows.map((r) => ({
            ...r,
            cells: Object.fromEntries(
              Object.entries(r.cells).map((
                [k, c],
              ) => [k, {
                value: c.value,
                note: c.note,
                serverCpuPercent: c.serverCpuPercent,
                clientCpuPercent: c.clientCpuPercent,
                ...(r.id === "mem" && c.value !== undefined
                  ? { heapBeforeMB: mean(c.rounds, "before"), heapAfterMB: mean(c.rounds, "after") }
                  : {}),
                // the pool's peaks while serving (open, shared, inFlight), per round
                ...(c.rounds.some((x) => x.poolPeaks)
                  ? { poolPeaks: c.rounds.map((x) => x.poolPeaks) }
                  : {}),
              }]),
            ),
          })),
        },
        null,
        2,
      ) + "\n",
    );
    process.stderr.write(`wrote ${out}\n`);
    if (missing.length > 0) {
      console.error(
        `bench: ${missing.length} cell(s) without a number:\n  ${missing.join("\n  ")}`,
      );
      return 1;
    }
    return 0; // a missed target is a finding (printed above), not a failure of the run
  } finally {
    for (const c of [...children, ...observers]) c.proc.stdin!.end();
    server.stdin!.end();
    server.kill("SIGTERM");
  }
}

function versions(): Record<string, string> {
  const v = (cmd: string, args: string[]) =>
    spawnSync(cmd, args, { encoding: "utf8" }).stdout?.split("\n")[0]?.trim() ?? "?";
  return {
    deno: v(join(BIN, "deno"), ["--version"]),
    bun: v(join(BIN, "bun"), ["--version"]),
    node: v("node", ["--version"]),
    thrift: v("thrift", ["--version"]),
  };
}

process.exitCode = await main();
