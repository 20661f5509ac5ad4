import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ThriftClient, ThriftClientError, type ThriftClientOptions } from "../mod.ts";
import { Calculator, Greeter } from "./helpers/calculator.ts";
import { testCerts } from "./helpers/certs.ts";
import {
  buildCppPeer,
  cppPeerAvailable,
  cppPeerMissing,
  type CppPeerOptions,
  startCppPeer,
} from "./helpers/cpp_peer.ts";
import { exercise } from "./helpers/exercise.ts";
import thrift from "thrift";

const { TApplicationException, TApplicationExceptionType } = (thrift as unknown as {
  Thrift: {
    TApplicationException: new () => Error;
    TApplicationExceptionType: { UNKNOWN: number };
  };
}).Thrift;

const available = cppPeerAvailable();
const skip = available ? false : `not installed: ${cppPeerMissing().join(", ")}`;
if (!available) console.log(`SKIPPED interop with the C++ peer: ${skip}`);
const T = { timeout: 30_000, skip };
/** The first build compiles libthrift's generated code and the server: allow it 180 s. */
const BUILD = { timeout: 200_000, skip };
/**
 * C++'s THttpServer never answers a oneway POST; the library resolves the call once sent and
 * aborts the request after `timeout`, which graceful close waits for: keep it short.
 */
const HTTP_TIMEOUT_MS = 2_000;

type Transport = CppPeerOptions["transport"];
const PROTOCOLS = ["binary", "compact", "json"] as const;
const SECURE = new Set<Transport>(["tcps", "unixs", "https"]);

/** Peer and client options for one cell; TLS cells use the test CA. */
function cell(transport: Transport, peer: Omit<CppPeerOptions, "transport"> = {}) {
  const certs = available ? testCerts() : undefined;
  const tls = SECURE.has(transport) && certs
    ? { cert: certs.serverCert, key: certs.serverKey }
    : undefined;
  const peerOptions: CppPeerOptions = { transport, ...peer, ...(tls ? { tls } : {}) };
  const client: ThriftClientOptions = {
    protocol: peer.protocol ?? "binary",
    framed: peer.framed ?? false,
    zlib: peer.zlib ?? false,
    ...(tls ? { ssl: { caCerts: certs!.caCert } } : {}),
    ...(transport.startsWith("http") ? { timeout: HTTP_TIMEOUT_MS } : {}),
  };
  return { peerOptions, client };
}

async function runCell(transport: Transport, peer: Omit<CppPeerOptions, "transport">) {
  const { peerOptions, client } = cell(transport, peer);
  await using server = await startCppPeer(peerOptions);
  const thrift = new ThriftClient(Calculator.Client, {
    transport: server.url,
    ...client,
    ...(peer.multiplex ? { service: "Calculator" } : {}),
  });
  try {
    await using conn = thrift.connect();
    await exercise(conn.client);
    if (peer.multiplex) {
      const greeter = new ThriftClient(Greeter.Client, {
        transport: server.url,
        ...client,
        service: "Greeter",
      });
      assert.equal(await greeter.client.greet("ünï"), "hello ünï");
    }
  } catch (error) {
    const log = server.stderr().trim();
    if (log && error instanceof Error) error.message += `\n--- C++ peer stderr ---\n${log}`;
    throw error;
  }
}

describe("C++ peer interop matrix", () => {
  it("the C++ peer builds", BUILD, async () => {
    await buildCppPeer();
  });
  for (const transport of ["tcp", "unix", "tcps", "unixs"] as const) {
    for (const protocol of PROTOCOLS) {
      for (const framed of [false, true]) {
        it(`${transport} ${protocol} ${framed ? "framed" : "unframed"}`, T, async () => {
          await runCell(transport, { protocol, framed });
        });
      }
    }
  }
  for (const transport of ["http", "https"] as const) {
    for (const protocol of PROTOCOLS) {
      it(`${transport} ${protocol}`, T, async () => {
        await runCell(transport, { protocol });
      });
    }
  }
  for (const transport of ["tcp", "unix"] as const) {
    for (const protocol of ["binary", "compact"] as const) {
      it(`${transport} ${protocol} zlib (C++ ends each message with a full flush)`, T, async () => {
        await runCell(transport, { protocol, zlib: true });
      });
    }
  }
  it("tcps compact framed zlib", T, async () => {
    await runCell("tcps", { protocol: "compact", framed: true, zlib: true });
  });
  for (const transport of ["tcp", "unix", "tcps", "https"] as const) {
    it(`${transport} multiplexed`, T, async () => {
      await runCell(transport, { protocol: "compact", multiplex: true });
    });
  }
});

describe("C++ peer specifics", () => {
  it("an undeclared server error is a TApplicationException of type UNKNOWN", T, async () => {
    await using server = await startCppPeer({ transport: "tcp", protocol: "compact" });
    const client = new ThriftClient(Calculator.Client, {
      transport: server.url,
      protocol: "compact",
    });
    await assert.rejects(client.client.crash(), (error: Error & { type?: number }) => {
      assert.ok(error instanceof TApplicationException, `${error}`);
      assert.equal(error.type, TApplicationExceptionType.UNKNOWN);
      assert.match(error.message, /crash\(\): an undeclared server error/);
      return true;
    });
  });

  for (const transport of ["tcp", "http"] as const) {
    it(`${transport}: calls on separate connections run concurrently`, T, async () => {
      const { peerOptions, client } = cell(transport);
      await using server = await startCppPeer(peerOptions);
      // outside a scope every call has a connection of its own (HTTP: a request of its own)
      const thrift = new ThriftClient(Calculator.Client, { transport: server.url, ...client });
      const started = Date.now();
      const slept = await Promise.all([300, 300, 300, 300].map((ms) => thrift.client.sleep(ms)));
      assert.deepEqual(slept, [300, 300, 300, 300]);
      assert.ok(Date.now() - started < 1100, "the four calls ran one after another");
    });
  }

  for (const transport of ["tcps", "unixs", "https"] as const) {
    it(
      `${transport}: mutual TLS works with a client certificate and fails without`,
      T,
      async () => {
        const certs = testCerts();
        const { peerOptions, client } = cell(transport);
        peerOptions.tls = { cert: certs.serverCert, key: certs.serverKey, ca: certs.caCert };
        await using server = await startCppPeer(peerOptions);
        const without = new ThriftClient(Calculator.Client, { transport: server.url, ...client });
        await assert.rejects(without.client.add(1, 2), ThriftClientError);
        const withCert = new ThriftClient(Calculator.Client, {
          transport: server.url,
          ...client,
          THRIFTCLIENT_SSL_CERT: certs.clientCert,
          THRIFTCLIENT_SSL_KEY: certs.clientKey,
        });
        assert.equal(await withCert.client.add(2, 3), 5);
      },
    );
  }
});
