/**
 * From Thrift IDL to typed code in one command:
 *
 * ```sh
 * deno run -A jsr:@x/thrift-client/gen idl/service.thrift [more.thrift ...] --out gen
 * bun node_modules/@x/thrift-client/src/gen/main.ts idl/service.thrift --out gen
 * ```
 *
 * Runs the Apache compiler (`-r --gen js:node,es6` into `<out>/js`, and `-r --gen json` for
 * the IDL as data) and writes, per IDL file (included ones too), `<out>/<idl name>.ts`
 * exporting every type and service by its IDL name, plus `<out>/_runtime.ts` (`Int64`,
 * `TApplicationException`). Other files in `<out>` stay: runs for other IDL files add to it.
 *
 * @example Calling a generated service
 * ```ts ignore
 * import { ThriftClient } from "@x/thrift-client";
 * import { Calculator } from "./gen/tutorial.ts";
 *
 * const thrift = new ThriftClient(Calculator.Client, { transport: "tcp://127.0.0.1:9090" });
 * await using conn = thrift.connect();
 * const sum: number = await conn.client.add(1, 2);
 * ```
 *
 * @module
 */
import { basename } from "node:path";
import process from "node:process";
import { GenerateError } from "./errors.ts";
import { generate, type GenerateOptions } from "./generate.ts";

export { CompilerError, GenerateError } from "./errors.ts";
export { generate } from "./generate.ts";
export type { GenerateOptions, GenerateResult } from "./generate.ts";

const USAGE = "usage: gen <file.thrift> [<file.thrift>...] --out <dir> [--thrift <compiler>] " +
  "[-I <dir>]... [--int64 Int64|bigint]";

/** The options of a command line, or what is wrong with it. */
function parseArgs(args: readonly string[]): GenerateOptions | string {
  const idl: string[] = [];
  const includeDirs: string[] = [];
  let out: string | undefined;
  let thrift: string | undefined;
  let int64: "Int64" | "bigint" | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (!arg.startsWith("-")) {
      idl.push(arg);
      continue;
    }
    const value = args[++i];
    if (value === undefined) return `${arg} needs a value`;
    if (arg === "--out" || arg === "-o") out = value;
    else if (arg === "--thrift") thrift = value;
    else if (arg === "-I") includeDirs.push(value);
    else if (arg === "--int64" && (value === "Int64" || value === "bigint")) int64 = value;
    else if (arg === "--int64") return `--int64 takes Int64 or bigint, not "${value}"`;
    else return `unknown option "${arg}"`;
  }
  if (!idl.length) return "no IDL file given";
  if (out === undefined) return "--out is missing";
  return { idl, out, thrift, includeDirs, int64 };
}

/**
 * The command: generates, prints the modules written, and returns the exit status.
 *
 * @param args the command-line arguments (without the program)
 * @returns 0 on success, 1 when the generator fails, 2 on bad usage (printed once)
 */
export function main(args: readonly string[]): number {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  const options = parseArgs(args);
  if (typeof options === "string") {
    console.error(`gen: ${options}\n${USAGE}`);
    return 2;
  }
  try {
    const { modules, warnings } = generate(options);
    if (warnings.trim()) console.error(warnings.trim());
    for (const path of modules) console.log(`wrote ${basename(path)}`);
    return 0;
  } catch (error) {
    if (!(error instanceof GenerateError)) throw error;
    console.error(error.message);
    return 1;
  }
}

if (import.meta.main) process.exitCode = main(process.argv.slice(2));
