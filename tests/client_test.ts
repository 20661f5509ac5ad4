import assert from "node:assert/strict";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import { ClosedError, ConnectError, ThriftClient, TimeoutError } from "../mod.ts";
import { Calculator, Greeter } from "./helpers/calculator.ts";
import { exercise } from "./helpers/exercise.ts";
import { startNpmServer } from "./helpers/npm_server.ts";

const T = { timeout: 20_000 };
const PROTOCOLS = ["binary", "compact", "json"] as const;

describe("npm thrift server matrix", () => {
  for (const unix of [false, true]) {
    for (const protocol of PROTOCOLS) {
      for (const framed of [false, true]) {
        const name = `${unix ? "unix" : "tcp"} ${protocol} ${framed ? "framed" : "unframed"}`;
        it(`calls work over ${name}`, T, async () => {
          await using server = await startNpmServer({ protocol, framed, unix });
          const thrift = new ThriftClient(Calculator.Client, {
            transport: server.url,
            protocol,
            framed,
          });
          {
            await using conn = thrift.connect();
            await exercise(conn.client);
          }
          await server.waitForConnections(0);
        });
      }
    }
  }

  it("multiplexes two services over one server", T, async () => {
    await using server = await startNpmServer({
      multiplex: true,
      protocol: "compact",
    });
    const calc = new ThriftClient(Calculator.Client, {
      transport: server.url,
      protocol: "compact",
      service: "Calculator",
    });
    const greeter = new ThriftClient(Greeter.Client, {
      transport: server.url,
      THRIFTCLIENT_PROTOCOL: "COMPACT",
      THRIFTCLIENT_SERVICE: "Greeter",
    });
    assert.equal(await greeter.client.greet("bob"), "hello bob");
    assert.equal(await calc.client.add(2, 3), 5);
    await server.waitForConnections(0);
  });
});

