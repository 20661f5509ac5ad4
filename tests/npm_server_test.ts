/**
 * Proves `tests/helpers/npm_server.ts` with the npm `thrift` package's OWN client
 * (`createConnection` / `createUDSConnection` + `createClient`), so the helper is known to
 * speak real Thrift before the library under test is held to it.
 *
 * Runs under `deno test -A tests/npm_server_test.ts` and `bun test tests/npm_server_test.ts`.
 */
import assert from "node:assert/strict";
import { connect as netConnect, type Socket } from "node:net";
import { Buffer } from "node:buffer";
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { test } from "node:test";
import { type CalculatorClient, Int64, types } from "./helpers/calculator.ts";
import { type NpmClient, openNpmClient } from "./helpers/npm_client.ts";
import { type NpmServer, type NpmServerOptions, startNpmServer } from "./helpers/npm_server.ts";
import { npmTransport, thrift } from "./helpers/npm_thrift.ts";
import { within } from "./helpers/within.ts";

const TEST_TIMEOUT_MS = 10_000;

/** A `node:test` test with the runner's timeout and a deadline of its own. */
function timedTest(name: string, body: () => Promise<void>): void {
  test(name, { timeout: TEST_TIMEOUT_MS }, async () => {
    await within(`test "${name}"`, TEST_TIMEOUT_MS, body());
  });
}

/** Opens an npm `thrift` client matching the server's options; dispose ends it. */
function openClient(server: NpmServer, opts: NpmServerOptions): Promise<NpmClient> {
  const options = npmTransport(opts.protocol, opts.framed);
  const connection = server.path !== undefined
    ? thrift.createUDSConnection(server.path, options)
    : thrift.createConnection("127.0.0.1", server.port!, options);
  return openNpmClient(connection, {
    label: server.url,
    connectTimeoutMs: 2000,
    multiplex: opts.multiplex,
  });
}

const NON_ASCII = 'héllo wörld, ünïcödé ✓ 日本語 🎉 "quoted" \\ back/slash';

async function exerciseCalculator(
  server: NpmServer,
  calc: CalculatorClient,
): Promise<void> {
  assert.equal(await calc.add(2, 40), 42);
  assert.equal(await calc.add(-7, 3), -4);

  assert.equal(await calc.echoString(NON_ASCII), NON_ASCII);
  assert.equal(await calc.echoString(""), "");

  const big = new Int64("0x0020000000000001"); // 2^53 + 1: not exact as a JS number
  const echoed = await calc.echoI64(big);
  assert.ok(echoed instanceof Int64, "echoI64 answers a node-int64 Int64");
  assert.equal(thrift.toBigInt(echoed), 9007199254740993n);
  assert.equal(thrift.toBigInt(await calc.echoI64(new Int64(-5))), -5n);

  // npm thrift's transports need a Buffer here: a plain Uint8Array fails at flush
  // (binary, compact: "buf.copy is not a function") or is garbled (JSON).
  const bytes = Buffer.from([0, 1, 2, 250, 255]);
  assert.deepEqual([...await calc.echoBinary(bytes)], [...bytes]);

  await assert.rejects(calc.fail("no such thing"), (err: unknown) => {
    assert.ok(err instanceof types.NotFound, `expected NotFound, got ${String(err)}`);
    assert.equal(err.message, "no such thing");
    assert.equal(err.code, 404);
    return true;
  });

  await assert.rejects(calc.crash(), (err: unknown) => {
    assert.ok(
      err instanceof thrift.Thrift.TApplicationException,
      `expected TApplicationException, got ${String(err)}`,
    );
    assert.equal(err.type, thrift.Thrift.TApplicationExceptionType.UNKNOWN);
    assert.match(err.message, /crash/);
    return true;
  });

  assert.equal(await calc.sleep(20), 20);
  assert.equal(await calc.header("x-anything"), "");

  await calc.notify("first");
  await calc.notify("second ✓");
  // notify is oneway; a two-way call on the same connection is answered after it.
  assert.deepEqual(await calc.notified(), ["first", "second ✓"]);
  assert.deepEqual(server.notified, ["first", "second ✓"]);

  // The connection survives a declared and an undeclared exception.
  assert.equal(await calc.add(1, 1), 2);
}

