/**
 * Proves the Python interop peer (`tests/peers/python_server.py`, via
 * `tests/helpers/python_peer.ts`) speaks real Thrift, using the npm `thrift` package's OWN
 * clients, independent of the library under test. zlib (which npm `thrift` lacks) is
 * checked with hand-made binary-protocol messages through `node:zlib`.
 *
 * Runs under `deno test -A tests/peer_smoke_test.ts` and `bun test tests/peer_smoke_test.ts`.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { existsSync, readFileSync } from "node:fs";
import { connect as netConnect, type Socket } from "node:net";
import { test } from "node:test";
import { connect as tlsConnect } from "node:tls";
import { constants as zlibConstants, deflateSync, inflateSync } from "node:zlib";
import { Calculator, type CalculatorClient, types } from "./helpers/calculator.ts";
import { type TestCerts, testCerts } from "./helpers/certs.ts";
import { type NpmClient, openNpmClient } from "./helpers/npm_client.ts";
import { type NpmConnection, npmTransport, thrift } from "./helpers/npm_thrift.ts";
import {
  type PeerOptions,
  type PythonPeer,
  pythonThriftAvailable,
  startPythonPeer,
} from "./helpers/python_peer.ts";
import { within } from "./helpers/within.ts";

// ---- helpers ----

const SKIP = pythonThriftAvailable() ? false : "python3-thrift not installed";
if (SKIP) console.warn(`peer_smoke_test: skipped, ${SKIP}`);
const TEST_TIMEOUT_MS = 25_000;

const getCerts = (): TestCerts => testCerts();

/** A test that skips without python3-thrift and can never hang. */
function peerTest(name: string, body: () => Promise<void>): void {
  test(name, { skip: SKIP, timeout: TEST_TIMEOUT_MS }, async () => {
    await within(`test "${name}"`, TEST_TIMEOUT_MS, body());
  });
}

