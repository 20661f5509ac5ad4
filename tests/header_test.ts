import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { describe, it } from "node:test";
import {
  ConfigError,
  type Connection,
  type InfoHeaders,
  ProtocolError,
  ThriftClient,
} from "../mod.ts";
import { resolveConfig } from "../src/config.ts";
import { Calculator, type CalculatorClient, Greeter } from "./helpers/calculator.ts";
import { testCerts } from "./helpers/certs.ts";
import {
  buildCppPeer,
  cppPeerAvailable,
  cppPeerMissing,
  startCppPeer,
} from "./helpers/cpp_peer.ts";
import { exercise } from "./helpers/exercise.ts";
import type { CommonPeerOptions } from "./helpers/peer_process.ts";
import { pythonThriftAvailable, startPythonPeer } from "./helpers/python_peer.ts";

const T = { timeout: 30_000 };
/** The first build of the C++ peer compiles libthrift's generated code: allow it 180 s. */
const BUILD = { timeout: 200_000 };

describe("THeader configuration", () => {
  it("HEADER and HEADER_COMPACT are read in any case, from options and THRIFTCLIENT_PROTOCOL", () => {
    assert.equal(ThriftClient.HEADER, "HEADER");
    assert.equal(ThriftClient.HEADER_COMPACT, "HEADER_COMPACT");
    const binary = resolveConfig({ protocol: "header" });
    assert.equal(binary.protocol, "BINARY");
    assert.deepEqual(binary.header, { zlib: false });
    const compact = resolveConfig({ THRIFTCLIENT_PROTOCOL: " Header_Compact " });
    assert.equal(compact.protocol, "COMPACT");
    assert.deepEqual(compact.header, { zlib: false });
    assert.equal(resolveConfig({ protocol: "compact" }).header, undefined);
  });

  it("framed is implied, and zlib becomes the THeader transform instead of a zlib stream", () => {
    for (const framed of ["True", "False"]) {
      const endpoint = resolveConfig({
        protocol: "HEADER",
        THRIFTCLIENT_FRAMED: framed,
        THRIFTCLIENT_ZLIB: "True",
      });
      assert.equal(endpoint.framed, true);
      assert.equal(endpoint.zlib, false); // no TZlibTransport stream
      assert.deepEqual(endpoint.header, { zlib: true });
    }
  });

  it("over http and https it is a ConfigError that says why", () => {
    for (const transport of ["http://127.0.0.1:9090/", "https://127.0.0.1/rpc"]) {
      for (const protocol of ["HEADER", "header_compact"]) {
        assert.throws(
          () => new ThriftClient(Calculator.Client, { transport, protocol }),
          (error: unknown) => {
            assert.ok(error instanceof ConfigError, `${error}`);
            assert.match(error.message, /THeader works over tcp and unix sockets only/);
            assert.match(error.message, /THttpServer/);
            return true;
          },
        );
      }
    }
  });

  it("an unknown protocol's message names the THeader protocols", () => {
    assert.throws(
      () => new ThriftClient(Calculator.Client, { protocol: "headers" }),
      /expected BINARY, COMPACT, JSON, HEADER or HEADER_COMPACT/,
    );
  });
});

type Protocol = "HEADER" | "HEADER_COMPACT";
type Transport = "tcp" | "unix" | "tcps" | "unixs";

interface Cell {
  transport: Transport;
  protocol: Protocol;
  /** The client compresses its requests. */
  zlib?: boolean;
  /** The peer compresses its replies (by default: as the client does). */
  peerZlib?: boolean;
  multiplex?: boolean;
}

