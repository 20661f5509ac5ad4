/**
 * From Thrift IDL to typed code in one command:
 *
 * ```sh
 * deno run -A jsr:@x/thrift-client/gen idl/service.thrift --out gen
 * bun node_modules/@x/thrift-client/src/gen/main.ts idl/service.thrift --out gen
 * ```
 *
 * Runs the Apache compiler (`-r --gen js:node,es6` into `<out>/js`, and `-r --gen json` for
 * the IDL as data) and writes, per IDL file (included ones too), `<out>/<idl name>.ts`
 * exporting every type and service by its IDL name, plus `<out>/_runtime.ts` (`Int64`,
 * `TApplicationException`).
 *
 * @example Calling a generated service
 * ```ts ignore
 * import { ThriftClient } from "@x/thrift-client";
 * import { Calculator } from "./gen/tutorial.ts";
 *
 * const thrift = new ThriftClient(Calculator.Client, { transport: "tcp://127.0.0.1:9090" });
 * const sum: number = await thrift.connect((client) => client.add(1, 2));
 * ```
 *
 * @module
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import process from "node:process";
import { CompilerError, runCompiler } from "./compiler.ts";
import { emitModule } from "./emit.ts";
import type { IdlDocument } from "./idl.ts";
import { JS_FILES, runtimeModule } from "./runtime_files.ts";

export { CompilerError } from "./compiler.ts";

/** What to generate. */
export interface GenerateOptions {
  /** The IDL file. */
  idl: string;
  /** The output folder (created if missing). */
  out: string;
  /**
   * The Thrift compiler to run.
   * @default {"thrift"}
   */
  thrift?: string;
  /** Extra include folders, passed as `-I`. */
  includeDirs?: string[];
  /**
   * How replies' i64 values are typed: as the client's `int64` option makes them.
   * @default {"Int64"}
   */
  int64?: "Int64" | "bigint";
}

/** What was written. */
export interface GenerateResult {
  /** The typed modules, one per IDL file (absolute paths). */
  modules: string[];
  /** The compiler's warnings, if any. */
  warnings: string;
}

const JS_DIR = "js";

/**
 * Generates the typed modules for an IDL file and the files it includes.
 *
 * @param options the IDL, the output folder, the compiler
 * @returns the modules written and the compiler's warnings
 * @throws {CompilerError} when the compiler is missing or rejects the IDL
 */
export function generate(options: GenerateOptions): GenerateResult {
  const out = resolve(options.out);
  const compiler = options.thrift ?? "thrift";
  const includes = (options.includeDirs ?? []).flatMap((dir) => ["-I", dir]);
  const jsOut = join(out, JS_DIR);
  rmSync(jsOut, { recursive: true, force: true });
  mkdirSync(jsOut, { recursive: true });
  const jsonOut = mkdtempSync(join(tmpdir(), "thrift-gen-json-"));
  try {
    let warnings = runCompiler(compiler, [
      ...includes,
      "-r",
      "--gen",
      "js:node,es6",
      "-out",
      jsOut,
      options.idl,
    ]);
    warnings += runCompiler(compiler, [
      ...includes,
      "-r",
      "--gen",
      "json",
      "-out",
      jsonOut,
      options.idl,
    ]);
    for (const [name, text] of Object.entries(JS_FILES)) writeFileSync(join(jsOut, name), text);
    writeFileSync(join(out, "_runtime.ts"), runtimeModule(`./${JS_DIR}`, options.int64));
    const modules = readdirSync(jsonOut).filter((f) => f.endsWith(".json")).sort().map((f) => {
      const idl = JSON.parse(readFileSync(join(jsonOut, f), "utf8")) as IdlDocument;
      const path = join(out, `${idl.name}.ts`);
      writeFileSync(path, emitModule(idl, { jsDir: `./${JS_DIR}`, runtime: "./_runtime.ts" }));
      return path;
    });
    return { modules, warnings };
  } finally {
    rmSync(jsonOut, { recursive: true, force: true });
  }
}

const USAGE =
  "usage: gen <file.thrift> --out <dir> [--thrift <compiler>] [-I <dir>]... [--int64 Int64|bigint]";

/** Parses the command line; returns undefined (after printing usage) when it is wrong. */
function parseArgs(args: string[]): GenerateOptions | undefined {
  let idl: string | undefined;
  let out: string | undefined;
  let thrift: string | undefined;
  const includeDirs: string[] = [];
  let int64: "Int64" | "bigint" | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--out" || arg === "-o") out = args[++i];
    else if (arg === "--thrift") thrift = args[++i];
    else if (arg === "-I") includeDirs.push(args[++i]);
    else if (arg === "--int64" && (args[i + 1] === "Int64" || args[i + 1] === "bigint")) {
      int64 = args[++i] as "Int64" | "bigint";
    } else if (!arg.startsWith("-") && idl === undefined) idl = arg;
    else return undefined;
  }
  if (!idl || !out) return undefined;
  return { idl, out, thrift, includeDirs, int64 };
}

/**
 * The command: generates, prints the modules written, and returns the exit status.
 *
 * @param args the command-line arguments (without the program)
 * @returns 0 on success, 1 on a compiler error, 2 on bad usage
 */
export function main(args: string[]): number {
  const options = parseArgs(args);
  if (!options) {
    console.error(USAGE);
    return 2;
  }
  try {
    const { modules, warnings } = generate(options);
    if (warnings.trim()) console.error(warnings.trim());
    for (const path of modules) console.log(`wrote ${basename(path)}`);
    return 0;
  } catch (error) {
    if (!(error instanceof CompilerError)) throw error;
    console.error(error.message);
    return 1;
  }
}

if (import.meta.main) process.exitCode = main(process.argv.slice(2));
