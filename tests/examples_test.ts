import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { describe, it } from "node:test";

const T = { timeout: 60_000 };
const DENO = "node_modules/.bin/deno";
const BUN = "node_modules/.bin/bun";

/** Runs a command, collecting its output; resolves with it when it exits. */
function run(
  command: string,
  args: string[],
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (chunk) => out += chunk);
    child.stderr!.on("data", (chunk) => out += chunk);
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, out }));
  });
}

/** Starts a server example and waits for its "Listening on URL" line. */
async function start(command: string, args: string[]) {
  const child: ChildProcess = spawn(command, args, {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no URL after 30 s:\n${out}`)),
      30_000,
    );
    const read = (chunk: Buffer) => {
      out += chunk;
      const match = /Listening on (http:\/\/\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1] ?? "");
      }
    };
    child.stdout!.on("data", read);
    child.stderr!.on("data", read);
    child.on(
      "exit",
      (code) => reject(new Error(`exited with ${code}:\n${out}`)),
    );
  });
  return {
    url,
    async [Symbol.asyncDispose]() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

async function checkApp(url: string): Promise<void> {
  const page = await fetch(url + "?a=7&b=35");
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<h1>7 \+ 35 = 42<\/h1>/);
  const api = await fetch(url + "api/add?a=1&b=2");
  assert.deepEqual((await api.json()).sum, 3);
  const answers = await Promise.all(
    Array.from(
      { length: 20 },
      (_, i) => fetch(`${url}api/add?a=${i}&b=1`).then((r) => r.json()),
    ),
  );
  answers.forEach((answer, i) => assert.equal(answer.sum, i + 1));
  for (const bad of ["a=abc", "a=3000000000", "b=1.5"]) {
    const response = await fetch(`${url}api/add?${bad}`);
    assert.equal(response.status, 400, bad);
    assert.match((await response.json()).error, /must be an integer/);
  }
  const failed = await fetch(url + "api/fail?message=no+such+thing");
  assert.equal(failed.status, 400);
  assert.deepEqual(await failed.json(), { error: "no such thing" });
  assert.equal((await fetch(url + "backend/stop")).status, 200);
  const down = await fetch(url + "?a=1&b=2");
  assert.equal(down.status, 503);
  const body = await down.text();
  assert.match(body, /Service unavailable/);
  assert.doesNotMatch(body, /127\.0\.0\.1|tcp:/);
}

describe("examples", () => {
  it("the README's demo command serves Thrift data over Deno.serve", T, async () => {
    await using app = await start("bash", ["scripts/demo.sh", "--port", "0"]);
    await checkApp(app.url);
  });

  it("bun_serve.ts serves Thrift data over Bun.serve", T, async () => {
    await using app = await start(BUN, [
      "examples/bun_serve.ts",
      "--port",
      "0",
    ]);
    await checkApp(app.url);
  });

  for (
    const [runtime, command, prefix] of [["deno", DENO, ["run", "-A"]], [
      "bun",
      BUN,
      [],
    ]] as const
  ) {
    it(`using_scope.ts runs under ${runtime}`, T, async () => {
      const { code, out } = await run(command, [
        ...prefix,
        "examples/using_scope.ts",
      ]);
      assert.equal(code, 0, out);
      assert.match(out, /using: 1 \+ 2 = 3/);
      assert.match(out, /await using: 7, 11/);
    });

    it(`manual.ts runs under ${runtime}`, T, async () => {
      const { code, out } = await run(command, [
        ...prefix,
        "examples/manual.ts",
      ]);
      assert.equal(code, 0, out);
      assert.match(out, /before open: .*transport is not open/);
      assert.match(out, /manual: 20 \+ 22 = 42/);
    });

    it(`from_env.ts runs under ${runtime}`, T, async () => {
      const { code, out } = await run(command, [
        ...prefix,
        "examples/from_env.ts",
      ]);
      assert.equal(code, 0, out);
      assert.match(out, /from_env: tcp:\/\/127.0.0.1:\d+ says 2 \+ 2 = 4/);
    });
  }
});