const CELLS: Cell[] = [
  ...(["HEADER", "HEADER_COMPACT"] as const).flatMap((protocol) =>
    [false, true].map((zlib): Cell => ({ transport: "tcp", protocol, zlib }))
  ),
  { transport: "tcp", protocol: "HEADER", zlib: true, peerZlib: false },
  { transport: "tcp", protocol: "HEADER_COMPACT", zlib: false, peerZlib: true },
  { transport: "unix", protocol: "HEADER" },
  { transport: "unix", protocol: "HEADER_COMPACT", zlib: true },
  { transport: "tcps", protocol: "HEADER_COMPACT" },
  { transport: "tcps", protocol: "HEADER", zlib: true },
  { transport: "unixs", protocol: "HEADER" },
  { transport: "unixs", protocol: "HEADER_COMPACT", zlib: true },
  { transport: "tcp", protocol: "HEADER", multiplex: true },
];

function cellName(cell: Cell): string {
  const peerZlib = cell.peerZlib ?? cell.zlib;
  const zlib = cell.zlib === peerZlib
    ? (cell.zlib ? " zlib" : "")
    : cell.zlib
    ? " zlib requests, plain replies"
    : " plain requests, zlib replies";
  return `${cell.transport} ${cell.protocol}${zlib}${cell.multiplex ? " multiplexed" : ""}`;
}

/** A call to `header(name)` with info headers: what it returned and its reply's headers. */
async function headerCall(
  conn: Connection<CalculatorClient>,
  name: string,
  headers?: InfoHeaders,
): Promise<{ value: unknown; reply: ReadonlyMap<string, string> | undefined }> {
  let reply: ReadonlyMap<string, string> | undefined;
  const value = await conn.call("header", [name], {
    headers,
    onReplyHeaders: (received) => reply = received,
  });
  return { value, reply };
}

interface Peer {
  name: string;
  skip: string | false;
  start(opts: CommonPeerOptions): Promise<{ url: string; stderr(): string } & AsyncDisposable>;
  /**
   * The binary echoed when requests are compressed. libthrift 0.17's C++ THeaderTransport
   * inflates a request into a buffer sized after its own writes (about 1 KiB at first) and
   * refuses a larger one (see "C++ THeader limits" below).
   */
  zlibBinary?: number;
}

const pythonSkip = pythonThriftAvailable() ? false : "python3-thrift or thrift-compiler missing";
const cppSkip = cppPeerAvailable() ? false : `not installed: ${cppPeerMissing().join(", ")}`;
const PEERS: Peer[] = [
  { name: "Python", skip: pythonSkip, start: startPythonPeer },
  { name: "C++", skip: cppSkip, start: startCppPeer, zlibBinary: 256 },
];

