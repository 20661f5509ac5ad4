/**
 * The life of an interop peer process, shared by `python_peer.ts` and `cpp_peer.ts`: both
 * peer servers take the same flags, print `READY <port-or-path>` once they listen, exit on
 * SIGTERM and when their stdin closes (so they die with a crashed test process too).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const KILL_GRACE_MS = 2_000;
const STDERR_LIMIT = 16_384;

/**
 * How a peer serves, as both peer servers spell it. TLS transports need `tls`; `tls.ca` turns
 * on mutual TLS.
 */
export interface CommonPeerOptions {
  transport: "tcp" | "unix" | "tcps" | "unixs" | "http" | "https";
  protocol?: "binary" | "compact" | "json" | "header";
  framed?: boolean;
  zlib?: boolean;
  multiplex?: boolean;
  tls?: { cert: string; key: string; ca?: string };
}

/** Where a peer listens: a socket in a fresh temp directory (unix transports), else port 0. */
export interface PeerListen {
  /** The peer's command-line flags for `opts`, `--control-stdin` included. */
  args: string[];
  /** The temp directory holding the socket (unix, unixs); the peer process removes it. */
  tempDir?: string | undefined;
  /** The socket path (unix, unixs). */
  socketPath?: string | undefined;
}

/**
 * The flags and the socket for a peer serving `opts`.
 *
 * @param opts how the peer serves
 * @param tempPrefix the name prefix of the socket's temp directory
 * @returns the flags, and the temp directory and socket path for unix transports
 * @throws {Error} when a TLS transport has no `tls` options
 */
export function peerListen(opts: CommonPeerOptions, tempPrefix: string): PeerListen {
  const secure = opts.transport === "tcps" || opts.transport === "unixs" ||
    opts.transport === "https";
  if (secure && !opts.tls) {
    throw new Error(`transport ${opts.transport} needs tls options`);
  }
  const unix = opts.transport === "unix" || opts.transport === "unixs";
  const tempDir = unix ? mkdtempSync(join(tmpdir(), tempPrefix)) : undefined;
  const socketPath = tempDir ? join(tempDir, "peer.sock") : undefined;
  const args = ["--transport", opts.transport, "--protocol", opts.protocol ?? "binary"];
  args.push("--control-stdin");
  if (socketPath) args.push("--path", socketPath);
  else args.push("--port", "0");
  if (opts.framed) args.push("--framed");
  if (opts.zlib) args.push("--zlib");
  if (opts.multiplex) args.push("--multiplex");
  if (opts.tls) {
    args.push("--cert", opts.tls.cert, "--key", opts.tls.key);
    if (opts.tls.ca) args.push("--ca", opts.tls.ca);
  }
  return { args, tempDir, socketPath };
}

/**
 * The URL a client uses for a peer.
 *
 * @param transport the peer's transport
 * @param where what followed `READY`: the port, or the socket path for unix transports
 * @param httpPath http/https: the path Thrift is served on
 * @returns e.g. `tcp://127.0.0.1:PORT`, `unix:/tmp/x/peer.sock`, `tcps://localhost:PORT`,
 * `https://127.0.0.1:PORT/rpc`
 */
export function peerUrl(
  transport: CommonPeerOptions["transport"],
  where: string,
  httpPath = "/",
): string {
  switch (transport) {
    case "tcp":
      return `tcp://127.0.0.1:${where}`;
    case "tcps": // the test server certificate names localhost
      return `tcps://localhost:${where}`;
    case "unix":
    case "unixs":
      return `${transport}:${where}`;
    default:
      return `${transport}://127.0.0.1:${where}${httpPath}`;
  }
}

/** How to watch a peer process. */
export interface PeerProcessOptions {
  /** Names the peer in error messages, e.g. `python peer (tcp)`. */
  label: string;
  /** How long the peer may take to print `READY`. */
  readyTimeoutMs: number;
  /** Removed when the peer is disposed of (or fails to start). */
  tempDir?: string | undefined;
  /** Called with each stdout line other than `READY ...`, trimmed. */
  onLine?: (line: string) => void;
}

/** A running peer process; `await using` stops it. */
export interface PeerProcess {
  /** What followed `READY`: the port or the socket path. */
  ready: string;
  /** What the peer wrote to stderr so far (its tail), for failure messages. */
  stderr(): string;
  /** Writes `text` to the peer's stdin; a peer that already died is ignored. */
  send(text: string): void;
  /**
   * Runs `start` and waits until it calls back; rejects after `ms` or when the peer dies.
   *
   * @param what names the wait in the error message, e.g. `stats`
   */
  waitFor<T>(what: string, ms: number, start: (resolve: (value: T) => void) => void): Promise<T>;
  /** SIGTERM, SIGKILL after 2 s, then removes the temp directory. Idempotent. */
  [Symbol.asyncDispose](): Promise<void>;
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

/**
 * Starts a peer process and waits until it prints `READY`.
 *
 * @param command the executable
 * @param args its arguments
 * @param options the label, the ready timeout, the temp directory and a stdout line handler
 * @returns the running process
 * @throws {Error} when the peer exits or does not print `READY` in time (with its stderr)
 */
export async function startPeerProcess(
  command: string,
  args: string[],
  options: PeerProcessOptions,
): Promise<PeerProcess> {
  const { label, readyTimeoutMs, tempDir, onLine } = options;
  let child: ChildProcess;
  try {
    child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
  } catch (err) {
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
    throw err;
  }

  let stderr = "";
  let stdoutBuffer = "";
  let ready: ((where: string) => void) | undefined;
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
      else onLine?.(line);
    }
  });
  // A write to (or the close of) a peer that already died must not crash the test process.
  child.stdin!.on("error", () => {});
  const onGone = (info: string) => {
    exitInfo ??= info;
    for (const listener of exitListeners) listener(exitInfo);
  };
  child.on("error", (err) => onGone(`could not run ${command}: ${err.message}`));
  // "close", not "exit": by then stderr has been read to its end, for the error message.
  child.on("close", (code, signal) => onGone(`exited with ${signal ?? `code ${code}`}`));

  const waitFor = <T>(what: string, ms: number, start: (resolve: (value: T) => void) => void) =>
    new Promise<T>((resolve, reject) => {
      const fail = (why: string) => {
        cleanup();
        reject(new Error(`${label}: ${what} ${why}\n--- stderr ---\n${stderr}`));
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
    where = await waitFor<string>("start", readyTimeoutMs, (resolve) => {
      ready = resolve;
    });
  } catch (err) {
    await dispose();
    throw err;
  } finally {
    ready = undefined;
  }

  return {
    ready: where,
    stderr: () => stderr,
    send: (text) => {
      child.stdin!.write(text);
    },
    waitFor,
    [Symbol.asyncDispose]: dispose,
  };
}
