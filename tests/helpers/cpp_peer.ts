/**
 * Starts `tests/peers/cpp_server.cpp` (Apache Thrift's own C++ server, on Debian's
 * libthrift-dev) as a second independent interop peer, for tests under `deno test` and
 * `bun test`. The server is compiled once per machine and kept in the temp directory.
 *
 * The peer prints `READY <port-or-path>` once it listens. It exits on SIGTERM and when its
 * stdin closes, so it dies with a crashed test process too.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { peerListen, peerUrl, startPeerProcess } from "./peer_process.ts";
import type { PeerOptions } from "./python_peer.ts";

const BUILD_TIMEOUT_MS = 180_000;
const READY_TIMEOUT_MS = 20_000;
const STDERR_LIMIT = 16_384;
const THRIFT_HEADER = "/usr/include/thrift/Thrift.h";
/** Holds libthrift's PACKAGE_VERSION: a new libthrift gets a fresh build. */
const THRIFT_CONFIG = "/usr/include/thrift/config.h";

function here(relative: string): string {
  return decodeURIComponent(new URL(relative, import.meta.url).pathname);
}

const SERVER = here("../peers/cpp_server.cpp");
const IDL = here("../idl/test.thrift");

function versionOf(cmd: string): string | undefined {
  try {
    const result = spawnSync(cmd, ["--version"], { encoding: "utf8", timeout: 10_000 });
    return result.status === 0 ? result.stdout : undefined;
  } catch {
    return undefined;
  }
}

/** What the build needs, by Debian package; the headers stand for the package. */
const REQUIREMENTS: [pkg: string, present: () => boolean][] = [
  ["g++", () => versionOf("g++") !== undefined],
  ["thrift-compiler", () => versionOf("thrift") !== undefined],
  ["libthrift-dev", () => existsSync(THRIFT_HEADER)],
  ["libboost-dev", () => existsSync("/usr/include/boost/version.hpp")],
  ["libssl-dev", () => existsSync("/usr/include/openssl/ssl.h")],
  ["zlib1g-dev", () => existsSync("/usr/include/zlib.h")],
];

let missing: string[] | undefined;

/** The Debian packages the C++ peer needs and this machine lacks. Cached. */
export function cppPeerMissing(): string[] {
  missing ??= REQUIREMENTS.filter(([, present]) => !present()).map(([pkg]) => pkg);
  return missing;
}

/** True when `g++`, the `thrift` compiler and libthrift's headers (and theirs) are installed. */
export function cppPeerAvailable(): boolean {
  return cppPeerMissing().length === 0;
}

/** Runs a command; resolves with its exit status and its stdout and stderr interleaved. */
function run(
  cmd: string,
  args: string[],
  cwd: string,
  deadline: number,
): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const collect = (chunk: string) => {
      output = (output + chunk).slice(-STDERR_LIMIT);
    };
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.setEncoding("utf8");
      stream.on("data", collect);
    }
    const timer = setTimeout(() => {
      output += `\n(killed: the build took longer than ${BUILD_TIMEOUT_MS} ms)`;
      child.kill("SIGKILL");
    }, Math.max(0, deadline - Date.now()));
    child.on("error", (err) => {
      clearTimeout(timer);
      resolve({ ok: false, output: `could not run ${cmd}: ${err.message}` });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, output: code === 0 ? output : `${output}\n(${signal ?? code})` });
    });
  });
}

let built: Promise<string> | undefined;

/**
 * The compiled server's path. It is built once and kept in the temp directory under a name
 * derived from the server's source, the IDL, libthrift's version and the compilers' versions
 * (later test processes reuse it; a change gets a fresh build). Built in a staging directory
 * and renamed, so concurrent test processes never run half a binary. Takes up to 180 s.
 */
export function buildCppPeer(): Promise<string> {
  return built ??= (async () => {
    if (!cppPeerAvailable()) {
      throw new Error(`C++ peer: not installed: ${cppPeerMissing().join(", ")}`);
    }
    const hash = createHash("sha256")
      .update(readFileSync(SERVER))
      .update(readFileSync(IDL))
      .update(existsSync(THRIFT_CONFIG) ? readFileSync(THRIFT_CONFIG) : "")
      .update(versionOf("g++") ?? "")
      .update(versionOf("thrift") ?? "")
      .digest("hex");
    const dir = join(tmpdir(), `thrift-cpp-peer-${hash.slice(0, 16)}`);
    const binary = join(dir, "cpp_server");
    if (existsSync(binary)) return binary;

    const deadline = Date.now() + BUILD_TIMEOUT_MS;
    const staging = mkdtempSync(`${dir}.staging-`);
    const gen = join(staging, "gen");
    mkdirSync(gen);
    const fail = (what: string, output: string) => {
      rmSync(staging, { recursive: true, force: true });
      return new Error(`C++ peer: ${what} failed:\n${output}`);
    };
    const generated = await run("thrift", ["--gen", "cpp", "-out", gen, IDL], staging, deadline);
    if (!generated.ok) throw fail("thrift --gen cpp", generated.output);
    const sources = ["Calculator.cpp", "Greeter.cpp", "test_types.cpp"].map((f) => join(gen, f));
    const compiled = await run(
      "g++",
      [
        "-std=c++17",
        "-O1",
        "-I",
        gen,
        "-o",
        join(staging, "cpp_server"),
        SERVER,
        ...sources,
        "-lthrift",
        "-lthriftz",
        "-lssl",
        "-lcrypto",
        "-lz",
        "-lpthread",
      ],
      staging,
      deadline,
    );
    if (!compiled.ok) throw fail("g++", compiled.output);
    rmSync(gen, { recursive: true, force: true });
    try {
      renameSync(staging, dir);
    } catch {
      rmSync(staging, { recursive: true, force: true }); // another process was first
    }
    return binary;
  })().catch((err) => {
    built = undefined; // a later test may try again (and report the same output)
    throw err;
  });
}

/**
 * How the peer serves: the Python peer's options without `httpStatus` and `httpPath` (C++'s
 * THttpServer answers every path and has no status switch). TLS transports need `tls`;
 * `tls.ca` turns on mutual TLS.
 */
export type CppPeerOptions = Omit<PeerOptions, "httpStatus" | "httpPath">;

/** A running peer; `await using peer = await startCppPeer(...)` stops it. */
export interface CppPeer {
  /** e.g. `tcp://127.0.0.1:PORT`, `unix:/tmp/x/peer.sock`, `https://127.0.0.1:PORT/` */
  url: string;
  /** The TCP port (tcp, tcps, http, https). */
  port?: number | undefined;
  /** The socket path (unix, unixs). */
  socketPath?: string | undefined;
  /** What the peer wrote to stderr so far (its tail), for failure messages. */
  stderr(): string;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Builds the peer if needed (up to 180 s), starts it and waits (20 s) until it listens. */
export async function startCppPeer(opts: CppPeerOptions): Promise<CppPeer> {
  const binary = await buildCppPeer();
  const { args, tempDir, socketPath } = peerListen(opts, "thrift-cpp-peer-sock-");
  const peer = await startPeerProcess(binary, args, {
    label: `C++ peer (${opts.transport})`,
    readyTimeoutMs: READY_TIMEOUT_MS,
    tempDir,
  });
  return {
    url: peerUrl(opts.transport, peer.ready),
    port: socketPath ? undefined : Number(peer.ready),
    socketPath,
    stderr: peer.stderr,
    [Symbol.asyncDispose]: peer[Symbol.asyncDispose],
  };
}
