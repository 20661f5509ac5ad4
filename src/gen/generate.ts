/**
 * IDL files -> typed modules in one folder: runs the compiler per IDL file into a temporary
 * folder, merges what the runs produced (a file included by several IDLs is written once),
 * writes it into the output folder (overwriting only those files: other IDLs' modules
 * stay), and checks that every module written loads.
 *
 * @module
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { runCompiler } from "./compiler.ts";
import { emitModule } from "./emit.ts";
import { GenerateError } from "./errors.ts";
import type { IdlDocument } from "./idl.ts";
import { nodeTypesWarning } from "./node_types_check.ts";
import { checkResolves } from "./resolve_check.ts";
import { JS_FILES, runtimeModule } from "./runtime_files.ts";

/** What to generate. */
export interface GenerateOptions {
  /** The IDL file, or files (each with the files it includes). */
  idl: string | readonly string[];
  /** The output folder (created if missing). */
  out: string;
  /**
   * The Thrift compiler to run.
   * @default {"thrift"}
   */
  thrift?: string | undefined;
  /** Extra include folders, passed as `-I`. */
  includeDirs?: readonly string[] | undefined;
  /**
   * How replies' i64 values are typed: as the client's `int64` option makes them.
   * @default {"Int64"}
   */
  int64?: "Int64" | "bigint" | undefined;
}

/** What was written. */
export interface GenerateResult {
  /** The typed modules, one per IDL file (absolute paths). */
  modules: string[];
  /** The compiler's warnings, and the generator's own (a missing `@types/node`), if any. */
  warnings: string;
}

const JS_DIR = "js";

/** File name -> content and the IDL whose run produced it. */
type Files = Map<string, { text: string; idl: string }>;

/** Adds a run's files; the same name with other content is an error naming both IDLs. */
function collect(files: Files, dir: string, idl: string): void {
  for (const name of readdirSync(dir)) {
    const text = readFileSync(join(dir, name), "utf8");
    const known = files.get(name);
    if (known && known.text !== text) {
      throw new GenerateError(
        `Cannot write "${name}" for both "${known.idl}" and "${idl}": each makes its own ` +
          "(two services, or two included files, of that name); generate them into separate folders",
      );
    }
    if (!known) files.set(name, { text, idl });
  }
}

/**
 * Generates the typed modules for IDL files and the files they include.
 *
 * @param options the IDL files, the output folder, the compiler
 * @returns the modules written and the warnings
 * @throws {CompilerError} when the compiler is missing or rejects an IDL file
 * @throws {GenerateError} when two runs disagree on a file, or a module would not load
 */
export function generate(options: GenerateOptions): GenerateResult {
  const out = resolve(options.out);
  const compiler = options.thrift ?? "thrift";
  const includes = (options.includeDirs ?? []).flatMap((dir) => ["-I", dir]);
  const idls = typeof options.idl === "string" ? [options.idl] : options.idl;
  const temp = mkdtempSync(join(tmpdir(), "thrift-gen-"));
  const js: Files = new Map();
  const json: Files = new Map();
  let warnings = "";
  try {
    idls.forEach((idl, i) => {
      const [jsDir, jsonDir] = [join(temp, `${i}-js`), join(temp, `${i}-json`)];
      mkdirSync(jsDir);
      mkdirSync(jsonDir);
      for (const [gen, dir] of [["js:node,es6", jsDir], ["json", jsonDir]] as const) {
        warnings += runCompiler(compiler, [...includes, "-r", "--gen", gen, "-out", dir, idl]);
      }
      collect(js, jsDir, idl);
      collect(json, jsonDir, idl);
    });
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
  const jsOut = join(out, JS_DIR);
  mkdirSync(jsOut, { recursive: true });
  for (const [name, { text }] of js) writeFileSync(join(jsOut, name), text);
  for (const [name, text] of Object.entries(JS_FILES)) writeFileSync(join(jsOut, name), text);
  const runtime = join(out, "_runtime.ts");
  writeFileSync(runtime, runtimeModule(`./${JS_DIR}`, options.int64));
  const modules = [...json.values()].map(({ text }) => {
    const idl = JSON.parse(text) as IdlDocument;
    const path = join(out, `${idl.name}.ts`);
    writeFileSync(path, emitModule(idl, { jsDir: `./${JS_DIR}`, runtime: "./_runtime.ts" }));
    return path;
  }).sort();
  checkResolves([runtime, ...modules]);
  const advice = nodeTypesWarning(out);
  return { modules, warnings: advice ? `${warnings}${advice}\n` : warnings };
}
