/**
 * Several endpoints: a `transport` list balanced by power of two choices, a dead endpoint's
 * connects retried elsewhere and the endpoint ejected after 5 failures, then re-admitted by a
 * probe; panic when all are down; idempotent calls retried after a transport failure (and only
 * they); hooks see each attempt; the retry budget. Servers are `serve()` test servers and a
 * connection-killing proxy, on loopback.
 *
 * Runs under `deno test -A tests/endpoints_test.ts` and `bun test tests/endpoints_test.ts`.
 */
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { describe, it, test } from "node:test";
import { type CallHook, ConfigError, ConnectError, ThriftClient, TransportError } from "../mod.ts";
import { RetryBudget } from "../src/retry_budget.ts";
import { serve, type TestServer } from "../src/testing.ts";
import { Calculator, type CalculatorClient } from "./helpers/calculator.ts";
import { startKillingProxy } from "./helpers/proxy.ts";
import { dnsmasqAvailable, startDnsmasq } from "./helpers/dnsmasq.ts";
import { withoutFdLeak } from "./helpers/fds.ts";
import { freePortOn } from "./helpers/ports.ts";
import { until } from "./helpers/within.ts";

const T = { timeout: 30_000 };

/** Runs `check` every 50 ms until it says true, for at most `ms`. */
async function eventually(what: string, check: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    assert.ok(Date.now() < end, `timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Calls until the first endpoint is healthy again (probed and re-admitted). */
function readmitted(thrift: ThriftClient<CalculatorClient>, what: string): Promise<void> {
  return eventually(what, async () => {
    await thrift.client.add(0, 0);
    return thrift.endpoints![0]!.state === "healthy";
  }, 5_000);
}

/** A port nothing listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A test server whose `add` answers `a + b + tag` (so the answer tells which one answered). */
function tagged(tag: number, port = 0): TestServer {
  return serve(Calculator, { add: (a: number, b: number) => a + b + tag }, { port });
}

describe("several endpoints", () => {
  it("spreads calls over every endpoint of the list", T, async () => {
    await using a = tagged(1000);
    await using b = tagged(2000);
    await using c = tagged(3000);
    const thrift = new ThriftClient(Calculator.Client, {
      transport: [a.url, b.url, c.url],
      pool: true,
    });
    const answers = await Promise.all(
      Array.from({ length: 90 }, () => thrift.client.add(1, 2)),
    );
    for (const tag of [1000, 2000, 3000]) {
      assert.ok(answers.filter((n) => n === tag + 3).length >= 5, `tag ${tag}: ${answers}`);
    }
    assert.deepEqual(thrift.endpoints!.map((e) => [e.url, e.state]), [
      [a.url, "healthy"],
      [b.url, "healthy"],
      [c.url, "healthy"],
    ]);
    await thrift.close();
  });

  it("a burst of new connections spreads evenly (each pick counts at once)", T, async () => {
    await using a = tagged(1000);
    await using b = tagged(2000);
    const thrift = new ThriftClient(Calculator.Client, { transport: [a.url, b.url] });
    const answers = await Promise.all(Array.from({ length: 6 }, () => thrift.client.add(0, 0)));
    assert.deepEqual(answers.sort(), [1000, 1000, 1000, 2000, 2000, 2000]);
    await thrift.close();
  });

  it(
    "retries a refused connect on another endpoint, ejects after 5, re-admits by a probe",
    T,
    async () => {
      await using live = tagged(0);
      const port = await deadPort();
      const dead = `tcp://127.0.0.1:${port}`;
      const thrift = new ThriftClient(Calculator.Client, { transport: [dead, live.url] });
      for (let i = 0; i < 40; i++) assert.equal(await thrift.client.add(i, 1), i + 1); // none fails
      const [down] = thrift.endpoints!;
      assert.equal(down!.state, "ejected");
      assert.ok(down!.failures >= 5);
      assert.ok(down!.ejectedUntil! > Date.now() && down!.ejectedUntil! < Date.now() + 1_300);
      await using back = tagged(500, port); // the dead one comes back
      assert.equal(new URL(back.url).port, String(port));
      await readmitted(thrift, "probed and re-admitted");
      assert.equal(thrift.endpoints![0]!.failures, 0);
      await thrift.close();
    },
  );

  it(
    "a crash failing many connections at once ejects the endpoint once (a 1 s backoff, not doubled per failure)",
    T,
    async () => {
      const sleeper = {
        sleep: (ms: number | null) => new Promise<number>((r) => setTimeout(() => r(0), ms ?? 0)),
      };
      await using a = serve(Calculator, sleeper);
      await using b = serve(Calculator, sleeper);
      await using proxy = await startKillingProxy(Number(new URL(a.url).port));
      const thrift = new ThriftClient(Calculator.Client, { transport: [proxy.url, b.url] });
      const calls: Promise<unknown>[] = [];
      for (let i = 1; i <= 20; i++) { // one by one: each pick sees the load of those before
        calls.push(thrift.client.sleep(5_000).catch((error: unknown) => error));
        await until("the call reached a server", () => a.calls.length + b.calls.length === i);
      }
      assert.equal(a.calls.length, 10);
      proxy.killAll(); // 10 connections with a call in flight fail together
      await until("10 failures seen", () => thrift.endpoints![0]!.failures === 10);
      const [down] = thrift.endpoints!;
      assert.equal(down!.state, "ejected");
      const backoff = down!.ejectedUntil! - Date.now();
      assert.ok(backoff <= 1_200, `ejected for ${backoff} ms`);
      await thrift.close();
      await Promise.all(calls);
    },
  );

  it(
    "a probe that ends without a verdict (its call timed out) lets the endpoint be probed again",
    T,
    async () => {
      await using live = tagged(0);
      const port = await deadPort();
      const thrift = new ThriftClient(Calculator.Client, {
        transport: [`tcp://127.0.0.1:${port}`, live.url],
      });
      for (let i = 0; i < 40; i++) await thrift.client.add(1, 1); // ejects the dead one
      assert.equal(thrift.endpoints![0]!.state, "ejected");
      let delay = 1_000;
      await using back = serve(Calculator, {
        add: async (a: number | null, b: number | null) => {
          await new Promise((resolve) => setTimeout(resolve, delay));
          return (a ?? 0) + (b ?? 0) + 500;
        },
      }, { port });
      await eventually("a probe reached the slow server and timed out", async () => {
        await thrift.with({ timeout: 100 }).client.add(0, 0).catch(() => {});
        return back.calls.length > 0;
      }, 5_000);
      delay = 0;
      await readmitted(thrift, "probed again and re-admitted");
      await thrift.close();
    },
  );

  it(
    "a probe connection closed before it connected lets the endpoint be probed again",
    T,
    async () => {
      await using live = tagged(0);
      const port = await deadPort();
      const thrift = new ThriftClient(Calculator.Client, {
        transport: [`tcp://127.0.0.1:${port}`, live.url],
      });
      for (let i = 0; i < 40; i++) await thrift.client.add(1, 1); // ejects the dead one
      await using _back = tagged(500, port);
      const due = thrift.endpoints![0]!.ejectedUntil!;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now()) + 10));
      const conn = thrift.connect(); // picks the endpoint as a probe...
      await conn.close(); // ...and is closed before the pick returns
      await readmitted(thrift, "probed again and re-admitted");
      await thrift.close();
    },
  );

  it(
    "when every endpoint is down, calls still try them (panic) and fail with ConnectError",
    T,
    async () => {
      const ports = [await deadPort(), await deadPort()];
      const thrift = new ThriftClient(Calculator.Client, {
        transport: ports.map((p) => `tcp://127.0.0.1:${p}`),
      });
      for (let i = 0; i < 6; i++) await assert.rejects(thrift.client.add(1, 1), ConnectError);
      assert.ok(thrift.endpoints!.every((e) => e.state === "ejected"));
      await using back = tagged(7, ports[1]);
      assert.equal(new URL(back.url).port, String(ports[1]));
      await eventually("a panic pick reaches the one that came back", async () => {
        return await thrift.client.add(1, 1).then((n) => n === 9, () => false);
      }, 5_000);
      await thrift.close();
    },
  );

  it(
    "retries an idempotent call after a transport failure, on another endpoint; hooks see each attempt",
    T,
    async () => {
      await using a = tagged(100);
      await using b = tagged(200);
      await using killer = await startKillingProxy(Number(new URL(a.url).port));
      killer.killEvery(1); // every request through it dies before its reply
      const attempts: number[] = [];
      const hook: CallHook = (call, next) => (attempts.push(call.attempt), next());
      const safe = new ThriftClient(Calculator.Client, {
        transport: [killer.url, b.url],
        idempotent: ["add"],
        hooks: [hook],
      });
      for (let i = 0; i < 10; i++) assert.equal(await safe.client.add(i, 0), i + 200);
      assert.ok(attempts.includes(2), `attempts ${attempts}`);
      assert.ok(attempts.every((n) => n === 1 || n === 2));
      const unsafe = new ThriftClient(Calculator.Client, { transport: [killer.url, b.url] });
      let failed = 0;
      for (let i = 0; i < 10; i++) {
        await unsafe.client.add(i, 0).catch((error) => {
          assert.ok(error instanceof TransportError, String(error));
          failed++;
        });
      }
      assert.ok(failed > 0, "a non-idempotent call is never sent twice");
      await safe.close();
      await unsafe.close();
    },
  );

  it(
    "one endpoint with idempotent: a connection closed before any reply byte is retried",
    T,
    async () => {
      await using server = tagged(0);
      await using proxy = await startKillingProxy(Number(new URL(server.url).port));
      const thrift = new ThriftClient(Calculator.Client, {
        transport: proxy.url,
        pool: true,
        idempotent: ["add"],
      });
      assert.equal(await thrift.client.add(1, 1), 2);
      proxy.killEvery(2); // every second request dies before its reply
      assert.equal(await thrift.client.add(2, 2), 4);
      assert.equal(await thrift.client.add(3, 3), 6); // killed, then sent again on a new connection
      assert.equal(proxy.killed(), 1);
      await thrift.close();
    },
  );

  it("reads lists from THRIFTCLIENT_TRANSPORT, and refuses mixed families", () => {
    const thrift = new ThriftClient(Calculator.Client, {
      THRIFTCLIENT_TRANSPORT: "tcp://127.0.0.1:1, tcp://127.0.0.1:2",
      THRIFTCLIENT_IDEMPOTENT: "add,echoString",
    });
    assert.deepEqual(thrift.endpoints!.map((e) => e.url), [
      "tcp://127.0.0.1:1",
      "tcp://127.0.0.1:2",
    ]);
    assert.throws(
      () => new ThriftClient(Calculator.Client, { transport: ["tcp://a", "http://b/"] }),
      (e: unknown) => e instanceof ConfigError && /mix HTTP and socket URLs/.test(e.message),
    );
    assert.throws(
      () => new ThriftClient(Calculator.Client, { transport: [] }),
      (e: unknown) => e instanceof ConfigError && /at least one URL/.test(e.message),
    );
    assert.equal(
      new ThriftClient(Calculator.Client, { transport: "tcp://127.0.0.1:1" }).endpoints,
      undefined,
    );
    const rejects = (options: object, message: RegExp) =>
      assert.throws(
        () => new ThriftClient(Calculator.Client, options as never),
        (e: unknown) => e instanceof ConfigError && message.test(e.message),
      );
    rejects({ dns: { servers: ["not an address"] } }, /Invalid dns.servers/);
    rejects({ dns: { refresh: -5 } }, /Invalid dns.refresh -5/);
    rejects({ dns: "yes" }, /Invalid dns "yes"/);
    rejects({ dns: { refesh: 5 } }, /Unknown option "dns.refesh"/);
    rejects({ idempotent: "add" }, /Invalid idempotent "add"/);
    rejects({ THRIFTCLIENT_DNS_REFRESH: "soon" }, /THRIFTCLIENT_DNS_REFRESH "soon"/);
    const resolving = new ThriftClient(Calculator.Client, {
      THRIFTCLIENT_TRANSPORT: "tcp://127.0.0.1:1",
      THRIFTCLIENT_DNS_SERVERS: "127.0.0.1:5353, [::1]:53",
    });
    assert.deepEqual(resolving.endpoints!.map((e) => e.url), ["tcp://127.0.0.1:1"]);
  });
});

