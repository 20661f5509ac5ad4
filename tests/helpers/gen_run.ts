/**
 * Runs the generator and the type checker the way a user does: as separate `deno run` /
 * `deno check` processes (tests/gen_*_test.ts).
 */
import { spawnSync } from "node:child_process";
import process from "node:process";

/** An absolute path from one relative to this repository's root. */
export function fromRoot(relative: string): string {
  return decodeURIComponent(new URL(`../../${relative}`, import.meta.url).pathname);
}

/** The repository root. */
export const ROOT: string = fromRoot("");
/** The project-local runtimes. */
export const DENO: string = fromRoot("node_modules/.bin/deno");
export const BUN: string = fromRoot("node_modules/.bin/bun");
/** The generator's command-line entry point. */
export const GEN_MAIN: string = fromRoot("src/gen/main.ts");

/** A finished process: exit status and output. */
export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command args` in `cwd` (the repository root by default) and waits for it. */
export function run(command: string, args: string[], cwd: string = ROOT): Run {
  const result = spawnSync(command, args, {
    cwd,
    encoding: "utf8",
    timeout: 90_000,
    env: { ...process.env, NO_COLOR: "1" },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `deno run -A src/gen/main.ts <args>`. */
export function runGenerator(args: string[], cwd?: string): Run {
  return run(DENO, ["run", "-A", GEN_MAIN, ...args], cwd);
}

/** `deno check <paths>` with the configuration found from `cwd`. */
export function checkFiles(paths: string[], cwd?: string): Run {
  return run(DENO, ["check", ...paths], cwd);
}

let compiler: boolean | undefined;

/** True when Apache's compiler (`thrift`) is on PATH. */
export function compilerAvailable(): boolean {
  compiler ??= run("thrift", ["--version"]).status === 0;
  return compiler;
}
