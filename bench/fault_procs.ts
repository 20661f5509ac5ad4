/**
 * The fault simulation's servers: each `bench/fault_server.ts` in a child process of the
 * simulation's own runtime (Deno or Bun), on a loopback address, so that it can be killed
 * (SIGKILL) and started again on the same address and port.
 */
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import { createInterface } from "node:readline";

const here = (relative: string): string =>
  decodeURIComponent(new URL(relative, import.meta.url).pathname);
const ROOT = here("../");
const SCRIPT = here("fault_server.ts");
/** A child that does not print `ready` within this is a failed start (a loaded machine). */
const READY_MS = 30_000;
/** A child that does not exit this long after its stdin closed is killed. */
const STOP_MS = 3_000;
const STDERR_LIMIT = 4_096;

/** One server process. */
export interface ServerProcess {
  /** Its loopback address, `127.0.0.2`. */
  readonly host: string;
  /** `tcp://HOST:PORT`. */
  readonly url: string;
  /** Sends one line to its stdin (`slow 50`, `fast`). */
  send(line: string): void;
  /** SIGKILL; resolves once it is gone. */
  kill(): Promise<void>;
  /** Closes its stdin (it exits), SIGKILL if it lingers; resolves once it is gone. */
  stop(): Promise<void>;
}

/** The runtime this process runs in, to start the servers in the same one. */
export function runtimeName(): "deno" | "bun" {
  return (process.versions as { bun?: string }).bun ? "bun" : "deno";
}

/** Starts `bench/fault_server.ts` on `host:port`; resolves once it listens. */
export async function startServer(host: string, port: number): Promise<ServerProcess> {
  const args = runtimeName() === "deno" ? ["run", "-A", SCRIPT] : [SCRIPT];
  const child: ChildProcess = spawn(process.execPath, [...args, host, String(port)], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_LIMIT);
  });
  child.stdin!.on("error", () => {}); // a child that died must not crash the simulation
  const gone = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    child.once("exit", () => resolve());
    child.once("error", () => resolve());
  });
  const lines = createInterface({ input: child.stdout! });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const fail = (why: string) =>
        reject(new Error(`Cannot start the server on ${host}:${port}: ${why}\n${stderr}`));
      lines.once("line", (line) => {
        const match = /^ready (\S+)/.exec(line);
        if (match) resolve(match[1]!);
        else fail(`it printed ${JSON.stringify(line)}`);
      });
      void gone.then(() => fail(`it exited (${child.signalCode ?? child.exitCode})`));
      timer = setTimeout(() => fail(`no "ready" within ${READY_MS} ms`), READY_MS);
    });
    return server(child, host, url, gone);
  } catch (error) {
    child.kill("SIGKILL");
    await gone;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

function server(
  child: ChildProcess,
  host: string,
  url: string,
  gone: Promise<void>,
): ServerProcess {
  return {
    host,
    url,
    send(line) {
      child.stdin!.write(`${line}\n`);
    },
    async kill() {
      child.kill("SIGKILL");
      await gone;
    },
    async stop() {
      child.stdin!.end();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), STOP_MS);
      });
      if (await Promise.race([gone.then(() => false), late])) child.kill("SIGKILL");
      clearTimeout(timer);
      await gone;
    },
  };
}