const dnsSkip = dnsmasqAvailable() ? false : "dnsmasq not installed";
if (dnsSkip) console.log(`SKIPPED several endpoints by DNS name: ${dnsSkip}`);

describe("several endpoints, by DNS name", () => {
  /** A server on `host:port` whose `sleep(ms)` answers the host's last octet after ms. */
  const sleeper = (host: string, port: number): TestServer =>
    serve(Calculator, {
      sleep: (ms: number | null) =>
        new Promise<number>((r) => setTimeout(() => r(Number(host.split(".")[3])), ms ?? 0)),
    }, { host, port });

  it(
    "a removed endpoint's connections are all closed once drained (none left idle after close())",
    { ...T, skip: dnsSkip },
    async () => {
      const port = await freePortOn(["127.0.0.2", "127.0.0.3"]);
      await using dns = await startDnsmasq({ records: { "svc.test": ["127.0.0.2", "127.0.0.3"] } });
      await using a = sleeper("127.0.0.2", port);
      await using b = sleeper("127.0.0.3", port);
      await withoutFdLeak(async () => {
        const thrift = new ThriftClient(Calculator.Client, {
          transport: `tcp://svc.test:${port}`,
          pool: true,
          dns: { refresh: 100, servers: [dns.server] },
        });
        const calls: Promise<number>[] = [];
        for (let i = 1; i <= 6; i++) { // one by one: each pick sees the load of those before
          calls.push(thrift.client.sleep(500));
          await until("the call reached a server", () => a.calls.length + b.calls.length === i);
        }
        assert.equal(b.calls.length, 3);
        await dns.setRecords("svc.test", ["127.0.0.2"]); // 127.0.0.3 drains: its calls go on
        await until("127.0.0.3 draining", () =>
          thrift.endpoints!.length === 2 &&
          thrift.endpoints![1]!.state === "draining");
        assert.deepEqual((await Promise.all(calls)).sort(), [2, 2, 2, 3, 3, 3]);
        assert.deepEqual(thrift.endpoints!.map((e) => e.url), [`tcp://127.0.0.2:${port}`]);
        await thrift.close(); // then every socket is closed (withoutFdLeak waits for it)
      });
    },
  );

  it(
    "close() stops re-resolving; a later call resolves anew",
    { ...T, skip: dnsSkip },
    async () => {
      const port = await freePortOn(["127.0.0.2", "127.0.0.3"]);
      await using dns = await startDnsmasq({ records: { "svc.test": ["127.0.0.2"] } });
      await using _a = sleeper("127.0.0.2", port);
      await using _b = sleeper("127.0.0.3", port);
      const thrift = new ThriftClient(Calculator.Client, {
        transport: `tcp://svc.test:${port}`,
        dns: { refresh: 50, servers: [dns.server] },
      });
      assert.equal(await thrift.client.sleep(0), 2);
      await thrift.close();
      await dns.setRecords("svc.test", ["127.0.0.3"]);
      await new Promise((resolve) => setTimeout(resolve, 300)); // 6 refresh periods
      assert.deepEqual(thrift.endpoints!.map((e) => e.url), [`tcp://127.0.0.2:${port}`]);
      assert.equal(await thrift.client.sleep(0), 3);
      await thrift.close();
    },
  );
});

test("the retry budget: 20 % of calls plus 10 a second over 10 s", () => {
  const budget = new RetryBudget();
  let now = 1_000;
  for (let i = 0; i < 100; i++) budget.deposit(now);
  let granted = 0;
  while (budget.withdraw(now)) granted++;
  assert.equal(granted, 100 * 0.2 + 10 * 10);
  now += 11_000; // a whole window later: the old calls and retries are forgotten
  budget.deposit(now);
  granted = 0;
  while (budget.withdraw(now)) granted++;
  assert.equal(granted, Math.floor(0.2 + 100));
});
