import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { startNpmServer } from "./helpers/npm_server.ts";

const T = { timeout: 60_000 };

/** Runs the fixture under the current runtime; resolves with its output once it exits. */
function runFixture(url: string): Promise<{ code: number | null; out: string }> {
  const deno = "Deno" in globalThis;
  const script = "tests/fixtures/pooled_exit.ts";
  const args = deno ? ["run", "-A", script, url] : [script, url];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (chunk) => out += chunk);
    child.stderr.on("data", (chunk) => out += chunk);
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the process did not exit on its own within 20 s:\n${out}`));
    }, 20_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe("pool and process exit", () => {
  it("idle pooled connections never keep the process alive", T, async () => {
    await using backend = await startNpmServer();
    const started = performance.now();
    const { code, out } = await runFixture(backend.url);
    assert.equal(code, 0, out);
    assert.match(out, /idle 2/);
    assert.ok(performance.now() - started < 15_000);
    assert.equal(backend.totalConnections(), 2);
  });
});
