/**
 * `serve()` from `@x/thrift-client/testing`: the in-process server answers `ThriftClient`
 * over every transport, protocol and framing, and survives bad input. Runs under `deno test
 * -A` and `bun test`.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { describe, it } from "node:test";
import { ConfigError, ThriftClient, ThriftClientError } from "../mod.ts";
import { serve, type ServeOptions } from "../src/testing.ts";
import { Int64, TApplicationException } from "./gen/_runtime.ts";
import { Calculator, type Nested, NotFound, type Point } from "./gen/test.ts";
import { dial, recorder, tcp, unix } from "./helpers/dial.ts";
import { withoutFdLeak } from "./helpers/fds.ts";
import { until, within } from "./helpers/within.ts";

const T = { timeout: 20_000 };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The Calculator as the tests serve it: `notify` appends to `notified`. */
function calculator(notified: string[] = []) {
  return {
    add: (a: number, b: number): number => a + b,
    echoString: (s: string): string => s,
    echoI64: (v: Int64): Int64 => v,
    echoBinary: (b: Buffer): Buffer => b,
    echoNested: (n: Nested): Nested => n,
    fail(message: string): never {
      throw new NotFound({ message, code: 404 });
    },
    crash(): Promise<never> {
      return Promise.reject(new Error("crash: an undeclared server error"));
    },
    sleep: async (ms: number): Promise<number> => {
      await sleep(ms);
      return ms;
    },
    notify(message: string): void {
      notified.push(message);
    },
    notified: (): string[] => [...notified],
  };
}

/** A client of `server`, in the protocol and framing it was started with. */
function clientOf(url: string, options: ServeOptions) {
  return new ThriftClient(Calculator.Client, {
    transport: url,
    protocol: options.protocol,
    framed: options.framed,
    timeout: 5_000,
  });
}

const MAX_I64 = "7fffffffffffffff";
const ABOVE_2_53 = "0020000000000001"; // 2^53 + 1: no number holds it
const MIN_I64 = "8000000000000000";

const matrix: ServeOptions[] = [];
for (const transport of ["tcp", "unix", "http"] as const) {
  for (const protocol of ["binary", "compact", "json"]) {
    for (const framed of transport === "http" ? [undefined] : [false, true]) {
      matrix.push({ transport, protocol, ...(framed === undefined ? {} : { framed }) });
    }
  }
}

const name = (o: ServeOptions) =>
  `${o.transport} ${o.protocol}${o.framed === undefined ? "" : o.framed ? " framed" : " unframed"}`;