/** Retries `check` every 20 ms until it passes, for at most 2 s. */
async function eventually(check: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (true) {
    try {
      return await within("check", 2_000, check());
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** Connects npm `thrift`'s own socket client to a peer (tcp, unix, tcps, unixs). */
async function connectSocketClient(
  peer: PythonPeer,
  opts: PeerOptions,
  clientCert = false,
): Promise<NpmClient> {
  const options = npmTransport(opts.protocol, opts.framed);
  const tls = () => ({
    ca: readFileSync(getCerts().caCert),
    ...(clientCert
      ? {
        cert: readFileSync(getCerts().clientCert),
        key: readFileSync(getCerts().clientKey),
      }
      : {}),
  });
  let conn: NpmConnection;
  switch (opts.transport) {
    case "tcp":
      conn = thrift.createConnection("127.0.0.1", peer.port!, options);
      break;
    case "unix":
      conn = thrift.createUDSConnection(peer.socketPath!, options);
      break;
    case "tcps":
      conn = thrift.createSSLConnection("localhost", peer.port!, {
        ...options,
        ...tls(),
      });
      break;
    case "unixs": // npm thrift has no TLS-over-unix helper; its Connection takes any stream
      conn = new thrift.Connection(
        tlsConnect({
          path: peer.socketPath!,
          servername: "localhost",
          ...tls(),
        }),
        options,
      );
      break;
    default:
      throw new Error(`not a socket transport: ${opts.transport}`);
  }
  return await openNpmClient(conn, {
    label: peer.url,
    connectTimeoutMs: 5_000,
    multiplex: opts.multiplex,
    destroyIfNotClosed: true,
  });
}

const TEXT = 'héllo wörld ✓ 日本語 🎉 "quoted"';

async function exercise(calc: CalculatorClient): Promise<void> {
  assert.equal(await within("add", 5_000, calc.add(2, 40)), 42);
  assert.equal(await within("echoString", 5_000, calc.echoString(TEXT)), TEXT);
  await assert.rejects(
    within("fail", 5_000, calc.fail("no such thing")),
    (err: unknown) => {
      assert.ok(
        err instanceof types.NotFound,
        `expected NotFound, got ${String(err)}`,
      );
      assert.equal(err.message, "no such thing");
      assert.equal(err.code, 404);
      return true;
    },
  );
  // The connection survives a declared exception.
  assert.equal(await within("add", 5_000, calc.add(-7, 3)), -4);
}

// ---- sockets: tcp x three protocols x framed or not ----

for (const protocol of ["binary", "compact", "json"] as const) {
  for (const framed of [false, true]) {
    const opts: PeerOptions = { transport: "tcp", protocol, framed };
    peerTest(`tcp ${protocol} ${framed ? "framed" : "buffered"}`, async () => {
      await using peer = await startPythonPeer(opts);
      assert.match(peer.url, /^tcp:\/\/127\.0\.0\.1:\d+$/);
      {
        await using client = await connectSocketClient(peer, opts);
        await exercise(client.calculator);
        assert.deepEqual(client.errors, []);
      }
      const stats = await peer.stats();
      assert.equal(stats.connections, 1);
      assert.equal(stats.rejected, 0);
      assert.ok(stats.bytes > 0, `bytes counted: ${JSON.stringify(stats)}`);
    });
  }
}

peerTest(
  "tcp: an undeclared server error is a TApplicationException",
  async () => {
    const opts: PeerOptions = { transport: "tcp" };
    await using peer = await startPythonPeer(opts);
    await using client = await connectSocketClient(peer, opts);
    await assert.rejects(
      within("crash", 5_000, client.calculator.crash()),
      (err: unknown) => {
        assert.ok(
          err instanceof thrift.Thrift.TApplicationException,
          String(err),
        );
        assert.equal(
          err.type,
          thrift.Thrift.TApplicationExceptionType.INTERNAL_ERROR,
        );
        return true;
      },
    );
    await client.calculator.notify("one");
    await client.calculator.notify("two");
    assert.deepEqual(
      await within("notified", 5_000, client.calculator.notified()),
      ["one", "two"],
    );
    assert.equal(await client.calculator.header("x-anything"), "");
  },
);

peerTest(
  "tcp multiplexed: Calculator and Greeter on one connection",
  async () => {
    const opts: PeerOptions = {
      transport: "tcp",
      protocol: "compact",
      framed: true,
      multiplex: true,
    };
    await using peer = await startPythonPeer(opts);
    await using client = await connectSocketClient(peer, opts);
    const [greeting, sum] = await within(
      "greet + add",
      5_000,
      Promise.all([
        client.greeter!.greet("wörld"),
        client.calculator.add(20, 22),
      ]),
    );
    assert.equal(greeting, "hello wörld");
    assert.equal(sum, 42);
  },
);

peerTest("unix binary buffered; dispose removes the socket", async () => {
  const opts: PeerOptions = { transport: "unix" };
  const peer = await startPythonPeer(opts);
  try {
    assert.equal(peer.url, `unix:${peer.socketPath}`);
    await using client = await connectSocketClient(peer, opts);
    await exercise(client.calculator);
  } finally {
    await peer[Symbol.asyncDispose]();
  }
  assert.ok(!existsSync(peer.socketPath!), "the socket file is gone");
});

peerTest("unix json framed", async () => {
  const opts: PeerOptions = {
    transport: "unix",
    protocol: "json",
    framed: true,
  };
  await using peer = await startPythonPeer(opts);
  await using client = await connectSocketClient(peer, opts);
  await exercise(client.calculator);
});

// ---- TLS ----

peerTest(
  "tcps compact buffered, server verified with the test CA",
  async () => {
    const c = getCerts();
    const opts: PeerOptions = {
      transport: "tcps",
      protocol: "compact",
      tls: { cert: c.serverCert, key: c.serverKey },
    };
    await using peer = await startPythonPeer(opts);
    assert.match(peer.url, /^tcps:\/\/localhost:\d+$/);
    await using client = await connectSocketClient(peer, opts);
    await exercise(client.calculator);
  },
);

peerTest("tcps mutual TLS: a client certificate is accepted", async () => {
  const c = getCerts();
  const opts: PeerOptions = {
    transport: "tcps",
    tls: { cert: c.serverCert, key: c.serverKey, ca: c.caCert },
  };
  await using peer = await startPythonPeer(opts);
  await using client = await connectSocketClient(peer, opts, true);
  await exercise(client.calculator);
  const stats = await peer.stats();
  assert.equal(stats.rejected, 0);
  assert.ok(stats.bytes > 0);
});

peerTest(
  "tcps mutual TLS: without a client certificate no byte arrives",
  async () => {
    const c = getCerts();
    const opts: PeerOptions = {
      transport: "tcps",
      tls: { cert: c.serverCert, key: c.serverKey, ca: c.caCert },
    };
    await using peer = await startPythonPeer(opts);
    let client: NpmClient | undefined;
    try {
      // With TLS 1.3 the client may believe it is connected before the server refuses its
      // missing certificate; the call it then sends is never decrypted by the server.
      client = await connectSocketClient(peer, opts, false);
      client.calculator.add(1, 2).catch(() => {}); // npm thrift leaves it pending on close
      await within("the peer closing the connection", 5_000, client.closed);
    } catch (err) {
      if (client) throw err; // else refused during connect: also fine
    } finally {
      await client?.[Symbol.asyncDispose]();
    }
    // the peer counts a refused handshake in its connection thread: give it a moment
    let stats = await peer.stats();
    for (let i = 0; stats.rejected === 0 && i < 40; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      stats = await peer.stats();
    }
    assert.equal(stats.bytes, 0, JSON.stringify(stats));
    assert.equal(stats.rejected, 1, JSON.stringify(stats));
  },
);

peerTest("unixs binary framed, mutual TLS", async () => {
  const c = getCerts();
  const opts: PeerOptions = {
    transport: "unixs",
    framed: true,
    tls: { cert: c.serverCert, key: c.serverKey, ca: c.caCert },
  };
  await using peer = await startPythonPeer(opts);
  assert.equal(peer.url, `unixs:${peer.socketPath}`);
  await using client = await connectSocketClient(peer, opts, true);
  await exercise(client.calculator);
});

// ---- zlib: npm thrift has none, so one hand-made binary-protocol call ----

/** The binary protocol's `add(a, b)` call with sequence id 1. */
function addCall(a: number, b: number): Buffer {
  const msg = Buffer.alloc(4 + 4 + 3 + 4 + 7 + 7 + 1);
  let at = msg.writeUInt32BE(0x80010001, 0); // version 1, CALL
  at = msg.writeUInt32BE(3, at);
  at += msg.write("add", at);
  at = msg.writeInt32BE(1, at); // seqid
  at = msg.writeInt8(8, at); // i32 field 1
  at = msg.writeInt16BE(1, at);
  at = msg.writeInt32BE(a, at);
  at = msg.writeInt8(8, at); // i32 field 2
  at = msg.writeInt16BE(2, at);
  at = msg.writeInt32BE(b, at);
  msg.writeInt8(0, at); // stop
  return msg;
}

/** Sends `request` (already framed or not), compressed like TZlibTransport; inflates the reply. */
function zlibExchange(
  socket: Socket,
  request: Buffer,
  replyLength: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    socket.on("error", reject);
    socket.on("close", () => reject(new Error("closed before the reply")));
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      try {
        const plain = inflateSync(received, {
          finishFlush: zlibConstants.Z_SYNC_FLUSH,
        });
        if (plain.length >= replyLength) resolve(plain);
      } catch {
        // not a complete flush yet
      }
    });
    socket.write(
      deflateSync(request, { finishFlush: zlibConstants.Z_SYNC_FLUSH }),
    );
  });
}

