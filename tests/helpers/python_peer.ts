/**
 * Starts `tests/peers/python_server.py` (Apache Thrift's own Python server, from Debian's
 * python3-thrift) as an independent interop peer, for tests under `deno test` and `bun test`.
 *
 * The peer prints `READY <port-or-path>` once it listens, and answers a line `stats <id>`
 * on its stdin with `STATS {"id": "<id>", "bytes": .., "connections": .., ...}`. It exits
 * on SIGTERM and when its stdin closes, so it dies with a crashed test process too.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** python3-thrift is importable only by Debian's interpreter, not a pyenv one on PATH. */
const PYTHON = "/usr/bin/python3";
const READY_TIMEOUT_MS = 20_000;
const STATS_TIMEOUT_MS = 5_000;
const KILL_GRACE_MS = 2_000;
const STDERR_LIMIT = 16_384;

function here(relative: string): string {
  return decodeURIComponent(new URL(relative, import.meta.url).pathname);
}

const SERVER = here("../peers/python_server.py");
const IDL = here("../idl/test.thrift");

let available: boolean | undefined;

/** True when `/usr/bin/python3` can import `thrift` and the `thrift` compiler runs. Cached. */
export function pythonThriftAvailable(): boolean {
  if (available === undefined) {
    const ok = (cmd: string, args: string[]) => {
      try {
        return spawnSync(cmd, args, { stdio: "ignore", timeout: 10_000 })
          .status === 0;
      } catch {
        return false;
      }
    };
    available = ok(PYTHON, ["-c", "import thrift"]) &&
      ok("thrift", ["--version"]);
  }
  return available;
}

let genDir: string | undefined;

/**
 * The Python code generated from the IDL, made once and kept in the temp directory under a
 * name derived from the IDL and the compiler version: later test processes reuse it (no
 * clean-up hook is needed; `deno test` runs no `exit` handlers), and a changed IDL gets a
 * fresh directory. Generated into a staging directory and renamed, so concurrent test
 * processes never see half a tree.
 */
function generatedCode(): string {
  if (genDir) return genDir;
  const version = spawnSync("thrift", ["--version"], { encoding: "utf8" }).stdout ?? "";
  const hash = createHash("sha256").update(readFileSync(IDL)).update(version)
    .digest("hex");
  const dir = join(tmpdir(), `thrift-peer-gen-${hash.slice(0, 16)}`);
  if (!existsSync(join(dir, "thrift_test", "Calculator.py"))) {
    const staging = mkdtempSync(`${dir}.staging-`);
    const result = spawnSync("thrift", ["--gen", "py", "-out", staging, IDL], {
      encoding: "utf8",
      timeout: 30_000,
    });
    if (result.status !== 0) {
      rmSync(staging, { recursive: true, force: true });
      throw new Error(
        `thrift --gen py failed (${result.error ?? `status ${result.status}`}): ${result.stderr}`,
      );
    }
    try {
      renameSync(staging, dir);
    } catch {
      rmSync(staging, { recursive: true, force: true }); // another process was first
    }
  }
  genDir = dir;
  return dir;
}

/** How the peer serves. TLS transports need `tls`; `tls.ca` turns on mutual TLS. */
export interface PeerOptions {
  transport: "tcp" | "unix" | "tcps" | "unixs" | "http" | "https";
  protocol?: "binary" | "compact" | "json";
  framed?: boolean;
  zlib?: boolean;
  multiplex?: boolean;
  tls?: { cert: string; key: string; ca?: string };
  /** http/https: answer every POST with this status and the body `peer says N`. */
  httpStatus?: number;
  /** http/https: serve Thrift on this path only; other paths get 404. */
  httpPath?: string;
}

/** What the peer has seen so far. */
export interface PeerStats {
  /** Application bytes received, counted after TLS (request bodies for http). */
  bytes: number;
  /** Connections accepted (TCP or unix), rejected ones included. */
  connections: number;
  /** Connections whose TLS handshake failed (bad or missing client certificate, ...). */
  rejected: number;
  /** Connections not yet closed, as the peer sees it (a close arrives a moment later). */
  open: number;
}

/** A running peer; `await using peer = await startPythonPeer(...)` stops it. */
export interface PythonPeer {
  /** e.g. `tcp://127.0.0.1:PORT`, `unix:/tmp/x/peer.sock`, `tcps://localhost:PORT`, `https://127.0.0.1:PORT/rpc` */
  url: string;
  /** The TCP port (tcp, tcps, http, https). */
  port?: number;
  /** The socket path (unix, unixs). */
  socketPath?: string;
  /** What the peer wrote to stderr so far (its tail), for failure messages. */
  stderr(): string;
  stats(): Promise<PeerStats>;
  [Symbol.asyncDispose](): Promise<void>;
}

function peerArgs(opts: PeerOptions, socketPath: string | undefined): string[] {
  const args = [
    SERVER,
    "--transport",
    opts.transport,
    "--gen-dir",
    generatedCode(),
  ];
  args.push("--control-stdin", "--protocol", opts.protocol ?? "binary");
  if (socketPath) args.push("--path", socketPath);
  else args.push("--port", "0");
  if (opts.framed) args.push("--framed");
  if (opts.zlib) args.push("--zlib");
  if (opts.multiplex) args.push("--multiplex");
  if (opts.tls) {
    args.push("--cert", opts.tls.cert, "--key", opts.tls.key);
    if (opts.tls.ca) args.push("--ca", opts.tls.ca);
  }
  if (opts.httpStatus !== undefined) {
    args.push("--http-status", String(opts.httpStatus));
  }
  if (opts.httpPath !== undefined) args.push("--http-path", opts.httpPath);
  return args;
}