for (const peer of PEERS) {
  if (peer.skip) console.log(`SKIPPED THeader interop with the ${peer.name} peer: ${peer.skip}`);
  const t = { ...T, skip: peer.skip };

  describe(`THeader with the ${peer.name} peer`, () => {
    if (peer.name === "C++") {
      it("the C++ peer builds", { ...BUILD, skip: peer.skip }, async () => {
        await buildCppPeer();
      });
    }

    for (const cell of CELLS) {
      it(`${cellName(cell)}: every call shape, and info headers both ways`, t, async () => {
        const certs = cell.transport.endsWith("s") ? testCerts() : undefined;
        await using server = await peer.start({
          transport: cell.transport,
          protocol: "header",
          zlib: cell.peerZlib ?? cell.zlib ?? false,
          multiplex: cell.multiplex ?? false,
          ...(certs ? { tls: { cert: certs.serverCert, key: certs.serverKey } } : {}),
        });
        const options = {
          transport: server.url,
          protocol: cell.protocol,
          zlib: cell.zlib ?? false,
          ...(certs ? { ssl: { caCerts: certs.caCert } } : {}),
        };
        const thrift = new ThriftClient(Calculator.Client, {
          ...options,
          ...(cell.multiplex ? { service: "Calculator" } : {}),
        });
        try {
          await using conn = thrift.connect();
          await exercise(conn.client, cell.zlib ? peer.zlibBinary : undefined);
          const { value, reply } = await headerCall(conn, "x-trace", {
            "x-trace": "ünï ✓ 日本",
            "x-other": "2",
          });
          assert.equal(value, "ünï ✓ 日本");
          assert.equal(reply?.get("echo-x-trace"), "ünï ✓ 日本");
          // the headers were this call's alone
          assert.equal(await conn.client.header("x-trace"), "");
          if (cell.multiplex) {
            const greeter = new ThriftClient(Greeter.Client, { ...options, service: "Greeter" });
            assert.equal(await greeter.client.greet("ünï"), "hello ünï");
          }
        } catch (error) {
          const log = server.stderr().trim();
          if (log && error instanceof Error) error.message += `\n--- peer stderr ---\n${log}`;
          throw error;
        }
      });
    }

    it(
      "info headers may be a Map, a Headers, pairs or a record; none is an empty map",
      t,
      async () => {
        await using server = await peer.start({ transport: "tcp", protocol: "header" });
        const thrift = new ThriftClient(Calculator.Client, {
          transport: server.url,
          protocol: "HEADER_COMPACT",
        });
        await using conn = thrift.connect();
        const many = Object.fromEntries(
          Array.from({ length: 40 }, (_, i) => [`k${i}`, "v".repeat(i)]),
        );
        for (
          const headers of [
            new Map([["x-a", "1"]]),
            new Headers({ "X-A": "1" }), // Headers lowercases names
            [["x-a", "1"]] as const,
            { ...many, "x-a": "1" },
          ]
        ) {
          const { value, reply } = await headerCall(conn, "x-a", headers);
          assert.equal(value, "1");
          assert.deepEqual([...reply ?? []], [["echo-x-a", "1"]]);
        }
        assert.equal((await headerCall(conn, "k39", many)).value, "v".repeat(39));
        const empty = await headerCall(conn, "x-a", { "x-a": "" });
        assert.equal(empty.reply?.get("echo-x-a"), "");
        let told: ReadonlyMap<string, string> | undefined;
        assert.equal(await conn.call("add", [1, 2], { onReplyHeaders: (h) => told = h }), 3);
        assert.equal(told?.size, 0, "a reply without info headers is told an empty map");
      },
    );
  });
}

describe("THeader specifics of the peers", () => {
  it("zlib compresses each request on the wire (the Python peer counts the bytes)", {
    ...T,
    skip: pythonSkip,
  }, async () => {
    for (const zlib of [false, true]) {
      await using server = await startPythonPeer({ transport: "tcp", protocol: "header", zlib });
      const thrift = new ThriftClient(Calculator.Client, {
        transport: server.url,
        protocol: "HEADER",
        zlib,
      });
      const blob = Buffer.alloc(64 * 1024);
      for (let i = 0; i < blob.length; i++) blob[i] = i & 0x0f;
      assert.ok(blob.equals(await thrift.client.echoBinary(blob)));
      const { bytes } = await server.stats();
      assert.ok(zlib ? bytes < 2048 : bytes > blob.length, `${bytes} bytes with zlib ${zlib}`);
    }
  });

  it(
    "C++ THeader limits: a compressed request that inflates past libthrift's buffer is refused, and the call says why",
    { ...T, skip: cppSkip },
    async () => {
      await using server = await startCppPeer({ transport: "tcp", protocol: "header", zlib: true });
      const thrift = new ThriftClient(Calculator.Client, {
        transport: server.url,
        protocol: "HEADER",
        zlib: true,
      });
      await using conn = thrift.connect();
      assert.equal(await conn.client.add(1, 2), 3);
      await assert.rejects(conn.client.echoBinary(Buffer.alloc(64 * 1024)), (error: Error) => {
        assert.ok(error instanceof ProtocolError, `${error}`);
        assert.match(error.message, /sequence id 0 .*the server says "Error while zlib/);
        return true;
      });
      assert.equal(conn.state, "closed");
    },
  );
});
