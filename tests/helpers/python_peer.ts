/**
 * Starts `tests/peers/python_server.py` (Apache Thrift's own Python server, from Debian's
 * python3-thrift) as an independent interop peer, for tests under `deno test` and `bun test`.
 *
 * The peer prints `READY <port-or-path>` once it listens, and answers a line `stats <id>`
 * on its stdin with `STATS {"id": "<id>", "bytes": .., "connections": .., ...}`. It exits
 * on SIGTERM and when its stdin closes, so it dies with a crashed test process too.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CommonPeerOptions, peerListen, peerUrl, startPeerProcess } from "./peer_process.ts";

/** python3-thrift is importable only by Debian's interpreter, not a pyenv one on PATH. */
const PYTHON = "/usr/bin/python3";
const READY_TIMEOUT_MS = 20_000;
const STATS_TIMEOUT_MS = 5_000;

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
export interface PeerOptions extends CommonPeerOptions {
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
  port?: number | undefined;
  /** The socket path (unix, unixs). */
  socketPath?: string | undefined;
  /** What the peer wrote to stderr so far (its tail), for failure messages. */
  stderr(): string;
  stats(): Promise<PeerStats>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts a peer and waits (at most 20 s) until it listens. */
export async function startPythonPeer(opts: PeerOptions): Promise<PythonPeer> {
  if (!pythonThriftAvailable()) {
    throw new Error("python3-thrift or the thrift compiler is not installed");
  }
  const genDir = generatedCode(); // first: if it throws, no temp directory is left behind
  const { args, tempDir, socketPath } = peerListen(opts, "thrift-peer-");
  args.unshift(SERVER, "--gen-dir", genDir);
  if (opts.httpStatus !== undefined) {
    args.push("--http-status", String(opts.httpStatus));
  }
  if (opts.httpPath !== undefined) args.push("--http-path", opts.httpPath);

  let nextStatsId = 0;
  const statsWaiters = new Map<string, (stats: PeerStats) => void>();
  const peer = await startPeerProcess(PYTHON, args, {
    label: `python peer (${opts.transport})`,
    readyTimeoutMs: READY_TIMEOUT_MS,
    tempDir,
    onLine: (line) => {
      if (!line.startsWith("STATS ")) return;
      const stats = JSON.parse(line.slice(6));
      const waiter = statsWaiters.get(String(stats.id));
      statsWaiters.delete(String(stats.id));
      waiter?.({
        bytes: stats.bytes,
        connections: stats.connections,
        rejected: stats.rejected,
        open: stats.open,
      });
    },
  });

  return {
    url: peerUrl(opts.transport, peer.ready, opts.httpPath),
    port: socketPath ? undefined : Number(peer.ready),
    socketPath,
    stderr: peer.stderr,
    stats: () =>
      peer.waitFor<PeerStats>("stats", STATS_TIMEOUT_MS, (resolve) => {
        const id = String(++nextStatsId);
        statsWaiters.set(id, resolve);
        peer.send(`stats ${id}\n`);
      }),
    [Symbol.asyncDispose]: peer[Symbol.asyncDispose],
  };
}
