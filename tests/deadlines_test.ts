import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ThriftClient, TimeoutError } from "../mod.ts";
import { Calculator } from "./helpers/calculator.ts";
import { startNpmServer } from "./helpers/npm_server.ts";
import { serve } from "./helpers/serve.ts";

const T = { timeout: 30_000 };

/** Milliseconds until `promise` settles, and how. */
async function timed(promise: Promise<unknown>): Promise<{ ms: number; error?: unknown }> {
  const start = performance.now();
  try {
    await promise;
    return { ms: performance.now() - start };
  } catch (error) {
    return { ms: performance.now() - start, error };
  }
}

describe("deadlines", () => {
  it("per-call and per-scope deadlines mixed on one connection each fire on time", T, async () => {
    await using backend = await startNpmServer();
    const thrift = new ThriftClient(Calculator.Client, { transport: backend.url });
    await using conn = thrift.connect({ timeout: 400 });
    const order: string[] = [];
    const track = (name: string, p: Promise<unknown>) =>
      timed(p).then((r) => {
        order.push(name);
        return r;
      });
    const [scope, short, long, fast] = await Promise.all([
      track("scope", thrift.client.sleep(2_000)), // the scope's 400 ms
      track("short", thrift.with({ timeout: 150 }).client.sleep(2_000)), // written later, fires first
      track("long", thrift.with({ timeout: 3_000 }).client.sleep(700)), // longer than the scope's
      track("fast", thrift.client.add(1, 2)),
    ]);
    assert.deepEqual(order, ["fast", "short", "scope", "long"]);
    assert.ok(short.error instanceof TimeoutError);
    assert.match(String(short.error), /within 150 ms/);
    assert.ok(short.ms >= 140 && short.ms < 1_000, `short fired after ${short.ms} ms`);
    assert.ok(scope.error instanceof TimeoutError);
    assert.match(String(scope.error), /within 400 ms/);
    assert.ok(scope.ms >= 390 && scope.ms < 1_300, `scope fired after ${scope.ms} ms`);
    assert.equal(long.error, undefined);
    assert.equal(fast.error, undefined);
    assert.equal(await conn.client.add(2, 2), 4); // the connection stays usable in its scope
  });

  it("a per-call signal rejects that call with its reason; the scope stays usable", T, async () => {
    await using backend = await startNpmServer();
    const thrift = new ThriftClient(Calculator.Client, { transport: backend.url });
    await using conn = thrift.connect();
    const controller = new AbortController();
    const reason = new Error("caller gave up");
    const call = thrift.with({ signal: controller.signal }).client.sleep(500);
    setTimeout(() => controller.abort(reason), 50);
    const result = await timed(call);
    assert.equal(result.error, reason);
    assert.ok(result.ms < 400);
    assert.equal(await conn.client.add(1, 2), 3);
    assert.equal(await conn.client.sleep(10), 10); // the late sleep reply was skipped
    await assert.rejects(
      thrift.with({ signal: AbortSignal.abort(reason) }).client.add(1, 1),
      (e) => e === reason,
    );
  });

  it("a per-call signal also rejects a call still waiting for its connection", T, async () => {
    await using backend = await startNpmServer();
    const thrift = new ThriftClient(Calculator.Client, {
      transport: backend.url,
      pool: { max: 1, acquireTimeout: 5_000 },
    });
    const busy = thrift.client.sleep(500); // holds the only connection: the next lease waits
    const reason = new Error("not any more");
    const controller = new AbortController();
    setTimeout(() => controller.abort(reason), 100);
    const result = await timed(thrift.with({ signal: controller.signal }).client.add(1, 2));
    assert.equal(result.error, reason);
    assert.ok(result.ms < 2_000, `rejected after ${result.ms} ms`);
    assert.equal(await busy, 500);
    assert.equal(await thrift.client.add(1, 2), 3);
    assert.equal(backend.totalConnections(), 1);
    await thrift.close();
  });

  it("autoconnect(handler, { timeout }) sets the deadline of the handler's calls", T, async () => {
    await using backend = await startNpmServer();
    const thrift = new ThriftClient(Calculator.Client, { transport: backend.url });
    await using app = serve(thrift.autoconnect(async () => {
      const result = await timed(thrift.client.sleep(2_000));
      return Response.json({ timeout: result.error instanceof TimeoutError, ms: result.ms });
    }, { timeout: 200 }));
    const answer = await (await fetch(app.url)).json();
    assert.equal(answer.timeout, true);
    assert.ok(answer.ms >= 190 && answer.ms < 1_500, `fired after ${answer.ms} ms`);
  });

  it("a pooled call aborted by its signal discards the connection", T, async () => {
    await using backend = await startNpmServer();
    const thrift = new ThriftClient(Calculator.Client, { transport: backend.url, pool: true });
    await assert.rejects(
      thrift.with({ signal: AbortSignal.timeout(50) }).client.sleep(1_000),
      (e: Error) => e.name === "TimeoutError" && !(e instanceof TimeoutError),
    );
    assert.equal(await thrift.client.add(1, 2), 3);
    assert.equal(thrift.pool?.discarded, 1);
    assert.equal(thrift.pool?.created, 2);
    await thrift.close();
  });
});
