import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ThriftClient, ThriftClientError } from "../mod.ts";
import { Calculator } from "./helpers/calculator.ts";
import { testCerts } from "./helpers/certs.ts";
import {
  buildCppPeer,
  cppPeerAvailable,
  cppPeerMissing,
  type CppPeerOptions,
  startCppPeer,
} from "./helpers/cpp_peer.ts";
import { defineInteropMatrix } from "./helpers/interop_matrix.ts";
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

const cell = defineInteropMatrix<CppPeerOptions>({
  name: "C++ peer",
  skip,
  start: startCppPeer,
  clientOptions: (transport) => transport.startsWith("http") ? { timeout: HTTP_TIMEOUT_MS } : {},
  zlibNote: " (C++ ends each message with a full flush)",
  first: () => {
    it("the C++ peer builds", BUILD, async () => {
      await buildCppPeer();
    });
  },
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
        // As with the Python peer: Deno's node:tls now and then misses the refusal that TLS 1.3
        // sends after the handshake, so the call may end at its timeout instead.
        const without = new ThriftClient(Calculator.Client, {
          transport: server.url,
          ...client,
          timeout: 5000,
        });
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