// ---- the matrix: tcp and unix x three protocols x framed or not ----

for (const unix of [false, true]) {
  for (const protocol of ["binary", "compact", "json"] as const) {
    for (const framed of [false, true]) {
      const opts: NpmServerOptions = { unix, protocol, framed };
      const label = `${unix ? "unix" : "tcp"} ${protocol} ${framed ? "framed" : "buffered"}`;
      timedTest(`npm server, npm client: ${label}`, async () => {
        await using server = await startNpmServer(opts);
        assert.match(
          server.url,
          unix ? /^unix:\/.*\/thrift\.sock$/ : /^tcp:\/\/127\.0\.0\.1:\d+$/,
        );
        {
          await using client = await openClient(server, opts);
          await server.waitForConnections(1);
          await exerciseCalculator(server, client.calculator);
          assert.deepEqual(client.errors, []);
        }
        await server.waitForConnections(0);
        assert.equal(server.totalConnections(), 1);
        assert.deepEqual(server.errors, []);
      });
    }
  }
}

for (const unix of [false, true]) {
  for (const protocol of ["binary", "compact", "json"] as const) {
    const opts: NpmServerOptions = {
      unix,
      protocol,
      framed: protocol === "compact",
      multiplex: true,
    };
    timedTest(
      `multiplexed Calculator + Greeter: ${unix ? "unix" : "tcp"} ${protocol}`,
      async () => {
        await using server = await startNpmServer(opts);
        {
          await using client = await openClient(server, opts);
          assert.equal(await client.greeter!.greet("wörld"), "hello wörld");
          assert.equal(await client.calculator.add(20, 22), 42);
          const [greeting, sum] = await Promise.all([
            client.greeter!.greet("again"),
            client.calculator.add(1, 2),
          ]);
          assert.equal(greeting, "hello again");
          assert.equal(sum, 3);
          await client.calculator.notify("mux");
          assert.deepEqual(await client.calculator.notified(), ["mux"]);
          await assert.rejects(client.calculator.fail("mux fail"), types.NotFound);
        }
        await server.waitForConnections(0);
      },
    );
  }
}

// ---- connection accounting ----

timedTest("counts live and total connections", async () => {
  await using server = await startNpmServer();
  assert.equal(server.liveConnections(), 0);
  assert.equal(server.totalConnections(), 0);
  {
    await using a = await openClient(server, {});
    await using b = await openClient(server, {});
    await server.waitForConnections(2);
    assert.equal(await a.calculator.add(1, 2), 3);
    assert.equal(await b.calculator.add(3, 4), 7);
    assert.equal(server.totalConnections(), 2);
  }
  await server.waitForConnections(0);
  assert.equal(server.liveConnections(), 0);
  assert.equal(server.totalConnections(), 2);
});

timedTest(
  "waitForConnections rejects after its timeout with a clear message",
  async () => {
    await using server = await startNpmServer();
    const started = Date.now();
    await assert.rejects(
      server.waitForConnections(1, 100),
      /waitForConnections\(1\) timed out after 100 ms: 0 connection\(s\) open on tcp:\/\/127\.0\.0\.1:\d+, expected 1 \(0 accepted since start\)/,
    );
    assert.ok(Date.now() - started >= 90);
  },
);

timedTest(
  "dispose destroys open sockets, closes the server and removes the temp dir",
  async () => {
    const server = await startNpmServer({ unix: true });
    const path = server.path!;
    assert.ok(existsSync(path));
    const client = await openClient(server, { unix: true });
    const clientClosed = within("client close after server dispose", 2000, client.closed);
    await server.waitForConnections(1);
    await server[Symbol.asyncDispose]();
    await server[Symbol.asyncDispose](); // idempotent
    assert.equal(server.liveConnections(), 0);
    await clientClosed;
    assert.ok(!existsSync(dirname(path)), "the temporary directory is removed");
    await client[Symbol.asyncDispose]();
  },
);

