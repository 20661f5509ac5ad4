/**
 * `Runtime.resolve` against a real DNS server (Debian's dnsmasq on a loopback port) and the
 * system's resolver. Runs under `deno test -A` and `bun test`.
 */
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { createServer, type Server } from "node:net";
import { describe, it } from "node:test";
import { DNS_TIMEOUT_MS, dnsServer, ordered } from "../src/runtime/_dns.ts";
import { runtime } from "../src/runtime/detect.ts";
import { dial, recorder, tcp } from "./helpers/dial.ts";
import { dnsmasqAvailable, query, startDnsmasq } from "./helpers/dnsmasq.ts";
import { within } from "./helpers/within.ts";

const available = dnsmasqAvailable();
const skip = available ? false : "dnsmasq not installed";
if (!available) console.log(`SKIPPED DNS tests against dnsmasq: ${skip}`);
const T = { timeout: 15_000 };
const DNSMASQ = { ...T, skip };
const resolve = (host: string, servers?: readonly string[]): Promise<string[]> =>
  runtime().resolve(host, servers);

/** A UDP port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
function silentPort(): Promise<number> {
  return new Promise((done) => {
    const socket = createSocket("udp4");
    socket.bind(0, "127.0.0.1", () => {
      const { port } = socket.address();
      socket.close(() => done(port));
    });
  });
}

/** A TCP server on `host` that writes its own address to each connection and closes it. */
async function nameTag(host: string): Promise<Server & AsyncDisposable> {
  const server = createServer((socket) => socket.end(host));
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(0, host, ok);
  });
  return Object.assign(server, {
    [Symbol.asyncDispose]: () => new Promise<void>((ok) => server.close(() => ok())),
  });
}

describe(`DNS resolution (${runtime().name})`, () => {
  it("returns every A record of a name, in ascending order", DNSMASQ, async () => {
    await using dns = await startDnsmasq({
      records: { "multi.test": ["127.0.0.4", "127.0.0.2", "127.0.0.3"] },
    });
    for (let i = 0; i < 3; i++) { // dnsmasq rotates its answers: the order is ours
      assert.deepEqual(await resolve("multi.test", [dns.server]), [
        "127.0.0.2",
        "127.0.0.3",
        "127.0.0.4",
      ]);
    }
  });

  it("returns AAAA records too, after the IPv4 ones", DNSMASQ, async () => {
    await using dns = await startDnsmasq({
      records: {
        "both.test": ["fd00::2", "::1", "127.0.0.2"],
        "six.test": ["::1"],
      },
    });
    assert.deepEqual(await resolve("both.test", [dns.server]), ["127.0.0.2", "::1", "fd00::2"]);
    assert.deepEqual(await resolve("six.test", [dns.server]), ["::1"]);
  });

  it("sees a record changed with setRecords on the next resolve", DNSMASQ, async () => {
    await using dns = await startDnsmasq({ records: { "moving.test": ["127.0.0.2"] } });
    assert.deepEqual(await resolve("moving.test", [dns.server]), ["127.0.0.2"]);
    await dns.setRecords("moving.test", ["127.0.0.3", "127.0.0.4"]);
    assert.deepEqual(await resolve("moving.test", [dns.server]), ["127.0.0.3", "127.0.0.4"]);
    await dns.setRecords("moving.test", []);
    await assert.rejects(resolve("moving.test", [dns.server]), /no such host$/);
  });

  it("rejects naming the host and the server when the name is unknown", DNSMASQ, async () => {
    await using dns = await startDnsmasq({ records: { "known.test": ["127.0.0.2"] } });
    await assert.rejects(resolve("unknown.test", [dns.server]), {
      message: `Cannot resolve "unknown.test" with DNS server ${dns.server}: no such host`,
    });
  });

  // Deno reports a REFUSED answer as NotFound (Deno.resolveDns and its node:dns alike).
  it("rejects saying the server refused, where the runtime can tell", DNSMASQ, async () => {
    await using dns = await startDnsmasq({ unknown: "refused" });
    const said = runtime().name === "bun" ? "the server refused the query" : "no such host";
    await assert.rejects(resolve("elsewhere.test", [dns.server]), {
      message: `Cannot resolve "elsewhere.test" with DNS server ${dns.server}: ${said}`,
    });
  });

  it("rejects within the bound when nothing answers on the server's port", T, async () => {
    const server = `127.0.0.1:${await silentPort()}`;
    const started = Date.now();
    const error = await within("resolve", DNS_TIMEOUT_MS + 3_000, resolve("any.test", [server]))
      .then(() => assert.fail("resolved"), (e: Error) => e);
    const took = Date.now() - started;
    assert.match(
      error.message,
      new RegExp(
        `^Cannot resolve "any.test" with DNS server ${server}: ` +
          `(timed out after ${DNS_TIMEOUT_MS} ms|connection refused)$`,
      ),
    );
    assert.ok(took < DNS_TIMEOUT_MS + 1_000, `took ${took} ms`);
  });

  it("asks the next server when the first does not answer", DNSMASQ, async () => {
    await using dns = await startDnsmasq({ records: { "second.test": ["127.0.0.2"] } });
    const silent = `127.0.0.1:${await silentPort()}`;
    assert.deepEqual(await resolve("second.test", [silent, dns.server]), ["127.0.0.2"]);
    await assert.rejects(resolve("missing.test", [silent, dns.server]), {
      message: new RegExp(
        `^Cannot resolve "missing.test" with DNS servers ${silent}, ${dns.server}: ` +
          `.+ \\(${silent}\\); no such host \\(${dns.server}\\)$`,
      ),
    });
  });

  it("connects to the servers behind the resolved addresses", DNSMASQ, async () => {
    const hosts = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];
    await using dns = await startDnsmasq({ records: { "pool.test": hosts } });
    await using a = await nameTag("127.0.0.2");
    await using b = await nameTag("127.0.0.3");
    await using c = await nameTag("127.0.0.4");
    const ports = new Map(
      [a, b, c].map((s, i) => [hosts[i], (s.address() as { port: number }).port]),
    );
    const addresses = await resolve("pool.test", [dns.server]);
    assert.deepEqual(addresses, hosts);
    for (const address of addresses) {
      const rec = recorder();
      const stream = await dial(tcp(ports.get(address) ?? 0, undefined, address), rec);
      assert.equal(await rec.closed, undefined);
      stream.close();
      assert.equal(new TextDecoder().decode(await rec.bytes(address.length)), address);
    }
  });

  it("resolves localhost with the system resolver (/etc/hosts)", T, async () => {
    const addresses = await resolve("localhost");
    assert.ok(addresses.includes("127.0.0.1") || addresses.includes("::1"), String(addresses));
    for (const address of addresses) assert.match(address, /^(127\.\d+\.\d+\.\d+|::1)$/);
    assert.deepEqual(addresses, ordered(addresses));
  });

  it("rejects naming the system resolver when it cannot resolve a name", T, async () => {
    await assert.rejects(resolve("no-such-host.invalid"), {
      message: /^Cannot resolve "no-such-host\.invalid" with the system resolver: /,
    });
  });

  it("returns an IP literal as it is, without asking any server", T, async () => {
    const nobody = [`127.0.0.1:${await silentPort()}`];
    for (const servers of [undefined, nobody]) {
      assert.deepEqual(await resolve("127.0.0.7", servers), ["127.0.0.7"]);
      assert.deepEqual(await resolve("::1", servers), ["::1"]);
      assert.deepEqual(await resolve("[fd00::7]", servers), ["fd00::7"]);
    }
  });

  it("rejects a server that is not an IP address with an optional port", T, async () => {
    await assert.rejects(resolve("a.test", ["dns.example:53"]), {
      message: /^Invalid DNS server "dns\.example:53": expected an IP address/,
    });
    await assert.rejects(resolve("a.test", []), {
      message: `Cannot resolve "a.test": no DNS server given`,
    });
  });
});

