// One benchmark column: one client (this library, npm `thrift`, or a raw-socket floor) in
// the runtime that runs this file (Deno, Bun or Node). Plain JavaScript so that Node 20 runs it
// as it is. Driven by bench/bench.ts over stdin / stdout, one JSON object per line:
//
//   node|bun|deno run bench/child.js <kind> <port> [<chunked port>]
//   <- {"op":"run","workload":"seq","ms":400}   -> {"ok":true,"calls":N,"seconds":S,...}
//   <- {"op":"run","workload":"mem","calls":N}  -> {"ok":true,"before":MB,"after":MB,...}
//   <- {"op":"serve","mode":"plain|rawpool|rawshared|npmpool|npmshared|auto|pool|pipe",
//       "pipelining":N,"max":M}                 -> {"ok":true,"port":P}   (Deno and Bun)
//   <- {"op":"usage"}                           -> {"ok":true,"usage":process.cpuUsage()}
//   <- {"op":"unserve"}                         -> {"ok":true,"peaks":{open,shared,inFlight}}
//
// Every client offers the same three calls (add, echo, points) so one driver measures them all.
// The chunked port (bench_server --chunk) writes every reply in small pieces.
//
// Kinds: `lib` (this library, default options), `npm`, `raw` (the floor on node:net), `rawrt`
// (the floor on Deno.connect / Bun.connect), and for the observability table `lib_base` (the
// library before hooks and telemetry: .tmp/bench-baseline/mod.ts, extracted by bench.ts),
// `lib_hook` (one no-op hook), `lib_otel` (the official OpenTelemetry SDK registered before the
// client is made, so every call records a span and a histogram point). The HTTP modes do not
// depend on the kind (bench.ts serves them from the `lib` child; handlerFor says what each is).
import { Buffer } from "node:buffer";
import net from "node:net";
import { createInterface } from "node:readline";
import process from "node:process";
import { setImmediate } from "node:timers";
import Bench from "./gen/Bench.js";

const HOST = "127.0.0.1";
const IN_FLIGHT = 64;
const ECHO_BYTES = 1 << 20;
const POINTS = 100_000;
const BIG_POINTS = 4 * POINTS;

const [kind, portText, chunkedPortText] = process.argv.slice(2);
const port = Number(portText);
const chunkedPort = Number(chunkedPortText);
const url = `tcp://${HOST}:${port}`;
const runtime = globalThis.Deno ? "deno" : globalThis.Bun ? "bun" : "node";
const payload = Buffer.alloc(ECHO_BYTES, 7);

// ---- raw floor: pre-encoded binary-protocol requests, replies counted by length ----

/** A strict binary-protocol CALL message; `args` is the encoded argument struct body. */
function message(name, args) {
  const head = Buffer.alloc(12 + name.length);
  head.writeUInt32BE(0x80010001, 0);
  head.writeInt32BE(name.length, 4);
  head.write(name, 8, "latin1");
  head.writeInt32BE(0, 8 + name.length); // seqid: the server echoes it; the floor ignores it
  return Buffer.concat([head, args, Buffer.from([0])]);
}

function i32Field(id, value) {
  const b = Buffer.alloc(7);
  b.writeUInt8(8, 0);
  b.writeInt16BE(id, 1);
  b.writeInt32BE(value, 3);
  return b;
}

function binaryField(id, bytes) {
  const b = Buffer.alloc(7);
  b.writeUInt8(11, 0);
  b.writeInt16BE(id, 1);
  b.writeInt32BE(bytes.length, 3);
  return Buffer.concat([b, bytes]);
}

/** Reply size: header (12 + name), field 0 header (3), the value, two stops (struct, args). */
const replyBytes = (name, valueBytes) => 12 + name.length + 3 + valueBytes + 1;