// ---- misbehaving clients do not crash the process ----

function rawSocket(server: NpmServer): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const socket = server.path !== undefined
      ? netConnect(server.path)
      : netConnect(server.port!, "127.0.0.1");
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.off("error", reject);
      socket.on("error", () => {}); // a reset from the server is expected here
      resolve(socket);
    });
  });
}

function socketClosed(socket: Socket): Promise<void> {
  const closed = new Promise<void>((resolve) => {
    if (socket.destroyed) resolve();
    else socket.once("close", () => resolve());
  });
  return within("raw socket close", 2000, closed);
}

/** A strict binary `add(1, ...)` call cut off in the middle of its second field. */
const HALF_A_CALL = new Uint8Array([
  0x80,
  0x01,
  0x00,
  0x01, // version 1, CALL
  0x00,
  0x00,
  0x00,
  0x03,
  0x61,
  0x64,
  0x64, // "add"
  0x00,
  0x00,
  0x00,
  0x01, // seqid
  0x08,
  0x00,
  0x01,
  0x00,
  0x00,
  0x00,
  0x01, // a = 1
  0x08,
  0x00,
  0x02,
  0x00, // b = (cut)
]);

for (const framed of [false, true]) {
  const label = framed ? "framed" : "buffered";

  timedTest(
    `garbage from a client (${label}) closes that connection only`,
    async () => {
      await using server = await startNpmServer({ framed });
      const socket = await rawSocket(server);
      const closed = socketClosed(socket);
      // Unframed: a bad binary version; framed: a negative frame size.
      socket.write(
        new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0x00, 0x00]),
      );
      await closed;
      await server.waitForConnections(0);
      assert.ok(server.errors.length >= 1, "the server reports the garbage");
      {
        await using client = await openClient(server, { framed });
        assert.equal(await client.calculator.add(2, 2), 4);
      }
      await server.waitForConnections(0);
    },
  );

  for (const how of ["end", "destroy"] as const) {
    timedTest(
      `a client that disconnects mid-message (${label}, ${how})`,
      async () => {
        await using server = await startNpmServer({ framed });
        const socket = await rawSocket(server);
        const closed = socketClosed(socket);
        if (framed) {
          const frame = new Uint8Array(4 + 40);
          new DataView(frame.buffer).setInt32(0, 40); // promises 40 bytes, sends fewer
          frame.set(HALF_A_CALL, 4);
          socket.write(frame.subarray(0, 4 + HALF_A_CALL.length));
        } else {
          socket.write(HALF_A_CALL);
        }
        await server.waitForConnections(1);
        if (how === "end") socket.end();
        else socket.destroy();
        await closed;
        await server.waitForConnections(0);
        {
          await using client = await openClient(server, { framed });
          assert.equal(await client.calculator.add(5, 5), 10);
        }
        await server.waitForConnections(0);
      },
    );
  }
}

timedTest(
  "a reply to a client that went away is dropped, not thrown",
  async () => {
    await using server = await startNpmServer();
    {
      const client = await openClient(server, {});
      const pending = client.calculator.sleep(150);
      pending.catch(() => {}); // never answered: the connection is gone
      await server.waitForConnections(1);
      client.connection.destroy();
      await server.waitForConnections(0);
    }
    await new Promise((resolve) => setTimeout(resolve, 250)); // the sleep answers into nothing
    {
      await using client = await openClient(server, {});
      assert.equal(await client.calculator.sleep(1), 1);
    }
    await server.waitForConnections(0);
  },
);

timedTest(
  "dispose with a sleep in flight does not leave its timer behind",
  async () => {
    const server = await startNpmServer();
    const client = await openClient(server, {});
    const pending = client.calculator.sleep(5_000);
    pending.catch(() => {});
    await server.waitForConnections(1);
    await new Promise((resolve) => setTimeout(resolve, 20)); // let the call reach the handler
    await server[Symbol.asyncDispose]();
    await client[Symbol.asyncDispose]();
    assert.equal(server.liveConnections(), 0);
  },
);
