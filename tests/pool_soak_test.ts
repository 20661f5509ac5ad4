import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ThriftClient } from "../mod.ts";
import { Calculator } from "./helpers/calculator.ts";
import { startNpmServer } from "./helpers/npm_server.ts";
import { startKillingProxy } from "./helpers/proxy.ts";
import { serve } from "./helpers/serve.ts";
import { withoutFdLeak } from "./helpers/fds.ts";
import { until } from "./helpers/within.ts";

const T = { timeout: 60_000 };

/** 503 with a short body: never the backend's URL. */
const unavailable = () => new Response("backend unavailable", { status: 503 });

describe("pool under load", () => {
  it(
    "2,500 requests from 100 clients, one connection in twenty killed: right answers or 5xx",
    T,
    () =>
      withoutFdLeak(async () => {
        await using backend = await startNpmServer();
        await using proxy = await startKillingProxy(backend.port!);
        const thrift = new ThriftClient(Calculator.Client, {
          transport: proxy.url,
          pool: { max: 10 },
          timeout: 5_000,
        });
        await using app = serve(
          thrift.autoconnect(async (request: Request) => {
            const n = Number(new URL(request.url).searchParams.get("n"));
            try {
              const a = await thrift.client.add(n, 1);
              const b = await thrift.client.add(a, 1);
              return Response.json({ n, sum: b });
            } catch {
              return unavailable();
            }
          }),
          unavailable,
        );
        proxy.killEvery(20);
        let next = 0;
        const statuses = new Map<number, number>();
        const client = async () => {
          while (next < 2_500) {
            const n = next++;
            const response = await fetch(`${app.url}/?n=${n}`);
            statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
            if (response.status === 200) assert.deepEqual(await response.json(), { n, sum: n + 2 });
            else {
              assert.ok(response.status >= 500, `status ${response.status}`);
              assert.equal(await response.text(), "backend unavailable");
            }
          }
        };
        await Promise.all(Array.from({ length: 100 }, client));
        const total = [...statuses.values()].reduce((a, b) => a + b, 0);
        assert.equal(total, 2_500);
        assert.ok((statuses.get(200) ?? 0) > 2_000, `statuses ${[...statuses]}`);
        assert.ok(proxy.killed() > 10, `killed ${proxy.killed()}`);
        await until("no lease is left", () => thrift.pool?.leased === 0);
        const stats = thrift.pool!;
        assert.ok(stats.created < 500, `created ${stats.created} connections for 2,500 requests`);
        assert.ok(stats.discarded >= proxy.killed() - stats.open, JSON.stringify(stats));
        assert.equal(proxy.live(), stats.open);
        await thrift.close();
        await until("every socket is closed", () => proxy.live() === 0);
        assert.equal(thrift.pool?.open, 0);
      }),
  );

  it(
    "a zero-parameter handler gets cancelled when the HTTP client goes away",
    T,
    () =>
      withoutFdLeak(async () => {
        await using backend = await startNpmServer();
        const thrift = new ThriftClient(Calculator.Client, { transport: backend.url, pool: true });
        let outcome: { ms: number; error: unknown } | undefined;
        const handler = thrift.autoconnect(async () => {
          const start = performance.now();
          try {
            await thrift.client.sleep(5_000);
          } catch (error) {
            outcome = { ms: performance.now() - start, error };
          }
          return new Response("late");
        });
        assert.equal(handler.length, 1);
        await using app = serve(handler);
        const controller = new AbortController();
        const request = fetch(app.url, { signal: controller.signal }).catch(() => {});
        await until("the call is in flight", () => thrift.pool?.leased === 1);
        await new Promise((r) => setTimeout(r, 100));
        controller.abort();
        await request;
        await until("the call is rejected", () => outcome !== undefined, 1_000);
        assert.ok(outcome!.ms < 1_500);
        await until("the connection is discarded", () => thrift.pool?.discarded === 1);
        assert.equal(thrift.pool?.idle, 0);
        await backend.waitForConnections(0);
      }),
  );
});