// list header (type + size) then per Point: two i32 fields (3 + 4 each) and a stop
const rawPoints = (n) => ({
  req: message("points", i32Field(1, n)),
  len: replyBytes("points", 5 + n * 15),
});
const RAW = {
  add: {
    req: message("add", Buffer.concat([i32Field(1, 1), i32Field(2, 2)])),
    len: replyBytes("add", 4),
  },
  echo: { req: message("echo", binaryField(1, payload)), len: replyBytes("echo", 4 + ECHO_BYTES) },
  [`points${POINTS}`]: rawPoints(POINTS),
  [`points${BIG_POINTS}`]: rawPoints(BIG_POINTS),
};

function rawClient(port) {
  const socket = net.connect(port, HOST);
  socket.setNoDelay(true);
  let received = 0;
  let expected = 0;
  const waiting = []; // [byte count that completes the call, resolve], in order
  let failure;
  const fail = (err) => {
    failure = err;
    for (const [, , reject] of waiting.splice(0)) reject(err);
  };
  socket.on("data", (chunk) => {
    received += chunk.length;
    while (waiting.length > 0 && received >= waiting[0][0]) waiting.shift()[1]();
  });
  socket.on("error", fail);
  socket.on("close", () => fail(new Error("raw: connection closed")));
  const opened = new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const call = ({ req, len }) =>
    new Promise((resolve, reject) => {
      if (failure) return reject(failure);
      expected += len;
      waiting.push([expected, resolve, reject]);
      socket.write(req);
    });
  return {
    opened,
    add: () => call(RAW.add),
    echo: () => call(RAW.echo),
    points: (n) => call(RAW[`points${n}`]),
    close: () => socket.destroy(),
  };
}

// ---- raw floor on the runtime's own socket API (Deno.connect / Bun.connect) ----

/**
 * The same in-order byte counting as rawClient, on `Deno.connect` (one read loop into one
 * reused buffer; one writer at a time, requests queued meanwhile go out in one write) or on
 * `Bun.connect` (the first write of a tick at once, the others of that tick in one write;
 * what the socket does not take waits for `drain`): the runtime's fastest socket API, used as
 * the library's adapters use it. `gather: "loop"` (the shared HTTP floor) instead holds every
 * request until the event loop's check phase (setImmediate) and sends all the requests of
 * that loop turn in one write: concurrent HTTP requests arrive in separate ticks, and one
 * write for all of them measured ~15-20 % more requests/s on both runtimes than a write per
 * tick; a lone sequential caller would only wait longer for it.
 */
async function nativeRawClient(port, gather = "tick") {
  let received = 0;
  let expected = 0;
  const waiting = []; // [byte count that completes the call, resolve, reject], in order
  let failure;
  const fail = (err) => {
    failure ??= err;
    for (const [, , reject] of waiting.splice(0)) reject(failure);
  };
  const onData = (n) => {
    received += n;
    while (waiting.length > 0 && received >= waiting[0][0]) waiting.shift()[1]();
  };
  const send = runtime === "deno"
    ? await denoRawSocket(port, onData, fail, gather)
    : await bunRawSocket(port, onData, fail, gather);
  const call = ({ req, len }) =>
    new Promise((resolve, reject) => {
      if (failure) return reject(failure);
      expected += len;
      waiting.push([expected, resolve, reject]);
      send.write(req);
    });
  return {
    opened: Promise.resolve(),
    add: () => call(RAW.add),
    echo: () => call(RAW.echo),
    points: (n) => call(RAW[`points${n}`]),
    close: () => {
      fail(new Error("raw: closed"));
      send.close();
    },
  };
}

async function denoRawSocket(port, onData, fail, gather) {
  const conn = await globalThis.Deno.connect({ hostname: HOST, port });
  conn.setNoDelay(true);
  let closed = false;
  void (async () => {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) onData(n);
      fail(new Error("raw: connection closed"));
    } catch (err) {
      fail(err);
    }
  })();
  let queued = [];
  let writing = false;
  const pump = async () => {
    writing = true;
    try {
      while (queued.length > 0 && !closed) {
        const chunk = queued.length === 1 ? queued[0] : Buffer.concat(queued);
        queued = [];
        for (let off = 0; off < chunk.length;) off += await conn.write(chunk.subarray(off));
      }
    } catch (err) {
      fail(err);
    } finally {
      writing = false;
    }
  };
  return {
    write(bytes) {
      queued.push(bytes);
      if (writing) return;
      if (gather === "loop") {
        writing = true;
        setImmediate(pump);
      } else void pump();
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        conn.close();
      } catch { /* closed already */ }
    },
  };
}