describe("connections", () => {
  it("using closes the connection at scope end", T, async () => {
    await using server = await startNpmServer();
    const thrift = new ThriftClient(Calculator.Client, {
      transport: server.url,
    });
    {
      using conn = thrift.connect();
      assert.equal(await conn.client.add(1, 2), 3);
      assert.equal(server.liveConnections(), 1);
      assert.equal(conn.isOpen(), true);
    }
    await server.waitForConnections(0);
  });

  it("await using waits for calls in flight, then closes", T, async () => {
    await using server = await startNpmServer();
    const thrift = new ThriftClient(Calculator.Client, {
      transport: server.url,
    });
    let slow: Promise<number>;
    {
      await using conn = thrift.connect();
      slow = conn.client.sleep(100);
      await conn.client.add(1, 1);
      void conn.end(); // a second graceful close waits too, it does not cut the call short
    }
    assert.equal(await slow, 100);
    await server.waitForConnections(0);
  });

  it(
    "close() rejects every call in flight at once, and later calls too",
    T,
    async () => {
      await using server = await startNpmServer();
      const thrift = new ThriftClient(Calculator.Client, {
        transport: server.url,
      });
      const conn = thrift.connect();
      await conn.open();
      const calls = [
        conn.client.sleep(5000),
        conn.client.sleep(5000),
        conn.client.add(1, 2),
      ];
      await conn.close();
      for (const call of calls) await assert.rejects(call, ClosedError);
      await assert.rejects(conn.client.add(1, 1), /connection is closed/);
      await conn.close(); // idempotent
      await server.waitForConnections(0);
    },
  );

  it("calls made while connecting wait for the connection", T, async () => {
    await using server = await startNpmServer();
    const thrift = new ThriftClient(Calculator.Client, {
      transport: server.url,
    });
    using conn = thrift.connect();
    assert.deepEqual(
      await Promise.all([conn.client.add(1, 1), conn.client.add(2, 2)]),
      [2, 4],
    );
  });

  it(
    "many calls in flight on one connection match their replies",
    T,
    async () => {
      await using server = await startNpmServer({ framed: true });
      const thrift = new ThriftClient(Calculator.Client, {
        transport: server.url,
        framed: true,
      });
      using conn = thrift.connect();
      const sleeps = [60, 10, 40, 0, 20].map((ms) => conn.client.sleep(ms));
      const adds = Array.from({ length: 200 }, (_, i) => conn.client.add(i, 1));
      assert.deepEqual(await Promise.all(sleeps), [60, 10, 40, 0, 20]);
      assert.deepEqual(
        await Promise.all(adds),
        Array.from({ length: 200 }, (_, i) => i + 1),
      );
      assert.equal(server.totalConnections(), 1);
    },
  );

  it("a refused connection is a ConnectError naming the URL", T, async () => {
    const port = await freePort();
    const thrift = new ThriftClient(Calculator.Client, {
      transport: `tcp://127.0.0.1:${port}`,
    });
    await assert.rejects(thrift.client.add(1, 2), (error: Error) => {
      assert.ok(error instanceof ConnectError);
      assert.match(error.message, new RegExp(`tcp://127.0.0.1:${port}`));
      return true;
    });
    const conn = thrift.connect();
    await assert.rejects(conn.open(), ConnectError);
    await assert.rejects(conn.client.add(1, 1), ClosedError);
  });

  it("connects to an IPv6 literal", T, async () => {
    let accepted = 0;
    const server = createServer((socket) => {
      accepted++;
      socket.on("error", () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, "::1", resolve));
    const { port } = server.address() as { port: number };
    const thrift = new ThriftClient(Calculator.Client, { transport: `tcp://[::1]:${port}` });
    const conn = thrift.connect();
    await conn.open();
    assert.equal(accepted, 1);
    await conn.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it("thrift.client uses the connect() connection in the same async context", T, async () => {
    await using server = await startNpmServer();
    const thrift = new ThriftClient(Calculator.Client, {
      transport: server.url,
      alwaysConnect: false,
    });
    {
      using _conn = thrift.connect();
      assert.equal(await thrift.client.add(1, 2), 3);
      assert.equal(await thrift.client.add(3, 4), 7);
      assert.equal(server.totalConnections(), 1);
    }
    await assert.rejects(thrift.client.add(1, 2), /transport is not open/);
  });

  it("connect({ signal }) rejects calls in flight with signal.reason when aborted", T, async () => {
    await using server = await startNpmServer();
    const thrift = new ThriftClient(Calculator.Client, { transport: server.url });
    const controller = new AbortController();
    const conn = thrift.connect({ signal: controller.signal });
    const call = conn.client.sleep(5000);
    await server.waitForConnections(1);
    const reason = new Error("user gave up");
    controller.abort(reason);
    await assert.rejects(call, (error) => error === reason);
    await assert.rejects(conn.client.add(1, 1), (error) => error === reason);
    await server.waitForConnections(0);
    const early = thrift.connect({ signal: AbortSignal.abort(reason) });
    await assert.rejects(early.client.add(1, 1), (error) => error === reason);
  });

  it("a missing unix socket is a ConnectError", T, async () => {
    const thrift = new ThriftClient(Calculator.Client, {
      transport: "unix:/nonexistent/x.sock",
    });
    await assert.rejects(thrift.client.add(1, 2), /unix:\/nonexistent\/x.sock/);
  });

  it("each call's timeout runs from its own write", T, async () => {
    await using server = await startNpmServer();
    const thrift = new ThriftClient(Calculator.Client, { transport: server.url, timeout: 300 });
    using conn = thrift.connect();
    await conn.open();
    const started = Date.now();
    const first = conn.client.sleep(1000).catch(() => Date.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const second = conn.client.sleep(1000).catch(() => Date.now() - started);
    const [a, b] = await Promise.all([first, second]);
    assert.ok(a >= 290, `first timed out after ${a} ms`);
    assert.ok(b - a >= 100, `second timed out ${b - a} ms after the first, not ~150 ms`);
  });

  it(
    "a call with no reply times out with a TimeoutError and the connection survives",
    T,
    async () => {
      await using server = await startNpmServer();
      const thrift = new ThriftClient(Calculator.Client, {
        transport: server.url,
        timeout: 100,
      });
      using conn = thrift.connect();
      await assert.rejects(conn.client.sleep(400), TimeoutError);
      assert.equal(await conn.client.add(2, 2), 4);
      await new Promise((resolve) => setTimeout(resolve, 400)); // the late reply is skipped
      assert.equal(await conn.client.add(3, 3), 6);
    },
  );
});

describe("ThriftClient teardown", () => {
  it("close() closes the shared transport and every open connection at once", T, async () => {
    await using server = await startNpmServer();
    const thrift = new ThriftClient(Calculator.Client, { transport: server.url });
    await thrift.transport.open();
    const a = thrift.connect();
    const b = thrift.connect();
    const pending = [
      a.client.sleep(5000),
      b.client.sleep(5000),
      thrift.transport.client.sleep(5000),
    ];
    await server.waitForConnections(3);
    const outcomes = Promise.allSettled(pending);
    await thrift.close();
    for (const outcome of await outcomes) {
      assert.ok(outcome.status === "rejected" && outcome.reason instanceof ClosedError);
    }
    await server.waitForConnections(0);
  });

  it("await using waits for calls in flight on every connection", T, async () => {
    await using server = await startNpmServer();
    let slow: Promise<number>;
    {
      await using thrift = new ThriftClient(Calculator.Client, { transport: server.url });
      const conn = thrift.connect();
      slow = conn.client.sleep(100);
      await conn.open();
    }
    assert.equal(await slow, 100);
    await server.waitForConnections(0);
  });
});

describe("alwaysConnect", () => {
  it(
    "with the default, each call outside a scope gets its own connection",
    T,
    async () => {
      await using server = await startNpmServer();
      const thrift = new ThriftClient(Calculator.Client, {
        transport: server.url,
      });
      assert.equal(await thrift.client.add(1, 2), 3);
      await thrift.client.notify("per-call oneway");
      await server.waitForConnections(0);
      assert.equal(server.totalConnections(), 2);
      assert.deepEqual(server.notified, ["per-call oneway"]);
    },
  );

  it(
    "when false, calls fail until transport.open(), then use it until close()",
    T,
    async () => {
      await using server = await startNpmServer();
      const thrift = new ThriftClient(Calculator.Client, {
        transport: server.url,
        THRIFTCLIENT_ALWAYS_CONNECT: "False",
      });
      assert.equal(thrift.alwaysConnect, false);
      await assert.rejects(thrift.client.add(1, 2), /transport is not open/);
      await thrift.transport.open();
      assert.equal(thrift.transport.isOpen(), true);
      assert.equal(await thrift.client.add(1, 2), 3);
      assert.equal(await thrift.client.add(3, 4), 7);
      assert.equal(server.totalConnections(), 1);
      await thrift.transport.close();
      assert.equal(thrift.transport.isOpen(), false);
      await assert.rejects(thrift.client.add(1, 2), /not open/);
      await thrift.transport.open(); // reopens
      assert.equal(await thrift.client.add(5, 5), 10);
      await thrift.transport.close();
      await server.waitForConnections(0);
    },
  );
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