function peerUrl(opts: PeerOptions, where: string): string {
  switch (opts.transport) {
    case "tcp":
      return `tcp://127.0.0.1:${where}`;
    case "tcps": // the test server certificate names localhost
      return `tcps://localhost:${where}`;
    case "unix":
    case "unixs":
      return `${opts.transport}:${where}`;
    default:
      return `${opts.transport}://127.0.0.1:${where}${opts.httpPath ?? "/"}`;
  }
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve(true);
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off("exit", onExit);
      resolve(false);
    }, ms);
    const onExit = () => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once("exit", onExit);
  });
}

/** Starts a peer and waits (at most 20 s) until it listens. */
export async function startPythonPeer(opts: PeerOptions): Promise<PythonPeer> {
  if (!pythonThriftAvailable()) {
    throw new Error("python3-thrift or the thrift compiler is not installed");
  }
  const secure = opts.transport === "tcps" || opts.transport === "unixs" ||
    opts.transport === "https";
  if (secure && !opts.tls) {
    throw new Error(`transport ${opts.transport} needs tls options`);
  }
  const unix = opts.transport === "unix" || opts.transport === "unixs";
  const tempDir = unix ? mkdtempSync(join(tmpdir(), "thrift-peer-")) : undefined;
  const socketPath = tempDir ? join(tempDir, "peer.sock") : undefined;

  let args: string[];
  try {
    args = peerArgs(opts, socketPath);
  } catch (err) {
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
    throw err;
  }
  const child = spawn(PYTHON, args, { stdio: ["pipe", "pipe", "pipe"] });

  let stderr = "";
  let stdoutBuffer = "";
  let ready: ((where: string) => void) | undefined;
  let nextStatsId = 0;
  const statsWaiters = new Map<string, (stats: PeerStats) => void>();
  let exitInfo: string | undefined;
  const exitListeners = new Set<(info: string) => void>();

  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_LIMIT);
  });
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    stdoutBuffer += chunk;
    let newline: number;
    while ((newline = stdoutBuffer.indexOf("\n")) >= 0) {
      const line = stdoutBuffer.slice(0, newline).trim();
      stdoutBuffer = stdoutBuffer.slice(newline + 1);
      if (line.startsWith("READY ")) ready?.(line.slice(6).trim());
      else if (line.startsWith("STATS ")) {
        const stats = JSON.parse(line.slice(6));
        const waiter = statsWaiters.get(String(stats.id));
        statsWaiters.delete(String(stats.id));
        waiter?.({
          bytes: stats.bytes,
          connections: stats.connections,
          rejected: stats.rejected,
          open: stats.open,
        });
      }
    }
  });
  // A write to a peer that already died must not crash the test process.
  child.stdin!.on("error", () => {});
  const onGone = (info: string) => {
    exitInfo ??= info;
    for (const listener of exitListeners) listener(exitInfo);
  };
  child.on("error", (err) => onGone(`could not run ${PYTHON}: ${err.message}`));
  // "close", not "exit": by then stderr has been read to its end, for the error message.
  child.on(
    "close",
    (code, signal) => onGone(`exited with ${signal ?? `code ${code}`}`),
  );

  /** Runs `start` and waits for it to resolve; rejects on timeout or when the peer dies. */
  const guarded = <T>(
    what: string,
    ms: number,
    start: (resolve: (v: T) => void) => void,
  ) =>
    new Promise<T>((resolve, reject) => {
      const fail = (why: string) => {
        cleanup();
        reject(
          new Error(
            `python peer (${opts.transport}): ${what} ${why}\n--- stderr ---\n${stderr}`,
          ),
        );
      };
      const onExit = (info: string) => fail(`failed: the peer ${info}`);
      const timer = setTimeout(() => fail(`timed out after ${ms} ms`), ms);
      const cleanup = () => {
        clearTimeout(timer);
        exitListeners.delete(onExit);
      };
      if (exitInfo) return onExit(exitInfo);
      exitListeners.add(onExit);
      start((value) => {
        cleanup();
        resolve(value);
      });
    });

  let disposed: Promise<void> | undefined;
  const dispose = () =>
    disposed ??= (async () => {
      if (exitInfo === undefined) {
        child.kill("SIGTERM");
        if (!(await waitForExit(child, KILL_GRACE_MS))) {
          child.kill("SIGKILL");
          await waitForExit(child, KILL_GRACE_MS);
        }
      }
      child.stdin!.destroy();
      child.stdout!.destroy();
      child.stderr!.destroy();
      if (tempDir) rmSync(tempDir, { recursive: true, force: true });
    })();

  let where: string;
  try {
    where = await guarded<string>("start", READY_TIMEOUT_MS, (resolve) => {
      ready = resolve;
    });
  } catch (err) {
    await dispose();
    throw err;
  }

  return {
    url: peerUrl(opts, where),
    port: unix ? undefined : Number(where),
    socketPath,
    stderr: () => stderr,
    stats: () =>
      guarded<PeerStats>("stats", STATS_TIMEOUT_MS, (resolve) => {
        const id = String(++nextStatsId);
        statsWaiters.set(id, resolve);
        child.stdin!.write(`stats ${id}\n`);
      }),
    [Symbol.asyncDispose]: dispose,
  };
}