async function bunRawSocket(port, onData, fail, gather) {
  let pending = []; // bytes the socket did not take yet, in order
  let batch = [];
  let batching = false;
  const socket = await globalThis.Bun.connect({
    hostname: HOST,
    port,
    socket: {
      binaryType: "uint8array",
      data: (_s, chunk) => onData(chunk.length),
      drain: (s) => {
        if (pending.length === 0) return;
        const chunk = pending.length === 1 ? pending[0] : Buffer.concat(pending);
        const n = Math.max(s.write(chunk), 0);
        pending = n < chunk.length ? [chunk.subarray(n)] : [];
      },
      close: () => fail(new Error("raw: connection closed")),
      error: (_s, err) => fail(err),
    },
  });
  socket.setNoDelay(true);
  const put = (chunk) => {
    if (pending.length > 0) return void pending.push(chunk);
    const n = Math.max(socket.write(chunk), 0);
    if (n < chunk.length) pending.push(chunk.subarray(n));
  };
  const flushBatch = () => {
    batching = false;
    if (batch.length === 0) return;
    const chunk = batch.length === 1 ? batch[0] : Buffer.concat(batch);
    batch = [];
    put(chunk);
  };
  return {
    write(bytes) {
      if (batching) return void batch.push(bytes);
      batching = true;
      if (gather === "loop") {
        batch.push(bytes);
        return void setImmediate(flushBatch);
      }
      queueMicrotask(flushBatch); // the first write of a tick goes out at once, the rest together
      put(bytes);
    },
    close: () => socket.end(),
  };
}

// ---- npm `thrift` ----

async function npmClient(port) {
  const { default: thrift } = await import("thrift");
  const connection = thrift.createConnection(HOST, port, {
    transport: thrift.TBufferedTransport,
    protocol: thrift.TBinaryProtocol,
  });
  connection.on("error", () => {}); // a failing call rejects; the event must not crash us
  const opened = new Promise((resolve, reject) => {
    connection.once("connect", resolve);
    connection.once("error", reject);
  });
  const client = thrift.createClient(Bench, connection);
  return {
    opened,
    add: () => client.add(1, 2),
    echo: () => client.echo(payload),
    points: (n) => client.points(n),
    close: () => connection.destroy(),
  };
}

// ---- this library ----

let lib;
/**
 * Not a literal: `deno check` would follow it into the extracted baseline, which predates
 * the strict compiler options.
 */
const BASELINE_MOD = ["..", ".tmp", "bench-baseline", "mod.ts"].join("/");
const loadLib =
  async () => (lib ??= kind === "lib_base"
    ? await import(BASELINE_MOD)
    : await import("../mod.ts"));

/** The options of the kind's client, beside the transport. */
const LIB_OPTIONS = kind === "lib_hook" ? { hooks: [(_call, next) => next()] } : {};

async function libClient(port) {
  const { ThriftClient } = await loadLib();
  const thrift = new ThriftClient(Bench.Client, {
    transport: `tcp://${HOST}:${port}`,
    ...LIB_OPTIONS,
  });
  const conn = thrift.connect();
  return {
    opened: conn.open(),
    add: () => conn.client.add(1, 2),
    echo: () => conn.client.echo(payload),
    points: (n) => conn.client.points(n),
    close: () => conn.close(),
  };
}

/** A ThriftClient with `pool: true`, or undefined when the library has no pool yet. */
async function pooledThrift() {
  const { ThriftClient, ConfigError } = await loadLib();
  try {
    const thrift = new ThriftClient(Bench.Client, { transport: url, pool: true });
    return thrift.pool === undefined ? undefined : thrift; // an option silently ignored
  } catch (err) {
    if (err instanceof ConfigError) return undefined;
    throw err;
  }
}

