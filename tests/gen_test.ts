import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import process from "node:process";
import { describe, it } from "node:test";
import { BUN, checkFiles, fromRoot, GEN_MAIN, run, runGenerator } from "./helpers/gen_run.ts";
import { pythonThriftAvailable } from "./helpers/python_peer.ts";
import { startTypedPeer, TYPED_IDL } from "./helpers/typed_peer.ts";

const T = { timeout: 120_000 };

const OUT = fromRoot("tests/typed/gen");
const USAGE = fromRoot("tests/typed/usage.ts");
const STRICT = [
  "strict",
  "noUnusedLocals",
  "noUnusedParameters",
  "exactOptionalPropertyTypes",
  "noUncheckedIndexedAccess",
];

let generated = false;

/** A fresh run of the generator into tests/typed/gen, once per test process. */
function generateOnce(): void {
  if (generated) return;
  rmSync(OUT, { recursive: true, force: true });
  const result = runGenerator([TYPED_IDL, "--out", OUT]);
  assert.equal(result.status, 0, result.stderr);
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

  it("type-checks a usage file under strict options and rejects wrong code", T, () => {
    generateOnce();
    const options = JSON.parse(readFileSync(fromRoot("deno.json"), "utf8")).compilerOptions;
    for (const option of STRICT) assert.equal(options?.[option], true, option);
    const result = checkFiles([USAGE]);
    assert.equal(result.status, 0, result.stderr);
  });

  it("fails the type-check of a wrong call that is not marked as expected", T, () => {
    generateOnce();
    const wrong = fromRoot(`tests/typed/_wrong_${process.pid}.ts`);
    writeFileSync(
      wrong,
      'import { Calculator } from "./gen/tutorial.ts";\n' +
        'import { ThriftClient } from "../../mod.ts";\n' +
        'const thrift = new ThriftClient(Calculator.Client, { transport: "tcp://127.0.0.1:1" });\n' +
        'export const sum: Promise<number> = thrift.client.add(1, "2");\n',
    );
    try {
      const result = checkFiles([wrong]);
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
      assert.equal(await usage.exercise(peer.url, protocol), 21, peer.stderr());
    });
  }

  it("types i64 replies as bigint with --int64 bigint, matching the client option", T, async () => {
    const out = `${OUT}-bigint-${process.pid}`;
    const usage = fromRoot(`tests/typed/_bigint_${process.pid}.ts`);
    try {
      const result = runGenerator([TYPED_IDL, "--out", out, "--int64", "bigint"]);
      assert.equal(result.status, 0, result.stderr);
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
      const checked = checkFiles([usage]);
      assert.equal(checked.status, 0, checked.stderr);
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
      const result = run(BUN, [GEN_MAIN, TYPED_IDL, "--out", out]);
      assert.equal(result.status, 0, result.stderr);
      for (const f of ["tutorial.ts", "shared.ts", "_runtime.ts", "js/package.json"]) {
        assert.equal(readFileSync(`${out}/${f}`, "utf8"), readFileSync(`${OUT}/${f}`, "utf8"), f);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it("names the packages to install when the compiler is missing", T, () => {
    const result = runGenerator([TYPED_IDL, "--out", `${OUT}-missing`, "--thrift", "no-such"]);
    rmSync(`${OUT}-missing`, { recursive: true, force: true });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /not found/);
    assert.match(result.stderr, /thrift-compiler/);
    assert.match(result.stderr, /brew install thrift/);
  });

  it("reports the compiler's error for a bad IDL", T, () => {
    const result = runGenerator(["tests/idl/typed/missing.thrift", "--out", `${OUT}-bad`]);
    rmSync(`${OUT}-bad`, { recursive: true, force: true });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /Cannot compile/);
  });
});
