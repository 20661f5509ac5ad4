import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ThriftClient } from "../mod.ts";
import { Calculator } from "./helpers/calculator.ts";
import { startNpmServer } from "./helpers/npm_server.ts";
import { serve } from "./helpers/serve.ts";

const T = { timeout: 30_000 };

describe("autoconnect", () => {
  it("keeps the handler's arity", () => {
    const thrift = new ThriftClient(Calculator.Client);
    assert.equal(
      thrift.autoconnect((_req: Request, _info: unknown) => new Response())
        .length,
      2,
    );
    assert.equal(
      thrift.autoconnect((_req: Request) => new Response()).length,
      1,
    );
  });

  it(
    "answers 200 concurrent HTTP requests, each with its own sum",
    T,
    async () => {
      await using backend = await startNpmServer();
      const thrift = new ThriftClient(Calculator.Client, {
        transport: backend.url,
        alwaysConnect: false,
      });
      const seen = new Set<unknown>();
      await using app = serve(thrift.autoconnect(async (request: Request) => {
        const n = Number(new URL(request.url).searchParams.get("n"));
        await thrift.client.sleep(n % 7); // interleave the requests
        const sum = await thrift.client.add(n, 1000);
        seen.add(thrift.client);
        return Response.json({ n, sum });
      }));
      const answers = await Promise.all(
        Array.from({ length: 200 }, async (_, n) => {
          const response = await fetch(`${app.url}/?n=${n}`);
          assert.equal(response.status, 200);
          return await response.json();
        }),
      );
      answers.forEach((answer, n) => assert.deepEqual(answer, { n, sum: n + 1000 }));
      await backend.waitForConnections(0, 5000);
      assert.equal(backend.totalConnections(), 200);
    },
  );

  it(
    "answers 500 without running the handler when the backend is down",
    T,
    async () => {
      const thrift = new ThriftClient(Calculator.Client, {
        transport: "unix:/nonexistent/backend.sock",
      });
      let ran = 0;
      let reported: unknown;
      await using app = serve(
        thrift.autoconnect(() => {
          ran++;
          return new Response("should not run");
        }),
        (error) => {
          reported = error;
          return new Response("backend down", { status: 500 });
        },
      );
      const response = await fetch(app.url);
      assert.equal(response.status, 500);
      await response.body?.cancel();
      assert.equal(ran, 0);
      assert.match(
        String(reported),
        /ConnectError.*unix:\/nonexistent\/backend.sock/,
      );
    },
  );

  it(
    "works around any async function and releases the connection when it settles",
    T,
    async () => {
      await using backend = await startNpmServer();
      const thrift = new ThriftClient(Calculator.Client, {
        transport: backend.url,
      });
      const job = thrift.autoconnect(async (a: number, b: number) => {
        const first = await thrift.client.add(a, b);
        assert.equal(backend.liveConnections(), 1);
        return first + await thrift.client.add(a, b);
      });
      assert.equal(await job(2, 3), 10);
      await backend.waitForConnections(0);
      assert.equal(backend.totalConnections(), 1);
      await assert.rejects(
        thrift.autoconnect(() => Promise.reject(new Error("handler failed")))(),
        /handler failed/,
      );
      await backend.waitForConnections(0);
    },
  );

  it("lazy: routes without calls never touch the backend; the first call opens", T, async () => {
    await using backend = await startNpmServer();
    const thrift = new ThriftClient(Calculator.Client, { transport: backend.url });
    await using app = serve(thrift.autoconnect(async (request: Request) => {
      if (new URL(request.url).pathname === "/health") return new Response("ok");
      return new Response(String(await thrift.client.add(1, 2) + await thrift.client.add(3, 4)));
    }, { lazy: true }));
    for (let i = 0; i < 3; i++) assert.equal(await (await fetch(`${app.url}/health`)).text(), "ok");
    assert.equal(backend.totalConnections(), 0);
    assert.equal(await (await fetch(`${app.url}/sum`)).text(), "10");
    await backend.waitForConnections(0);
    assert.equal(backend.totalConnections(), 1); // both calls on the request's one connection
  });

  it("lazy: a dead backend fails the call with ConnectError, other routes answer", T, async () => {
    const thrift = new ThriftClient(Calculator.Client, {
      transport: "unix:/nonexistent/backend.sock",
    });
    await using app = serve(thrift.autoconnect(async (request: Request) => {
      if (new URL(request.url).pathname === "/health") return new Response("ok");
      try {
        return new Response(String(await thrift.client.add(1, 2)));
      } catch (error) {
        return new Response((error as Error).name, { status: 503 });
      }
    }, { lazy: true }));
    const health = await fetch(`${app.url}/health`);
    assert.equal(health.status, 200);
    assert.equal(await health.text(), "ok");
    const sum = await fetch(`${app.url}/sum`);
    assert.equal(sum.status, 503);
    assert.equal(await sum.text(), "ConnectError");
  });

  it("a client that goes away aborts the Thrift calls of its request", T, async () => {
    await using backend = await startNpmServer();
    const thrift = new ThriftClient(Calculator.Client, { transport: backend.url });
    const outcome = Promise.withResolvers<unknown>();
    await using app = serve(thrift.autoconnect(async (_request: Request) => {
      try {
        outcome.resolve(await thrift.client.sleep(5000));
      } catch (error) {
        outcome.resolve(error);
      }
      return new Response("too late");
    }));
    const controller = new AbortController();
    const request = fetch(app.url, { signal: controller.signal }).catch(() => {});
    await backend.waitForConnections(1);
    await new Promise((resolve) => setTimeout(resolve, 100)); // the sleep call is on its way
    const started = Date.now();
    controller.abort();
    const error = await outcome.promise;
    assert.ok(error instanceof Error, `the call was not aborted: ${error}`);
    assert.equal(error.name, "AbortError");
    assert.ok(Date.now() - started < 2000);
    await backend.waitForConnections(0);
    await request;
  });

  it("looks at request.signal only for requests still running after a tick", T, async () => {
    await using backend = await startNpmServer();
    const thrift = new ThriftClient(Calculator.Client, { transport: backend.url, pool: true });
    /** A request whose `signal` reads are counted (Deno's legacy abort makes them costly). */
    const counted = () => {
      const controller = new AbortController();
      const request = new Request("http://localhost/");
      const seen = { reads: 0, abort: () => controller.abort() };
      Object.defineProperty(request, "signal", {
        get: () => (seen.reads++, controller.signal),
      });
      return { request, seen };
    };
    const fast = thrift.autoconnect(async (_r: Request) =>
      new Response(String(await thrift.client.add(1, 2)))
    );
    const quick = counted();
    assert.equal(await (await fast(quick.request)).text(), "3");
    assert.equal(quick.seen.reads, 0);

    const slow = thrift.autoconnect(async (_r: Request) => {
      try {
        return new Response(String(await thrift.client.sleep(5000)));
      } catch (error) {
        return new Response((error as Error).name);
      }
    });
    const gone = counted();
    const response = slow(gone.request);
    await new Promise((resolve) => setTimeout(resolve, 150)); // a few ticks: linked now
    assert.equal(gone.seen.reads, 1);
    const started = Date.now();
    gone.seen.abort();
    assert.equal(await (await response).text(), "AbortError");
    assert.ok(Date.now() - started < 1000);
    // gone before the first tick: noticed at the tick, still while the handler runs
    const early = counted();
    early.seen.abort();
    assert.equal(await (await slow(early.request)).text(), "AbortError");
    await thrift.close();
  });
});