for (const framed of [false, true]) {
  peerTest(
    `tcp zlib binary ${framed ? "framed (frames inside zlib)" : "buffered"}`,
    async () => {
      await using peer = await startPythonPeer({
        transport: "tcp",
        zlib: true,
        framed,
      });
      const socket = netConnect(peer.port!, "127.0.0.1");
      try {
        const call = addCall(40, 2);
        const request = framed ? Buffer.concat([Buffer.alloc(4), call]) : call;
        if (framed) request.writeUInt32BE(call.length, 0);
        // reply: header (4) + name (4 + 3) + seqid (4) + i32 field 0 (7) + stop (1)
        const replyLength = 23 + (framed ? 4 : 0);
        const reply = await within(
          "zlib reply",
          5_000,
          zlibExchange(socket, request, replyLength),
        );
        const body = framed ? reply.subarray(4) : reply;
        if (framed) assert.equal(reply.readUInt32BE(0), body.length);
        assert.equal(body.readUInt32BE(0), 0x80010002); // version 1, REPLY
        assert.equal(body.subarray(8, 11).toString(), "add");
        assert.equal(body.readInt32BE(11), 1); // seqid
        assert.equal(body.readInt8(15), 8); // i32 success field
        assert.equal(body.readInt32BE(18), 42);
      } finally {
        socket.destroy();
      }
    },
  );
}

