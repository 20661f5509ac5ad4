import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ClosedError, ThriftClient, TimeoutError } from "../mod.ts";
import { Calculator } from "./helpers/calculator.ts";
import { startNpmServer } from "./helpers/npm_server.ts";
import { startKillingProxy } from "./helpers/proxy.ts";
import { withoutFdLeak } from "./helpers/fds.ts";
import { until, within } from "./helpers/within.ts";

const T = { timeout: 30_000 };

describe("pool", () => {
  it("reuses one connection for sequential calls outside any scope", T, async () => {
    await using backend = await startNpmServer();
    const thrift = new ThriftClient(Calculator.Client, { transport: backend.url, pool: true });
    for (let i = 0; i < 50; i++) assert.equal(await thrift.client.add(i, 1), i + 1);
    assert.equal(backend.totalConnections(), 1);
    assert.deepEqual(thrift.pool, {
      open: 1,
      idle: 1,
      leased: 0,
      waiting: 0,
      created: 1,
      discarded: 0,
      timeouts: 0,
      inFlight: 0,
      shared: 0,
    });
    await thrift.close();
    await backend.waitForConnections(0);
    assert.equal(thrift.pool?.open, 0);
  });

  it("is off by default: each call opens and closes its own connection", T, async () => {
    await using backend = await startNpmServer();
    const thrift = new ThriftClient(Calculator.Client, { transport: backend.url });
    for (let i = 0; i < 3; i++) await thrift.client.add(i, 1);
    assert.equal(backend.totalConnections(), 3);
    assert.equal(thrift.pool, undefined);
  });

  it("bounds concurrent leases by max; the rest wait in order", T, async () => {
    await using backend = await startNpmServer();
    const thrift = new ThriftClient(Calculator.Client, {
      transport: backend.url,
      pool: { max: 3 },
    });
    const sums = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        await using conn = thrift.connect();
        await conn.client.sleep(5);
        return await conn.client.add(i, 1);
      }),
    );
    sums.forEach((sum, i) => assert.equal(sum, i + 1));
    assert.equal(backend.totalConnections(), 3);
    assert.equal(thrift.pool?.leased, 0);
    assert.equal(thrift.pool?.idle, 3);
    await thrift.close();
  });

  it("fails a lease with the pool's size after acquireTimeout when exhausted", T, async () => {
    await using backend = await startNpmServer();
    const thrift = new ThriftClient(Calculator.Client, {
      transport: backend.url,
      pool: { max: 1, acquireTimeout: 200 },
    });
    const holder = thrift.connect();
    await holder.open();
    const started = performance.now();
    const waiting = thrift.connect(); // returns at once; the lease fails at the first call
    await assert.rejects(waiting.client.add(1, 2), (error: unknown) => {
      assert.ok(error instanceof TimeoutError);
      assert.match(error.message, /pool is exhausted \(all 1 connections leased\)/);
      assert.match(error.message, /200 ms/);
      return true;
    });
    assert.ok(performance.now() - started >= 190);
    assert.equal(thrift.pool?.timeouts, 1);
    await holder.end();
    assert.equal(await thrift.client.add(2, 2), 4); // the given-back connection serves again
    assert.equal(backend.totalConnections(), 1);
    await thrift.close();
  });

  it("never hands out a connection the server closed while idle", T, async () => {
    await using backend = await startNpmServer();
    await using proxy = await startKillingProxy(backend.port!);
    const thrift = new ThriftClient(Calculator.Client, { transport: proxy.url, pool: true });
    assert.equal(await thrift.client.add(1, 1), 2);
    assert.equal(thrift.pool?.idle, 1);
    proxy.killAll();
    await until("the pool notices the idle connection closed", () => thrift.pool?.idle === 0);
    assert.equal(await thrift.client.add(2, 2), 4);
    assert.equal(thrift.pool?.created, 2);
    assert.equal(thrift.pool?.discarded, 1);
    await thrift.close();
  });

  it(
    "discards a connection whose call timed out, and serves the next one on a new one",
    T,
    async () => {
      await using backend = await startNpmServer();
      const thrift = new ThriftClient(Calculator.Client, {
        transport: backend.url,
        pool: true,
        timeout: 100,
      });
      await assert.rejects(thrift.client.sleep(1_000), TimeoutError);
      await until("the timed-out connection is discarded", () => thrift.pool?.discarded === 1);
      assert.equal(await thrift.client.add(1, 2), 3);
      assert.equal(thrift.pool?.created, 2);
      await thrift.close();
      await backend.waitForConnections(0);
    },
  );

  it("end() gives a connection back, close() and abort() discard it", T, async () => {
    await using backend = await startNpmServer();
    const thrift = new ThriftClient(Calculator.Client, { transport: backend.url, pool: true });
    {
      await using conn = thrift.connect();
      await conn.client.add(1, 1);
    }
    assert.equal(thrift.pool?.idle, 1);
    {
      using conn = thrift.connect();
      await conn.client.add(1, 1);
    }
    assert.equal(thrift.pool?.idle, 0);
    assert.equal(thrift.pool?.discarded, 1);
    const conn = thrift.connect();
    await conn.client.add(1, 1);
    conn.abort(new Error("gone"));
    assert.equal(thrift.pool?.discarded, 2);
    await assert.rejects(conn.client.add(1, 1), /gone/);
    await backend.waitForConnections(0);
    assert.equal(thrift.pool?.open, 0);
  });

  it("retires connections older than maxLifetime when they are given back", T, async () => {
    await using backend = await startNpmServer();
    const thrift = new ThriftClient(Calculator.Client, {
      transport: backend.url,
      pool: { maxLifetime: 150 },
    });
    const conn = thrift.connect();
    await conn.client.add(1, 1);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await conn.client.add(2, 2), 4); // a lease past maxLifetime keeps working
    await conn.end();
    assert.equal(thrift.pool?.open, 0);
    assert.equal(thrift.pool?.discarded, 0); // retired, not discarded
    await thrift.client.add(3, 3);
    assert.equal(backend.totalConnections(), 2);
    await thrift.close();
  });

  it("closes idle connections after idleTimeout", T, async () => {
    await using backend = await startNpmServer();
    const thrift = new ThriftClient(Calculator.Client, {
      transport: backend.url,
      pool: { idleTimeout: 100 },
    });
    await thrift.client.add(1, 1);
    assert.equal(thrift.pool?.idle, 1);
    await backend.waitForConnections(0, 2_000);
    assert.equal(thrift.pool?.open, 0);
    assert.equal(thrift.pool?.discarded, 0);
  });

  it(
    "await using thrift lets leased connections finish, then closes; later calls reopen",
    T,
    async () => {
      await using backend = await startNpmServer();
      const thrift = new ThriftClient(Calculator.Client, { transport: backend.url, pool: true });
      const conn = thrift.connect();
      const slow = conn.client.sleep(150);
      await new Promise((r) => setTimeout(r, 20));
      const disposing = thrift[Symbol.asyncDispose]();
      await assert.rejects(thrift.connect().client.add(1, 1), ClosedError);
      assert.equal(await slow, 150);
      await within("asyncDispose", 5_000, disposing);
      await backend.waitForConnections(0);
      assert.equal(await thrift.client.add(1, 1), 2);
      await thrift.close();
    },
  );

  it(
    "thrift.close() rejects calls in flight on leased connections",
    T,
    () =>
      withoutFdLeak(async () => {
        await using backend = await startNpmServer();
        const thrift = new ThriftClient(Calculator.Client, { transport: backend.url, pool: true });
        const conn = thrift.connect();
        const slow = conn.client.sleep(2_000);
        await new Promise((r) => setTimeout(r, 50));
        await thrift.close();
        await assert.rejects(slow, ClosedError);
        await backend.waitForConnections(0);
        assert.equal(thrift.pool?.open, 0);
      }),
  );
});
