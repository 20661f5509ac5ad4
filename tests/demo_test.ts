/**
 * The demo (`npm run demo`): its live panel, looked at in headless Chromium (Debian's
 * `chromium-headless-shell`), shows numbers that change from redraw to redraw (a screenshot
 * is written and its path printed); a taken port falls back to a free one; stopping the demo
 * leaves nothing answering (the backend runs in its process).
 *
 * Runs under `deno test -A tests/demo_test.ts` and `bun test tests/demo_test.ts` (the demo
 * itself is Deno, as `npm run demo` runs it).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";

const T = { timeout: 60_000 };
const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);
const CHROMIUM = ["chromium-headless-shell", "chromium"].find((name) =>
  spawnSync("sh", ["-c", `command -v ${name}`]).status === 0
);

/** Starts `npm run demo`'s script with extra arguments; resolves once it prints its URL. */
async function startDemo(args: string[]) {
  const child: ChildProcess = spawn("bash", ["scripts/demo.sh", ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL after 30 s:\n${out}`)), 30_000);
    const read = (chunk: Buffer) => {
      out += chunk;
      const match = /Listening on (http:\/\/\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on("data", read);
    child.stderr!.on("data", read);
    child.on("exit", (code) => reject(new Error(`exited with ${code}:\n${out}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return {
    url,
    output: () => out,
    /** Stops it as Ctrl-C does; resolves with its exit code. */
    stop(): Promise<number | null> {
      child.kill("SIGINT");
      return exited;
    },
  };
}

/** True when something accepts a TCP connection at the URL's port. */
function answers(url: string): Promise<boolean> {
  return fetch(url, { signal: AbortSignal.timeout(2000) }).then(
    async (r) => (await r.body?.cancel(), true),
    () => false,
  );
}

describe("demo", () => {
  it("the live panel shows changing numbers in headless Chromium", {
    ...T,
    skip: CHROMIUM ? false : "no chromium-headless-shell (apt-get install chromium-headless-shell)",
  }, async () => {
    const demo = await startDemo(["--port", "0"]);
    try {
      const browse = (flags: string[]) =>
        spawnSync(CHROMIUM!, [
          "--no-sandbox",
          "--disable-gpu",
          "--hide-scrollbars",
          "--window-size=900,700",
          "--virtual-time-budget=4500",
          ...flags,
          demo.url,
        ], { encoding: "utf8", timeout: 30_000 });
      const dom = browse(["--dump-dom"]).stdout;
      const redraws = [...dom.matchAll(/redraw (\d+): total (\d+), (\d+) calls\/s/g)]
        .map((m) => ({ redraw: Number(m[1]), total: Number(m[2]) }))
        .reverse();
      assert.ok(redraws.length >= 3, `redraws seen: ${JSON.stringify(redraws)}\n${dom}`);
      for (let i = 1; i < redraws.length; i++) {
        assert.ok(redraws[i]!.total > redraws[i - 1]!.total, JSON.stringify(redraws));
      }
      assert.match(dom, /<polyline id="line"[^>]*points="[\d., ]+"/);
      assert.match(dom, /<td>add<\/td>/);
      const shot = join(mkdtempSync(join(tmpdir(), "thrift-demo-")), "panel.png");
      const taken = browse([`--screenshot=${shot}`]);
      assert.match(taken.stdout + taken.stderr, /bytes written to file/);
      console.log(`demo panel screenshot: ${shot}`);
    } finally {
      await demo.stop();
    }
  });

  it("a taken port falls back to a free one, with the URL printed", T, async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const demo = await startDemo(["--port", String(port)]);
      try {
        assert.match(demo.output(), new RegExp(`Port ${port} is taken`));
        assert.notEqual(new URL(demo.url).port, String(port));
        const sum = await fetch(`${demo.url}api/add?a=1&b=2`);
        assert.deepEqual((await sum.json()).sum, 3);
      } finally {
        await demo.stop();
      }
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it("stopping it (Ctrl-C) leaves nothing answering", T, async () => {
    const demo = await startDemo(["--port", "0"]);
    assert.equal(await answers(`${demo.url}api/add`), true);
    await demo.stop();
    assert.equal(await answers(`${demo.url}api/add`), false);
    const left = spawnSync("pgrep", ["-f", `examples/demo.ts --port 0`], { encoding: "utf8" });
    assert.equal(left.stdout.trim(), "", "a demo process is still running");
  });
});