describe("serve()", () => {
  for (const options of matrix) {
    it(`answers every kind of call over ${name(options)}`, T, async () => {
      const notified: string[] = [];
      await using server = serve(Calculator, calculator(notified), options);
      const thrift = clientOf(server.url, options);
      await using conn = thrift.connect();
      const client = conn.client;

      assert.equal(await client.add(1, 2), 3);
      assert.equal(await client.echoString("héllo"), "héllo");
      for (const hex of [MAX_I64, ABOVE_2_53, MIN_I64]) {
        assert.equal((await client.echoI64(new Int64(hex))).toOctetString(), hex);
      }
      const blob = Buffer.from([0, 1, 2, 0xfe, 0xff]);
      assert.deepEqual(await client.echoBinary(blob), blob);

      const nested = await client.echoNested({
        name: "n",
        id: 2n ** 62n + 1n,
        blob: Buffer.from("bytes"),
        points: [{ x: 1, y: 2 }, { x: -3, y: 4 }],
        counts: { a: 1, b: 2 },
        tags: ["x", "y"],
        origin: { x: 0, y: 0 },
      });
      assert.equal(nested.name, "n");
      assert.equal(nested.id?.toOctetString(), "4000000000000001");
      assert.deepEqual(nested.blob, Buffer.from("bytes"));
      assert.deepEqual(nested.points?.map((p: Point) => [p.x, p.y]), [[1, 2], [-3, 4]]);
      assert.deepEqual({ ...nested.counts }, { a: 1, b: 2 });
      assert.deepEqual(nested.tags, ["x", "y"]);
      assert.deepEqual([nested.origin?.x, nested.origin?.y], [0, 0]);

      await assert.rejects(client.fail("no such thing"), (error: unknown) => {
        assert.ok(error instanceof NotFound);
        assert.equal(error.message, "no such thing");
        assert.equal(error.code, 404);
        return true;
      });
      await assert.rejects(client.crash(), (error: unknown) => {
        assert.ok(error instanceof TApplicationException);
        assert.match(error.message, /crash: an undeclared server error/);
        return true;
      });

      await client.notify("one way");
      await until("the oneway call arrived", () => notified.length === 1);
      assert.deepEqual(await client.notified(), ["one way"]);

      // concurrent calls on one connection, the slowest first: answered in order
      const sleeps = await Promise.all([60, 30, 0, 10].map((ms) => client.sleep(ms)));
      assert.deepEqual(sleeps, [60, 30, 0, 10]);
      // and on several connections at once
      const sums = await Promise.all(
        Array.from({ length: 8 }, (_, i) => thrift.client.add(i, 100)),
      );
      assert.deepEqual(sums, Array.from({ length: 8 }, (_, i) => i + 100));
    });
  }

  it("records each call with the arguments its handler got, before running it", T, async () => {
    let seen = 0;
    await using server = serve(Calculator, {
      add(a: number, b: number): number {
        seen = server.calls.length; // already recorded
        return a + b;
      },
      echoI64: (v: Int64) => v,
      notify() {},
    });
    const thrift = new ThriftClient(Calculator.Client, { transport: server.url });
    await using conn = thrift.connect();
    await conn.client.add(20, 22);
    assert.equal(seen, 1);
    await conn.client.echoI64(new Int64(ABOVE_2_53));
    await conn.client.notify("hi");
    await assert.rejects(conn.client.echoString("missing"), TApplicationException);
    await until("four calls arrived", () => server.calls.length === 4);
    assert.deepEqual(server.calls.map((c) => c.method), [
      "add",
      "echoI64",
      "notify",
      "echoString",
    ]);
    assert.deepEqual(server.calls[0]!.args, [20, 22]);
    const [i64] = server.calls[1]!.args;
    assert.ok(i64 instanceof Int64);
    assert.equal(i64.toOctetString(), ABOVE_2_53);
    assert.deepEqual(server.calls[2]!.args, ["hi"]);
  });

  it("answers a method the handler lacks with a TApplicationException naming it", T, async () => {
    await using server = serve(Calculator, { add: (a: number, b: number) => a + b });
    const thrift = new ThriftClient(Calculator.Client, { transport: server.url });
    await assert.rejects(thrift.client.echoString("x"), (error: unknown) => {
      assert.ok(error instanceof TApplicationException);
      assert.match(error.message, /"echoString".*no such method/);
      return true;
    });
    assert.equal(await thrift.client.add(1, 1), 2); // the server carries on
  });

  it("carries 1 MiB each way, across many reads, in every framing", T, async () => {
    const big = Buffer.from(Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 31) & 0xff));
    const cases: ServeOptions[] = [
      { transport: "tcp" },
      { transport: "tcp", framed: true, protocol: "compact" },
      { transport: "unix", protocol: "json" },
      { transport: "http" },
    ];
    for (const options of cases) {
      await using server = serve(Calculator, calculator(), options);
      const thrift = clientOf(server.url, options);
      await using conn = thrift.connect();
      const [a, b] = await Promise.all([conn.client.echoBinary(big), conn.client.add(1, 2)]);
      assert.ok(big.equals(a), name(options));
      assert.equal(b, 3);
    }
  });

  it("a oneway handler's failure, or its absence, disturbs nothing", T, async () => {
    await using server = serve(Calculator, {
      add: (a: number, b: number) => a + b,
      notify(message: string): never {
        throw new Error(message);
      },
    });
    const thrift = new ThriftClient(Calculator.Client, { transport: server.url });
    await using conn = thrift.connect();
    await conn.client.notify("thrown");
    assert.equal(await conn.client.add(1, 2), 3);
    await using bare = serve(Calculator, { add: (a: number, b: number) => a + b });
    const other = new ThriftClient(Calculator.Client, { transport: bare.url });
    await using conn2 = other.connect();
    await conn2.client.notify("nobody listens");
    assert.equal(await conn2.client.add(1, 2), 3);
    assert.deepEqual(bare.calls.map((c) => c.method), ["notify", "add"]);
  });

  it("answers a value the reply cannot carry with a TApplicationException", T, async () => {
    // what an untyped handler could do: the types refuse it
    await using server = serve(Calculator, {
      add: (() => "not a number") as never,
      notified: (() => [1, 2]) as never,
      crash: () => Promise.reject("a string, not an Error"),
    });
    const thrift = new ThriftClient(Calculator.Client, { transport: server.url });
    await assert.rejects(thrift.client.add(1, 2), TApplicationException);
    await assert.rejects(thrift.client.notified(), TApplicationException);
    await assert.rejects(thrift.client.crash(), /a string, not an Error/);
  });

  it("close() is idempotent, closes open connections, and leaks no descriptor", T, async () => {
    for (const transport of ["tcp", "unix", "http"] as const) {
      await withoutFdLeak(async () => {
        const server = serve(Calculator, calculator(), { transport });
        const thrift = new ThriftClient(Calculator.Client, { transport: server.url });
        const conn = thrift.connect();
        assert.equal(await conn.client.add(1, 2), 3);
        const slow = conn.client.sleep(10_000); // still waiting when the server closes
        await sleep(20);
        await within("close()", 5_000, Promise.all([server.close(), server.close()]));
        await server.close();
        await assert.rejects(slow, ThriftClientError);
        await assert.rejects(thrift.client.add(1, 2), ThriftClientError);
        conn.close();
      });
    }
  });

  it("closes a connection that sends garbage, and serves the others", T, async () => {
    const ADD = [0, 0, 0, 3, 0x61, 0x64, 0x64, 0, 0, 0, 1]; // the name "add", sequence id 1
    const cases: [string, ServeOptions, string | number[]][] = [
      ["text", {}, "GET / HTTP/1.1\r\n\r\n"],
      ["text, framed", { framed: true }, "GET / HTTP/1.1\r\n\r\n"], // a 1.2 GB frame
      ["an unknown field type", {}, [0x80, 1, 0, 1, ...ADD, 0xff, 0xff, 0xff]],
      ["an unknown field type, framed", { framed: true }, [
        0,
        0,
        0,
        18,
        0x80,
        1,
        0,
        1,
        ...ADD,
        0xff,
        0xff,
        0xff,
      ]],
      ["a reply instead of a call", {}, [0x80, 1, 0, 2, ...ADD, 0]],
      ["binary protocol version 2", {}, [0x80, 2, 0, 1, ...ADD, 0]],
      ["JSON that is not a message", { protocol: "json" }, '{"1":{"i32":1}}'],
      ["compact with a bad version", { protocol: "compact" }, [
        0x82,
        0x3f,
        1,
        3,
        0x61,
        0x64,
        0x64,
        0,
      ]],
    ];
    for (const [what, options, garbage] of cases) {
      await using server = serve(Calculator, calculator(), options);
      const port = Number(new URL(server.url).port);
      const handlers = recorder();
      const stream = await dial(tcp(port), handlers);
      stream.write(
        typeof garbage === "string" ? new TextEncoder().encode(garbage) : Uint8Array.from(garbage),
      );
      await within(`the server closing on ${what}`, 5_000, handlers.closed);
      const thrift = clientOf(server.url, options);
      assert.equal(await thrift.client.add(2, 3), 5, what);
    }
  });

  it("answers garbage over HTTP with 400 and other methods with 405", T, async () => {
    await using server = serve(Calculator, calculator(), { transport: "http" });
    const garbage = await fetch(server.url, { method: "POST", body: "not thrift" });
    assert.equal(garbage.status, 400);
    assert.match(await garbage.text(), /Invalid Thrift request/);
    const get = await fetch(server.url);
    assert.equal(get.status, 405);
    await get.body?.cancel();
    const thrift = new ThriftClient(Calculator.Client, { transport: server.url });
    assert.equal(await thrift.client.add(2, 3), 5);
  });

  it("listens on a given unix path and removes the socket file on close", T, async () => {
    const { mkdtempSync, existsSync, rmSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "serve-test-"));
    try {
      const path = join(dir, "calc.sock");
      const server = serve(Calculator, calculator(), { transport: "unix", path });
      assert.equal(server.url, `unix:${path}`);
      const handlers = recorder();
      (await dial(unix(path), handlers)).close();
      const thrift = new ThriftClient(Calculator.Client, { transport: server.url });
      assert.equal(await thrift.client.add(4, 5), 9);
      await server.close();
      assert.equal(existsSync(path), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses unknown options with a ConfigError", T, () => {
    const bad: [ServeOptions, RegExp][] = [
      [{ transport: "udp" as "tcp" }, /Unknown transport "udp"/],
      [{ protocol: "xml" }, /Unknown protocol "xml"/],
      [{ transport: "http", framed: true }, /"framed" for serve\(\) over http/],
      [{ transport: "tcp", path: "/tmp/x.sock" }, /"path" for serve\(\) over tcp/],
      [{ transport: "unix", port: 9090 }, /"port" for serve\(\) over unix/],
      [{ host: "10.0.0.1" }, /Invalid host "10.0.0.1" for serve\(\): expected a loopback address/],
      [{ transport: "http", host: "127.0.0.2" }, /"host" for serve\(\) over http/],
    ];
    for (const [options, message] of bad) {
      assert.throws(() => serve(Calculator, {}, options), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, message);
        return true;
      });
    }
  });

  it("listens on another loopback address with host", T, async () => {
    await using server = serve(Calculator, { add: (a: number, b: number) => a + b }, {
      host: "127.0.0.3",
    });
    assert.match(server.url, /^tcp:\/\/127\.0\.0\.3:\d+$/);
    const thrift = new ThriftClient(Calculator.Client, { transport: server.url });
    assert.equal(await thrift.client.add(2, 3), 5);
    await thrift.close();
  });

  it("throws naming the address when the port is taken", T, async () => {
    await using first = serve(Calculator, {});
    const port = Number(new URL(first.url).port);
    assert.throws(
      () => serve(Calculator, {}, { port }),
      new RegExp(`Cannot listen on "tcp://127.0.0.1:${port}": address in use`),
    );
  });
});
