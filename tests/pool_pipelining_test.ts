/**
 * `pool.pipelining`: scopes share connections, up to N scopes and N calls in flight on each,
 * and stay isolated: one scope's timeout or abort rejects its own call only, a killed
 * connection fails the calls on it only, nothing hangs and no descriptor leaks. Against npm
 * `thrift`'s server (which answers a connection's calls as they complete) through a proxy that
 * can kill one connection, and against the Python peer (which answers them in order).
 *
 * Runs under `deno test -A tests/pool_pipelining_test.ts` and `bun test tests/pool_pipelining_test.ts`.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ClosedError, ThriftClient, TimeoutError, TransportError } from "../mod.ts";
import { Calculator } from "./helpers/calculator.ts";
import { withoutFdLeak } from "./helpers/fds.ts";
import { startNpmServer } from "./helpers/npm_server.ts";
import { startKillingProxy } from "./helpers/proxy.ts";
import { pythonThriftAvailable, startPythonPeer } from "./helpers/python_peer.ts";
import { until } from "./helpers/within.ts";

const T = { timeout: 60_000 };

describe("pool pipelining", () => {
  it(
    "64 scopes over 2 connections (N = 32): a timeout, an abort and a killed connection stay with their scopes",
    T,
    () =>
      withoutFdLeak(async () => {
        await using backend = await startNpmServer();
        await using proxy = await startKillingProxy(backend.port!);
        const thrift = new ThriftClient(Calculator.Client, {
          transport: proxy.url,
          pool: { max: 2, pipelining: 32 },
        });
        const started = Promise.withResolvers<void>();
        let ready = 0;
        const killed = Promise.withResolvers<void>();
        const isolated = [Promise.withResolvers<void>(), Promise.withResolvers<void>()];
        const outcome = async (i: number): Promise<string> => {
          const abort = new AbortController();
          await using conn = thrift.connect({ signal: i === 6 ? abort.signal : undefined });
          assert.equal(await conn.client.add(i, 1000), i + 1000);
          if (++ready === 64) started.resolve();
          await started.promise;
          try {
            if (i === 5) {
              await assert.rejects(
                thrift.with({ timeout: 100 }).client.sleep(3000),
                TimeoutError,
              );
              isolated[0]!.resolve();
              return "timed out";
            }
            if (i === 6) {
              const call = conn.client.sleep(3000);
              setTimeout(() => abort.abort(new Error("client gone")), 100);
              await assert.rejects(call, /client gone/);
              isolated[1]!.resolve();
              return "aborted";
            }
            assert.equal(await conn.client.sleep(600 + (i % 3)), 600 + (i % 3));
            await killed.promise;
            assert.equal(await conn.client.add(i, 2000), i + 2000);
            return "right";
          } catch (error) {
            if (error instanceof TransportError || error instanceof ClosedError) return "killed";
            throw error;
          }
        };
        const all = Promise.all(Array.from({ length: 64 }, (_, i) => outcome(i)));
        await started.promise;
        assert.equal(thrift.pool!.open, 2);
        assert.equal(thrift.pool!.shared, 2);
        await until("the sleeps are in flight", () => thrift.pool!.inFlight >= 60);
        await Promise.all(isolated.map((d) => d.promise)); // the timeout and the abort, first
        proxy.killOne(); // while the other sleeps are still on the server
        killed.resolve();
        const outcomes = await all;
        const count = (what: string) => outcomes.filter((o) => o === what).length;
        assert.equal(outcomes[5], "timed out");
        assert.equal(outcomes[6], "aborted");
        assert.equal(count("right") + count("killed"), 62, outcomes.join(","));
        assert.ok(count("killed") >= 20 && count("killed") <= 32, outcomes.join(","));
        assert.ok(count("right") >= 30, outcomes.join(","));
        await until(
          "the pool settles",
          () => thrift.pool!.leased === 0 && thrift.pool!.inFlight === 0,
        );
        await thrift.close();
        await backend.waitForConnections(0);
      }),
  );

  it("shares only up to N, then waits; a scope keeps its connection", T, async () => {
    await using backend = await startNpmServer();
    const thrift = new ThriftClient(Calculator.Client, {
      transport: backend.url,
      pool: { max: 1, pipelining: 2, acquireTimeout: 200 },
    });
    const a = thrift.connect();
    const b = thrift.connect();
    assert.equal(await a.client.add(1, 1), 2);
    assert.equal(await b.client.add(2, 2), 4);
    assert.deepEqual({ open: thrift.pool!.open, shared: thrift.pool!.shared }, {
      open: 1,
      shared: 1,
    });
    const c = thrift.connect();
    await assert.rejects(c.client.add(3, 3), /pool is exhausted/);
    await a.end();
    const d = thrift.connect(); // a's place
    const results = await Promise.all([b.client.sleep(50), d.client.add(4, 4), b.client.add(5, 5)]);
    assert.deepEqual(results, [50, 8, 10]);
    await b.end();
    await d.end();
    assert.equal(backend.totalConnections(), 1);
    await thrift.close();
  });

  it("pipelining 1 keeps leases exclusive", T, async () => {
    await using backend = await startNpmServer();
    const thrift = new ThriftClient(Calculator.Client, {
      transport: backend.url,
      pool: { max: 4 },
    });
    await Promise.all(Array.from({ length: 4 }, async (_, i) => {
      await using conn = thrift.connect();
      assert.equal(await conn.client.sleep(100 + i), 100 + i);
    }));
    assert.equal(backend.totalConnections(), 4);
    assert.equal(thrift.pool!.shared, 0);
    await thrift.close();
  });

  it(
    "a timed-out call on a shared connection takes no new scopes; it closes once they end",
    T,
    async () => {
      await using backend = await startNpmServer();
      const thrift = new ThriftClient(Calculator.Client, {
        transport: backend.url,
        pool: { max: 1, pipelining: 8 },
      });
      const a = thrift.connect({ timeout: 50 });
      const b = thrift.connect();
      await Promise.all([a.client.add(1, 1), b.client.add(1, 1)]);
      assert.equal(thrift.pool!.shared, 1);
      await assert.rejects(a.client.sleep(500), TimeoutError);
      assert.equal(await b.client.add(2, 2), 4); // unaffected
      const c = thrift.connect(); // must not join the connection that owes a reply
      const late = c.client.add(3, 3);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(thrift.pool!.waiting, 1);
      await a.end();
      await b.end(); // the last scope leaves: the tainted connection closes, c gets a new one
      assert.equal(await late, 6);
      await c.end();
      assert.equal(backend.totalConnections(), 2);
      assert.equal(thrift.pool!.discarded, 1);
      await thrift.close();
    },
  );
});

describe("pool pipelining against the Python peer", { skip: !pythonThriftAvailable() }, () => {
  it("in-order answers: 40 scopes over 2 connections", T, async () => {
    await using peer = await startPythonPeer({ transport: "tcp", protocol: "compact" });
    const thrift = new ThriftClient(Calculator.Client, {
      transport: peer.url,
      protocol: "compact",
      pool: { max: 2, pipelining: 20 },
    });
    const sums = await Promise.all(Array.from({ length: 40 }, async (_, i) => {
      await using conn = thrift.connect();
      return [await conn.client.add(i, 1), await conn.client.add(i, 2)];
    }));
    sums.forEach(([one, two], i) => assert.deepEqual([one, two], [i + 1, i + 2]));
    assert.ok(thrift.pool!.created <= 2);
    await thrift.close();
  });
});
