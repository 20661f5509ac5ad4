/**
 * A fresh project laid out as the README says (package.json with `thrift` and dev
 * `@types/node`, deno.json with `"nodeModulesDir": "manual"` and strict compiler options),
 * two IDL files generated one after the other into one `gen/` folder, an app importing this
 * library by path: `deno check` passes, and the app runs on Deno and on Bun. Then without
 * `@types/node`: the generator warns, and `deno check` fails as the warning says.
 */
import assert from "node:assert/strict";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { describe, it } from "node:test";
import { BUN, checkFiles, DENO, fromRoot, run, runGenerator } from "./helpers/gen_run.ts";
import { pythonThriftAvailable } from "./helpers/python_peer.ts";
import { startTypedPeer } from "./helpers/typed_peer.ts";

const T = { timeout: 240_000 };
const MODULES = fromRoot("node_modules");
const HAS_NODE_TYPES = existsSync(join(MODULES, "@types/node/package.json"));

/** Links `name` and what it depends on from this repository's node_modules into `into`. */
function linkPackage(name: string, into: string, done = new Set<string>()): void {
  if (done.has(name)) return;
  done.add(name);
  const source = realpathSync(join(MODULES, name));
  const target = join(into, name);
  mkdirSync(dirname(target), { recursive: true });
  symlinkSync(source, target, "dir");
  const manifest = JSON.parse(readFileSync(join(source, "package.json"), "utf8"));
  for (const dep of Object.keys(manifest.dependencies ?? {})) linkPackage(dep, into, done);
}

const STRICT = {
  strict: true,
  noUnusedLocals: true,
  noUnusedParameters: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
};

/**
 * The app: calls the typed service (at the URL given, or at the typed test server it starts
 * with \`serve\`), implements a typed handler, prints what it got.
 */
function app(library: string, testing: string): string {
  return `import process from "node:process";
import { ThriftClient } from "${library}";
import { serve } from "${testing}";
import { Calculator, Value } from "./gen/tutorial.ts";
import { Finish, type PainterHandler } from "./gen/paint.ts";
import { Color } from "./gen/palette.ts";

await using server = serve(Calculator, {
  add: (a, b) => (a ?? 0) + (b ?? 0),
  byId: (q, limit) => [q ?? 0, limit],
  pick: (v) => v ?? new Value({ text: "none" }),
  reverse: (data) => Uint8Array.from(data ?? []).reverse(),
});
const url = process.argv[2] === "serve" ? server.url : process.argv[2] ?? "";
const thrift = new ThriftClient(Calculator.Client, { transport: url });
await using conn = thrift.connect();
const sum: number = await conn.client.add(1, 2);
const ids: number[] = await conn.client.byId(7);
const picked: Value = await conn.client.pick(new Value({ text: "fresh" }));
const bytes = await conn.client.reverse(new Uint8Array([1, 2]));
const painter: PainterHandler = {
  pick: (f) => (f === Finish.GLOSS ? Color.GREEN : Color.RED),
  table: () => ({ [Finish.MATTE]: Color.GREEN }),
};
console.log(JSON.stringify({ sum, ids, text: picked.text, bytes: [...bytes], red: painter.pick(Finish.MATTE, []) }));
`;
}

describe("gen: a fresh project", {
  skip: !pythonThriftAvailable()
    ? "python3-thrift or thrift-compiler missing"
    : !HAS_NODE_TYPES
    ? "node_modules/@types/node is missing: add @types/node to devDependencies, npm install"
    : false,
}, () => {
  it(
    "generates two IDL files into one folder, type-checks strictly, and runs on Deno and Bun",
    T,
    async () => {
      const project = mkdtempSync(join(tmpdir(), "thrift-fresh-"));
      try {
        writeFileSync(
          join(project, "package.json"),
          JSON.stringify({
            type: "module",
            dependencies: { thrift: "^0.24.0" },
            devDependencies: { "@types/node": "*" },
          }),
        );
        writeFileSync(
          join(project, "deno.json"),
          JSON.stringify({ nodeModulesDir: "manual", compilerOptions: STRICT }),
        );
        for (const name of ["thrift", "@types/node"]) {
          linkPackage(name, join(project, "node_modules"));
        }
        cpSync(fromRoot("tests/idl/typed"), join(project, "idl"), { recursive: true });
        cpSync(fromRoot("tests/fixtures/enums"), join(project, "idl"), { recursive: true });
        for (const idl of ["idl/tutorial.thrift", "idl/paint.thrift"]) {
          const made = runGenerator([idl, "--out", "gen"], project);
          assert.equal(made.status, 0, made.stderr);
          assert.doesNotMatch(made.stderr, /@types\/node/);
        }
        const library = relative(project, fromRoot("mod.ts"));
        const testing = relative(project, fromRoot("src/testing.ts"));
        writeFileSync(join(project, "app.ts"), app(library, testing));
        const checked = checkFiles(["app.ts"], project);
        assert.equal(checked.status, 0, checked.stderr);

        await using peer = await startTypedPeer("binary");
        const expected = { sum: 3, ids: [7, 10], text: "fresh", bytes: [2, 1], red: 1 };
        for (const [runtime, args] of [[DENO, ["run", "-A"]], [BUN, ["run"]]] as const) {
          for (const where of [peer.url, "serve"]) { // the Python peer, the typed test server
            const ran = run(runtime, [...args, "app.ts", where], project);
            assert.equal(ran.status, 0, `${runtime} ${where}: ${ran.stderr}`);
            assert.deepEqual(JSON.parse(ran.stdout), expected, `${runtime} ${where}`);
          }
        }

        // Without @types/node the generator warns, and deno check fails as the warning says.
        writeFileSync(join(project, "package.json"), JSON.stringify({ type: "module" }));
        rmSync(join(project, "node_modules", "@types"), { recursive: true });
        const warned = runGenerator(["idl/paint.thrift", "--out", "gen"], project);
        assert.equal(warned.status, 0, warned.stderr);
        assert.match(warned.stderr, /lists no @types\/node/);
        const unchecked = checkFiles(["app.ts"], project);
        assert.notEqual(unchecked.status, 0);
        assert.match(unchecked.stderr, /npm:@types\/node/);
      } finally {
        rmSync(project, { recursive: true, force: true });
      }
    },
  );
});
