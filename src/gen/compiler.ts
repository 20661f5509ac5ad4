/**
 * Runs the user's Apache Thrift compiler (`thrift` on PATH, or the one named).
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { CompilerError } from "./errors.ts";

/**
 * Runs `thrift <args>` and returns its stderr (warnings).
 *
 * @param compiler the compiler executable, e.g. `thrift`
 * @param args the compiler's arguments
 * @returns what the compiler wrote to stderr
 * @throws {CompilerError} when the compiler is not installed or exits non-zero
 */
export function runCompiler(compiler: string, args: string[]): string {
  const result = spawnSync(compiler, args, { encoding: "utf8", timeout: 120_000 });
  const error = result.error as NodeJS.ErrnoException | undefined;
  if (error?.code === "ENOENT") {
    throw new CompilerError(
      `Cannot run the Thrift compiler "${compiler}": not found. Install it (Debian/Ubuntu: ` +
        "apt-get install thrift-compiler; macOS: brew install thrift) or pass --thrift <path>",
      { cause: error },
    );
  }
  if (error || result.status !== 0) {
    const detail = (result.stderr || result.stdout || String(error ?? "")).trim();
    throw new CompilerError(
      `Cannot compile with "${compiler} ${args.join(" ")}": ${
        detail || `exit status ${result.status}`
      }`,
      { cause: error },
    );
  }
  return result.stderr ?? "";
}