// ---- HTTP ----

function httpClient(
  peer: PythonPeer,
  opts: PeerOptions,
  headers: Record<string, string> = {},
) {
  const errors: unknown[] = [];
  const conn = thrift.createHttpConnection("127.0.0.1", peer.port!, {
    ...npmTransport(opts.protocol),
    path: opts.httpPath ?? "/",
    // npm thrift asks for keep-alive. Not "Connection: close": Bun's node:http client
    // then still reuses the closed socket for a later call ("socket hang up" or a hang).
    headers,
    https: opts.transport === "https",
    nodeOptions: opts.transport === "https" ? { ca: readFileSync(getCerts().caCert) } : {},
  });
  conn.on("error", (err) => errors.push(err));
  return {
    calculator: thrift.createClient(Calculator, conn),
    errors,
  };
}

for (const protocol of ["binary", "compact", "json"] as const) {
  peerTest(`http ${protocol}, served on /rpc only`, async () => {
    const opts: PeerOptions = { transport: "http", protocol, httpPath: "/rpc" };
    await using peer = await startPythonPeer(opts);
    assert.match(peer.url, /^http:\/\/127\.0\.0\.1:\d+\/rpc$/);
    const { calculator, errors } = httpClient(peer, opts, { "X-Test": "yes" });
    await exercise(calculator);
    assert.equal(
      await within("header", 5_000, calculator.header("x-test")),
      "yes",
    );
    await within("notify", 5_000, calculator.notify("oneway over http"));
    // Like THttpServer, the peer acknowledges a oneway POST before running it.
    await eventually(async () =>
      assert.deepEqual(await calculator.notified(), ["oneway over http"])
    );
    assert.deepEqual(errors, []);

    const elsewhere = await fetch(new URL("/elsewhere", peer.url), {
      method: "POST",
      body: "x",
    });
    assert.equal(elsewhere.status, 404);
    await elsewhere.body?.cancel();
  });
}

peerTest("http --http-status answers every POST with that status", async () => {
  await using peer = await startPythonPeer({
    transport: "http",
    httpStatus: 503,
  });
  const response = await fetch(peer.url, {
    method: "POST",
    body: new Uint8Array(addCall(1, 2)),
  });
  assert.equal(response.status, 503);
  assert.equal(await response.text(), "peer says 503");
});

peerTest("https json, server verified with the test CA", async () => {
  const c = getCerts();
  const opts: PeerOptions = {
    transport: "https",
    protocol: "json",
    httpPath: "/rpc",
    tls: { cert: c.serverCert, key: c.serverKey },
  };
  await using peer = await startPythonPeer(opts);
  assert.match(peer.url, /^https:\/\/127\.0\.0\.1:\d+\/rpc$/);
  const { calculator, errors } = httpClient(peer, opts);
  await exercise(calculator);
  assert.deepEqual(errors, []);
});

// ---- the helper itself ----

peerTest("a peer that cannot start fails fast with its stderr", async () => {
  const c = getCerts();
  await assert.rejects(
    startPythonPeer({
      transport: "tcps",
      tls: { cert: c.serverCert, key: "/nonexistent/key.pem" },
    }),
    /python peer \(tcps\): start failed: the peer exited with code 1[\s\S]*stderr[\s\S]*No such file/,
  );
});
