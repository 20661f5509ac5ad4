/**
 * Several endpoints from DNS: a name that Debian's dnsmasq (started by the test on a loopback
 * port) resolves to 127.0.0.2, 127.0.0.3 and 127.0.0.4 is three endpoints, each a `serve()` test
 * server on that address; a record change is picked up at the next re-resolution: a dropped
 * address is drained (a call in flight on it finishes) and then closed, a new one serves.
 *
 * Runs under `deno test -A tests/endpoints_dns_test.ts` and `bun test tests/endpoints_dns_test.ts`.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ThriftClient } from "../mod.ts";
import { serve, type TestServer } from "../src/testing.ts";
import { Calculator } from "./helpers/calculator.ts";
import { dnsmasqAvailable, startDnsmasq } from "./helpers/dnsmasq.ts";
import { until } from "./helpers/within.ts";

const T = { timeout: 30_000 };
const NAME = "thrift.test";

/** Servers on several loopback addresses, one port; `add` answers `a + b + the last byte`. */
function servers(hosts: string[], port = 0): TestServer[] {
  const made: TestServer[] = [];
  for (const host of hosts) {
    const tag = Number(host.split(".").at(-1));
    made.push(serve(Calculator, {
      add: (a: number, b: number) => a + b + tag * 1000,
      sleep: (ms: number) => new Promise<number>((resolve) => setTimeout(() => resolve(ms), ms)),
    }, { host, port: port || Number(made[0]?.url.split(":").at(-1) ?? 0) }));
  }
  return made;
}

describe("endpoints from DNS", {
  skip: dnsmasqAvailable() ? false : "dnsmasq is not installed (apt-get install dnsmasq-base)",
}, () => {
  it("a name with three addresses is three endpoints, all used", T, async () => {
    const up = servers(["127.0.0.2", "127.0.0.3", "127.0.0.4"]);
    const port = Number(up[0]!.url.split(":").at(-1));
    await using dns = await startDnsmasq({
      records: { [NAME]: ["127.0.0.2", "127.0.0.3", "127.0.0.4"] },
    });
    try {
      const thrift = new ThriftClient(Calculator.Client, {
        transport: `tcp://${NAME}:${port}`,
        dns: { servers: [dns.server] },
        pool: true,
      });
      const answers = await Promise.all(Array.from({ length: 60 }, () => thrift.client.add(0, 0)));
      assert.deepEqual(new Set(answers), new Set([2000, 3000, 4000]));
      assert.deepEqual(thrift.endpoints!.map((e) => e.url).sort(), [
        `tcp://127.0.0.2:${port}`,
        `tcp://127.0.0.3:${port}`,
        `tcp://127.0.0.4:${port}`,
      ]);
      await thrift.close();
    } finally {
      await Promise.all(up.map((s) => s.close()));
    }
  });

  it("a dropped address is drained (its call finishes), a new one serves", T, async () => {
    const up = servers(["127.0.0.2", "127.0.0.3"]);
    const port = Number(up[0]!.url.split(":").at(-1));
    await using dns = await startDnsmasq({ records: { [NAME]: ["127.0.0.2"] } });
    try {
      const thrift = new ThriftClient(Calculator.Client, {
        transport: `tcp://${NAME}:${port}`,
        dns: { servers: [dns.server], refresh: 100 },
      });
      const scope = thrift.connect(); // on 127.0.0.2, the only address
      assert.equal(await scope.client.add(0, 0), 2000);
      const slow = scope.client.sleep(800);
      await dns.setRecords(NAME, ["127.0.0.3"]);
      await until(
        "re-resolved",
        () => thrift.endpoints!.some((e) => e.state === "draining"),
        3_000,
      );
      assert.deepEqual(thrift.endpoints!.map((e) => [e.url, e.state]), [
        [`tcp://127.0.0.3:${port}`, "healthy"],
        [`tcp://127.0.0.2:${port}`, "draining"],
      ]);
      // a new connection (another scope than `scope`'s) goes to the new address
      assert.equal(await thrift.autoconnect(() => thrift.client.add(0, 0))(), 3000);
      assert.equal(await slow, 800); // never cut mid-call
      await scope.end();
      assert.deepEqual(thrift.endpoints!.map((e) => e.url), [`tcp://127.0.0.3:${port}`]);
      await thrift.close();
    } finally {
      await Promise.all(up.map((s) => s.close()));
    }
  });
});