// ---- lib_otel: the official OpenTelemetry SDK, registered as an application would ----

/**
 * Registers a tracer provider (a SimpleSpanProcessor into an InMemorySpanExporter), a meter
 * provider with a reader collecting on demand, the AsyncLocalStorage context manager and the
 * W3C propagator. `reset()` before a round empties the exporter (memory stays flat) and the
 * reader; `check(calls)` after it proves each call ended one span and recorded one point.
 */
async function registerOtelSdk() {
  const [api, asyncHooks, core, sdkMetrics, sdkTrace] = await Promise.all([
    import("@opentelemetry/api"),
    import("@opentelemetry/context-async-hooks"),
    import("@opentelemetry/core"),
    import("@opentelemetry/sdk-metrics"),
    import("@opentelemetry/sdk-trace-base"),
  ]);
  class OnDemandReader extends sdkMetrics.MetricReader {
    constructor() {
      super({ aggregationTemporalitySelector: () => sdkMetrics.AggregationTemporality.DELTA });
    }
    onShutdown() {
      return Promise.resolve();
    }
    onForceFlush() {
      return Promise.resolve();
    }
  }
  const exporter = new sdkTrace.InMemorySpanExporter();
  const reader = new OnDemandReader();
  api.context.setGlobalContextManager(new asyncHooks.AsyncLocalStorageContextManager().enable());
  api.propagation.setGlobalPropagator(new core.W3CTraceContextPropagator());
  api.trace.setGlobalTracerProvider(
    new sdkTrace.BasicTracerProvider({
      spanProcessors: [new sdkTrace.SimpleSpanProcessor(exporter)],
    }),
  );
  api.metrics.setGlobalMeterProvider(new sdkMetrics.MeterProvider({ readers: [reader] }));
  /** Histogram points recorded since the last collection. */
  const points = async () => {
    const { resourceMetrics } = await reader.collect();
    return resourceMetrics.scopeMetrics.flatMap((s) => s.metrics)
      .filter((m) => m.descriptor.name === "rpc.client.call.duration")
      .flatMap((m) => m.dataPoints)
      .reduce((n, p) => n + p.value.count, 0);
  };
  return {
    async reset() {
      exporter.reset();
      await points();
    },
    async check(calls) {
      const spans = exporter.getFinishedSpans().length;
      const recorded = await points();
      exporter.reset();
      if (spans !== calls || recorded !== calls) {
        throw new Error(`lib_otel: ${calls} calls ended ${spans} spans, ${recorded} points`);
      }
      return { spans, points: recorded };
    },
  };
}

const otel = kind === "lib_otel" ? await registerOtelSdk() : undefined;

// ---- workloads ----

const clients = {};
/** The client on one kept connection to the main port, or to the chunked one. */
async function client(which = "main") {
  if (!clients[which]) {
    const p = which === "main" ? port : chunkedPort;
    if (!(p > 0)) throw new Error(`no port for ${which}`);
    const make = kind.startsWith("lib")
      ? libClient
      : kind === "npm"
      ? npmClient
      : kind === "rawrt"
      ? nativeRawClient
      : rawClient;
    const made = await make(p);
    await made.opened;
    clients[which] = made;
  }
  return clients[which];
}

/** Sequential `points(n)` calls; the first one through a client is checked (not for raw). */
async function points(which, n, ms) {
  const c = await client(which);
  const checked = `checked ${which} ${n}`;
  if (!kind.startsWith("raw") && !clients[checked]) {
    const got = await c.points(n);
    if (got.length !== n || got[n - 1].y !== -(n - 1)) {
      throw new Error(`points(${n}): got ${got.length} points`);
    }
    clients[checked] = true;
  }
  return sequential(() => c.points(n), ms);
}

const MB = 1e6;
/** A full, synchronous collection, or undefined when the runtime does not offer one. */
const fullGc = globalThis.Bun
  ? () => globalThis.Bun.gc(true)
  : typeof globalThis.gc === "function"
  ? () => globalThis.gc()
  : undefined;

