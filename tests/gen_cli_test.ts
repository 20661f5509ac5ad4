import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { checkResolves } from "../src/gen/resolve_check.ts";
import { checkFiles, compilerAvailable, fromRoot, runGenerator } from "./helpers/gen_run.ts";

const T = { timeout: 120_000 };
const TUTORIAL = fromRoot("tests/idl/typed/tutorial.thrift");
const SHARED = fromRoot("tests/idl/typed/shared.thrift");
const PAINT = fromRoot("tests/fixtures/enums/paint.thrift");

/** A temporary folder, removed by `using`. */
function tempDir(): { path: string } & Disposable {
  const path = mkdtempSync(join(tmpdir(), "thrift-gen-cli-"));
  return { path, [Symbol.dispose]: () => rmSync(path, { recursive: true, force: true }) };
}

/** How many times `needle` occurs in `text`. */
function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

describe("gen: the command", { skip: !compilerAvailable() }, () => {
  it("generates several IDL files in one command, a shared include once", T, () => {
    using dir = tempDir();
    const out = join(dir.path, "gen");
    const result = runGenerator([TUTORIAL, SHARED, "--out", out]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, "wrote shared.ts\nwrote tutorial.ts\n");
    assert.deepEqual(readdirSync(out).sort(), ["_runtime.ts", "js", "shared.ts", "tutorial.ts"]);
  });

  it("adds to the folder: a run for another IDL keeps the first run's files", T, () => {
    using dir = tempDir();
    const out = join(dir.path, "gen");
    mkdirSync(out);
    writeFileSync(join(out, "notes.txt"), "mine\n");
    for (const idl of [TUTORIAL, PAINT]) {
      const result = runGenerator([idl, "--out", out]);
      assert.equal(result.status, 0, result.stderr);
    }
    for (const f of ["notes.txt", "tutorial.ts", "shared.ts", "paint.ts", "palette.ts"]) {
      assert.ok(existsSync(join(out, f)), f);
    }
    for (const f of ["Calculator.js", "SharedService.js", "Painter.js", "palette_types.js"]) {
      assert.ok(existsSync(join(out, "js", f)), f);
    }
    const checked = checkFiles(["tutorial.ts", "paint.ts"].map((f) => join(out, f)));
    assert.equal(checked.status, 0, checked.stderr);
  });

  it("refuses IDL files that make different files of one name, writing nothing", T, () => {
    using dir = tempDir();
    const out = join(dir.path, "gen");
    const result = runGenerator([fromRoot("tests/idl/test.thrift"), TUTORIAL, "--out", out]);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /^Cannot write "Calculator\.js" for both ".*test\.thrift" and/m);
    assert.match(result.stderr, /generate them into separate folders/);
    assert.equal(existsSync(out), false);
  });

  it("checks that what it wrote loads, naming each missing file and its importer", () => {
    using dir = tempDir();
    mkdirSync(join(dir.path, "js"));
    writeFileSync(join(dir.path, "js", "here.js"), "require('./gone');\nrequire('thrift');\n");
    writeFileSync(
      join(dir.path, "a.ts"),
      'import type { X } from "./_runtime.ts";\nimport "./js/here.js";\nimport b from "./js/b.js";\n',
    );
    assert.throws(() => checkResolves([join(dir.path, "a.ts")]), {
      name: "GenerateError",
      message: `Cannot load the generated modules in "${dir.path}": no file for ` +
        '"./_runtime.ts" imported by "a.ts", "./js/b.js" imported by "a.ts", ' +
        '"./gone" imported by "here.js"',
    });
    writeFileSync(join(dir.path, "_runtime.ts"), "");
    writeFileSync(join(dir.path, "js", "b.js"), "");
    writeFileSync(join(dir.path, "js", "gone.js"), "");
    checkResolves([join(dir.path, "a.ts")]);
  });

  for (
    const [label, args, reason] of [
      ["no arguments", [], "no IDL file given"],
      ["--out without a folder", [SHARED, "--out"], "--out needs a value"],
      ["no --out", [SHARED], "--out is missing"],
      ["an unknown option", [SHARED, "--out", "x", "--fast", "1"], 'unknown option "--fast"'],
      ["a wrong --int64", [SHARED, "--out", "x", "--int64", "long"], "--int64 takes Int64"],
    ] as const
  ) {
    it(`prints the usage once, and why, on ${label}`, T, () => {
      const result = runGenerator([...args]);
      assert.equal(result.status, 2);
      assert.equal(result.stdout, "");
      assert.equal(count(result.stderr, "usage: gen "), 1, result.stderr);
      assert.ok(result.stderr.startsWith(`gen: ${reason}`), result.stderr);
    });
  }

  it("prints the usage on stdout for --help", T, () => {
    const result = runGenerator(["--help"]);
    assert.equal(result.status, 0);
    assert.equal(count(result.stdout, "usage: gen "), 1);
  });

  it("warns when the project's package.json lists no @types/node, not when it does", T, () => {
    using dir = tempDir();
    const manifest = join(dir.path, "package.json");
    writeFileSync(manifest, JSON.stringify({ dependencies: { thrift: "^0.24.0" } }));
    const out = join(dir.path, "src", "gen"); // found upward from --out
    const warned = runGenerator([SHARED, "--out", out]);
    assert.equal(warned.status, 0, warned.stderr);
    assert.equal(
      warned.stderr.trim(),
      `warning: "${manifest}" lists no @types/node: deno check of the generated code needs ` +
        "it (npm install -D @types/node), since with a package.json Deno takes the types of " +
        "node: modules from node_modules/@types/node",
    );
    writeFileSync(manifest, JSON.stringify({ devDependencies: { "@types/node": "*" } }));
    const quiet = runGenerator([SHARED, "--out", out]);
    assert.equal(quiet.status, 0, quiet.stderr);
    assert.equal(quiet.stderr, "");
  });
});
