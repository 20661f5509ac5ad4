import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import process from "node:process";
import { describe, it } from "node:test";
import { pythonThriftAvailable } from "./helpers/python_peer.ts";
import { startTypedPeer, TYPED_IDL } from "./helpers/typed_peer.ts";

const T = { timeout: 120_000 };

function here(relative: string): string {
  return decodeURIComponent(new URL(relative, import.meta.url).pathname);
}

const ROOT = here("..");
const OUT = here("./typed/gen");
const DENO = here("../node_modules/.bin/deno");
const BUN = here("../node_modules/.bin/bun");
const MAIN = here("../src/gen/main.ts");
const USAGE = here("./typed/usage.ts");

/** Runs the generator the way a user does, as a separate `deno run` process. */
function runGenerator(args: string[], env?: Record<string, string>): {
  status: number | null;
  stdout: string;
  stderr: string;
} {
  const result = spawnSync(DENO, ["run", "-A", MAIN, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, NO_COLOR: "1", ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `deno check <path>`, as a user would run it. */
function checkFile(path: string): { status: number | null; stderr: string } {
  const result = spawnSync(DENO, ["check", path], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 90_000,
    env: { ...process.env, NO_COLOR: "1" },
  });
  return { status: result.status, stderr: result.stderr };
}

let generated = false;

/** A fresh run of the generator into tests/typed/gen, once per test process. */
function generateOnce(): void {
  if (generated) return;
  rmSync(OUT, { recursive: true, force: true });
  const run = runGenerator([TYPED_IDL, "--out", OUT]);
  assert.equal(run.status, 0, run.stderr);
  generated = true;
}

describe("gen: IDL to typed modules", { skip: !pythonThriftAvailable() }, () => {
  it("writes one module per IDL file, the included one too, and the runtime beside them", T, () => {
    generateOnce();
    for (const f of ["tutorial.ts", "shared.ts", "_runtime.ts", "js/Calculator.js"]) {
      assert.ok(existsSync(`${OUT}/${f}`), f);
    }
    assert.deepEqual(JSON.parse(readFileSync(`${OUT}/js/package.json`, "utf8")), {
      type: "commonjs",
    });
  });

  it("type-checks a strict usage file and rejects wrong calls", T, () => {
    generateOnce();
    const result = checkFile(USAGE);
    assert.equal(result.status, 0, result.stderr);
  });

  it("fails the type-check of a wrong call that is not marked as expected", T, () => {
    generateOnce();
    const wrong = here(`./typed/_wrong_${process.pid}.ts`);
    writeFileSync(
      wrong,
      'import { Calculator } from "./gen/tutorial.ts";\n' +
        'import { ThriftClient } from "../../mod.ts";\n' +
        'const thrift = new ThriftClient(Calculator.Client, { transport: "tcp://127.0.0.1:1" });\n' +
        'export const sum: Promise<number> = thrift.client.add(1, "2");\n',
    );
    try {
      const result = checkFile(wrong);
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, /TS2345/);
    } finally {
      rmSync(wrong, { force: true });
    }
  });

  for (const protocol of ["binary", "compact", "json"] as const) {
    it(`calls a Python server with the generated types (${protocol})`, T, async () => {
      generateOnce();
      await using peer = await startTypedPeer(protocol);
      const usage: { exercise(url: string, protocol: string): Promise<number> } = await import(
        new URL("./typed/usage.ts", import.meta.url).href
      );
      assert.equal(await usage.exercise(peer.url, protocol), 16, peer.stderr());
    });
  }

  it("types i64 replies as bigint with --int64 bigint, matching the client option", T, async () => {
    const out = `${OUT}-bigint-${process.pid}`;
    const usage = here(`./typed/_bigint_${process.pid}.ts`);
    try {
      const run = runGenerator([TYPED_IDL, "--out", out, "--int64", "bigint"]);
      assert.equal(run.status, 0, run.stderr);
      const dir = out.slice(out.lastIndexOf("/") + 1);
      writeFileSync(
        usage,
        `import { Calculator } from "./${dir}/tutorial.ts";\n` +
          'import { ThriftClient } from "../../mod.ts";\n' +
          "export async function addBig(url: string): Promise<bigint> {\n" +
          '  const thrift = new ThriftClient(Calculator.Client, { transport: url, int64: "bigint" });\n' +
          "  const sum: bigint = await thrift.client.addBig(2n ** 62n, 5);\n" +
          "  // @ts-expect-error: a bigint reply is not a number\n" +
          "  const wrong: number = await thrift.client.addBig(1n, 1n);\n" +
          "  void wrong;\n" +
          "  await thrift.close();\n" +
          "  return sum;\n" +
          "}\n",
      );
      const result = checkFile(usage);
      assert.equal(result.status, 0, result.stderr);
      await using peer = await startTypedPeer("binary");
      const module: { addBig(url: string): Promise<bigint> } = await import(
        new URL(`./typed/_bigint_${process.pid}.ts`, import.meta.url).href
      );
      assert.equal(await module.addBig(peer.url), 2n ** 62n + 5n);
    } finally {
      rmSync(out, { recursive: true, force: true });
      rmSync(usage, { force: true });
    }
  });

  it("writes the same modules when run by Bun", T, () => {
    generateOnce();
    const out = `${OUT}-bun-${process.pid}`;
    try {
      const run = spawnSync(BUN, [MAIN, TYPED_IDL, "--out", out], {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 60_000,
      });
      assert.equal(run.status, 0, run.stderr);
      for (const f of ["tutorial.ts", "shared.ts", "_runtime.ts", "js/package.json"]) {
        assert.equal(readFileSync(`${out}/${f}`, "utf8"), readFileSync(`${OUT}/${f}`, "utf8"), f);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it("names the packages to install when the compiler is missing", T, () => {
    const run = runGenerator([TYPED_IDL, "--out", `${OUT}-missing`, "--thrift", "no-such-thrift"]);
    rmSync(`${OUT}-missing`, { recursive: true, force: true });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /not found/);
    assert.match(run.stderr, /thrift-compiler/);
    assert.match(run.stderr, /brew install thrift/);
  });

  it("reports the compiler's error for a bad IDL", T, () => {
    const run = runGenerator(["tests/idl/typed/missing.thrift", "--out", `${OUT}-bad`]);
    rmSync(`${OUT}-bad`, { recursive: true, force: true });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /Cannot compile/);
  });
});