/** The heap used (MB) after a forced GC before and after `calls` sequential adds. */
async function heapGrowth(calls) {
  const c = await client();
  if (!fullGc) return { na: "no forced GC" };
  const heap = () => {
    fullGc();
    fullGc();
    return process.memoryUsage().heapUsed / MB;
  };
  const before = heap();
  const start = performance.now();
  for (let i = 0; i < calls; i++) await c.add();
  const seconds = (performance.now() - start) / 1000;
  const after = heap();
  return { calls, seconds, before, after, delta: after - before };
}

function percentile(sorted, p) {
  return sorted.length === 0
    ? NaN
    : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/** Sequential calls of `fn` until `ms` passed (at least one); latencies in ms. */
async function sequential(fn, ms) {
  const lat = [];
  const start = performance.now();
  const end = start + ms;
  let now = start;
  do {
    const t = now;
    await fn();
    now = performance.now();
    lat.push(now - t);
  } while (now < end);
  lat.sort((a, b) => a - b);
  return {
    calls: lat.length,
    seconds: (now - start) / 1000,
    p50: percentile(lat, 0.5),
    p99: percentile(lat, 0.99),
  };
}

async function parallel(fn, ms) {
  let calls = 0;
  const start = performance.now();
  const end = start + ms;
  const worker = async () => {
    while (performance.now() < end) {
      await fn();
      calls++;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return { calls, seconds: (performance.now() - start) / 1000 };
}

const WORKLOADS = {
  seq: async (ms) => sequential((await client()).add, ms),
  par: async (ms) => parallel((await client()).add, ms),
  echo: async (ms) => {
    const c = await client();
    const r = await sequential(c.echo, ms);
    return { ...r, bytes: r.calls * ECHO_BYTES };
  },
  list: (ms) => points("main", POINTS, ms),
  list4: (ms) => points("main", BIG_POINTS, ms),
  listchunked: (ms) => points("chunked", POINTS, ms),
  mem: (_ms, cmd) => heapGrowth(cmd.calls),
  // this library only: a connection per call (the default) vs leased from the pool
  percall: async (ms) => {
    const { ThriftClient } = await loadLib();
    clients.percall ??= new ThriftClient(Bench.Client, { transport: url });
    return sequential(() => clients.percall.client.add(1, 2), ms);
  },
  pooled: async (ms) => {
    if (!("pooled" in clients)) clients.pooled = await pooledThrift();
    if (clients.pooled === undefined) return { na: "no pool" };
    return sequential(() => clients.pooled.client.add(1, 2), ms);
  },
};

// ---- end to end: Deno.serve / Bun.serve, one add per request ----

/** Connections of the pools the HTTP modes below keep (the library's default `max`). */
const POOL_MAX = 10;
let server;
/** What the serving mode holds (connections, a client): released by `unserve`. */
const held = [];
/** The pool counters sampled while a library mode serves: the peaks, for the JSON. */
let peaks;

/**
 * The thin pool a user would write around a client of their own: up to POOL_MAX kept
 * connections, a request takes an idle one (or opens one, or waits in order), and gives it
 * back after its reply.
 */
function pooledHandler(make) {
  const idle = [];
  const waiters = [];
  let open = 0;
  const lease = async () => {
    if (idle.length > 0) return idle.pop();
    if (open >= POOL_MAX) return await new Promise((resolve) => waiters.push(resolve));
    open++;
    const c = await make(port);
    held.push(c);
    await c.opened;
    return c;
  };
  const giveBack = (c) => {
    const next = waiters.shift();
    if (next) next(c);
    else idle.push(c);
  };
  return async () => {
    const c = await lease();
    try {
      return new Response(String(await c.add()));
    } finally {
      giveBack(c);
    }
  };
}

/** One connection made at start-up and shared by every request (in order, or by seqid). */
async function sharedHandler(make) {
  const c = await make(port);
  held.push(c);
  await c.opened;
  return async () => new Response(String(await c.add()));
}

/**
 * The HTTP modes (the raw floors answer "3" once the reply's bytes are in; they do not decode):
 * plain: no Thrift; rawpool / rawshared: pre-encoded bytes on the runtime's own socket API,
 * a pool of exclusive sockets / one shared socket; npmpool / npmshared: npm `thrift` in the
 * thin pool / one `createConnection` shared (its client matches replies by seqid); auto: the
 * library, a connection per request; pool: `pool: true`; pipe: `pool: { pipelining }`.
 */
async function handlerFor(cmd) {
  const { mode } = cmd;
  if (mode === "plain") return () => new Response("3");
  if (mode === "rawpool") return pooledHandler(nativeRawClient);
  if (mode === "rawshared") return await sharedHandler((p) => nativeRawClient(p, "loop"));
  if (mode === "npmpool") return pooledHandler(npmClient);
  if (mode === "npmshared") return await sharedHandler(npmClient);
  const { ThriftClient } = await loadLib();
  const thrift = mode === "pool"
    ? await pooledThrift()
    : mode === "pipe"
    ? new ThriftClient(Bench.Client, {
      transport: url,
      pool: { pipelining: cmd.pipelining, ...(cmd.max ? { max: cmd.max } : {}) },
    })
    : mode === "auto"
    ? new ThriftClient(Bench.Client, { transport: url })
    : undefined;
  if (mode !== "auto" && thrift?.pool === undefined) {
    throw new Error(`serve: ${mode === "pipe" || mode === "pool" ? "no pool" : "no mode"} ${mode}`);
  }
  held.push(thrift);
  if (thrift.pool) {
    peaks = { open: 0, shared: 0, inFlight: 0 };
    const timer = setInterval(() => {
      const now = thrift.pool;
      for (const k of Object.keys(peaks)) peaks[k] = Math.max(peaks[k], now[k] ?? 0);
    }, 50);
    held.push({ close: () => clearInterval(timer) });
  }
  return thrift.autoconnect(async () => new Response(String(await thrift.client.add(1, 2))));
}

async function serve(cmd) {
  const handler = await handlerFor(cmd);
  if (runtime === "deno") {
    server = globalThis.Deno.serve({ hostname: HOST, port: 0, onListen() {} }, handler);
    return { port: server.addr.port };
  }
  if (runtime === "bun") {
    server = globalThis.Bun.serve({ hostname: HOST, port: 0, fetch: handler });
    return { port: server.port };
  }
  throw new Error("serve: Deno or Bun only");
}

async function unserve() {
  if (runtime === "deno") await server?.shutdown();
  else server?.stop(true);
  server = undefined;
  for (const h of held.splice(0)) await h.close();
  const out = peaks ? { peaks } : {};
  peaks = undefined;
  return out;
}

async function handle(line) {
  const cmd = JSON.parse(line);
  try {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let result;
    if (cmd.op === "run") {
      await otel?.reset();
      result = await WORKLOADS[cmd.workload](cmd.ms, cmd);
      if (otel && result.calls !== undefined) Object.assign(result, await otel.check(result.calls));
    } else if (cmd.op === "serve") result = await serve(cmd);
    else if (cmd.op === "unserve") result = await unserve();
    else if (cmd.op === "usage") result = { usage: process.cpuUsage() };
    else throw new Error(`unknown op ${cmd.op}`);
    const cpu = process.cpuUsage(cpu0);
    const cpuPercent = (cpu.user + cpu.system) / 10 / (performance.now() - t0);
    return { ok: true, cpuPercent, ...result };
  } catch (err) {
    return { ok: false, error: String(err?.stack ?? err) };
  }
}

const rl = createInterface({ input: process.stdin });
let queue = Promise.resolve();
rl.on("line", (line) => {
  queue = queue.then(async () => process.stdout.write(JSON.stringify(await handle(line)) + "\n"));
});
rl.on("close", () => queue.then(() => process.exit(0)));
process.stdout.write(JSON.stringify({ ok: true, ready: runtime, kind }) + "\n");