describe("dnsmasq harness", () => {
  it("stops dnsmasq and frees its port on dispose", DNSMASQ, async () => {
    const dns = await startDnsmasq({ records: { "a.test": ["127.0.0.2"] } });
    assert.deepEqual(await query(dns.port, "a.test", "A"), { rcode: 0, addresses: ["127.0.0.2"] });
    await dns[Symbol.asyncDispose]();
    assert.throws(() => process.kill(dns.pid, 0), { code: "ESRCH" });
    assert.equal(await query(dns.port, "a.test", "A", 200), undefined);
  });
});

describe("DNS server and address helpers", () => {
  it("reads servers with and without a port, IPv6 in brackets", () => {
    assert.deepEqual(dnsServer("127.0.0.1:5353"), {
      ip: "127.0.0.1",
      port: 5353,
      label: "127.0.0.1:5353",
    });
    assert.deepEqual(dnsServer("10.0.0.1"), { ip: "10.0.0.1", port: 53, label: "10.0.0.1:53" });
    assert.deepEqual(dnsServer("[::1]:53"), { ip: "::1", port: 53, label: "[::1]:53" });
    assert.deepEqual(dnsServer("[::1]"), { ip: "::1", port: 53, label: "[::1]:53" });
    assert.deepEqual(dnsServer("fd00::53"), { ip: "fd00::53", port: 53, label: "[fd00::53]:53" });
    for (
      const bad of ["", "dns.example", "1.2.3.4:0", "1.2.3.4:70000", "[1.2.3.4]:53", "::1:53x"]
    ) {
      assert.throws(() => dnsServer(bad), /^Error: Invalid DNS server/, bad);
    }
  });

  it("orders addresses IPv4 first, each family ascending, without duplicates", () => {
    assert.deepEqual(
      ordered(["fd00::1", "127.0.0.10", "::1", "127.0.0.9", "::ffff:1.2.3.4", "::1", "10.0.0.1"]),
      ["10.0.0.1", "127.0.0.9", "127.0.0.10", "::1", "::ffff:1.2.3.4", "fd00::1"],
    );
  });
});
