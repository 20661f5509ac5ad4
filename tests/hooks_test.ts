/**
 * The `hooks` option and per-call headers, against the Python peer (its `header(name)` method
 * answers the HTTP request header of that name) and npm `thrift`'s server: onion order, what a
 * hook sees, headers both ways, replacing a result, throwing before and after `next()`, and the
 * failure paths (declared exception, timeout, connection refused).
 *
 * Runs under `deno test -A tests/hooks_test.ts` and `bun test tests/hooks_test.ts`.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type CallHook,
  ConfigError,
  ConnectError,
  type HookCall,
  ThriftClient,
  TimeoutError,
} from "../mod.ts";
import { Calculator, types } from "./helpers/calculator.ts";
import { startNpmServer } from "./helpers/npm_server.ts";
import { pythonThriftAvailable, startPythonPeer } from "./helpers/python_peer.ts";

const T = { timeout: 30_000 };

describe("hooks", { skip: !pythonThriftAvailable() }, () => {
  it("run in onion order around every call and see what the call is", T, async () => {
    await using peer = await startPythonPeer({ transport: "http", protocol: "binary" });
    const order: string[] = [];
    const seen: HookCall[] = [];
    const outer: CallHook = async (call, next) => {
      order.push("outer in");
      seen.push(call);
      const result = await next();
      order.push("outer out");
      return result;
    };
    const inner: CallHook = async (call, next) => {
      order.push("inner in");
      call.headers.set("x-tenant", "acme");
      const result = await next();
      order.push(`inner out ${call.replyHeaders?.get("content-type")}`);
      return result;
    };
    const url = peer.url.replace("http://", "http://user:secret@");
    const thrift = new ThriftClient(Calculator.Client, { transport: url, hooks: [outer, inner] });
    assert.equal(await thrift.client.header("x-tenant"), "acme");
    assert.deepEqual(order, [
      "outer in",
      "inner in",
      "inner out application/x-thrift",
      "outer out",
    ]);
    const call = seen[0]!;
    assert.equal(call.method, "header");
    assert.equal(call.service, "Calculator");
    assert.deepEqual(call.args, ["x-tenant"]);
    assert.equal(call.endpoint, peer.url);
    assert.doesNotMatch(call.endpoint, /secret/);
    assert.equal(call.attempt, 1);
  });

  it("the headers option (a function of the call) and thrift.with({ headers })", T, async () => {
    await using peer = await startPythonPeer({ transport: "http", protocol: "compact" });
    const thrift = new ThriftClient(Calculator.Client, {
      transport: peer.url,
      protocol: "compact",
      headers: (call) => ({ "x-call": `${call.service}.${call.method}(${call.args.length})` }),
    });
    assert.equal(await thrift.client.header("x-call"), "Calculator.header(1)");
    const once = thrift.with({ headers: { "x-call": "overridden", "x-once": "1" } });
    assert.equal(await once.client.header("x-call"), "overridden");
    assert.equal(await once.client.header("x-once"), "1");
    assert.equal(await thrift.client.header("x-once"), "");
  });

  for (const protocol of ["HEADER", "HEADER_COMPACT"] as const) {
    it(
      `${protocol}: headers from hooks, the option and thrift.with() are info headers both ways`,
      T,
      async () => {
        await using peer = await startPythonPeer({ transport: "tcp", protocol: "header" });
        let echoed: string | null | undefined;
        const thrift = new ThriftClient(Calculator.Client, {
          transport: peer.url,
          protocol,
          headers: { "x-fixed": "option" },
          hooks: [async (call, next) => {
            call.headers.set("x-tenant", "acme");
            const result = await next();
            echoed = call.replyHeaders?.get(`echo-${call.args[0]}`);
            return result;
          }],
        });
        assert.equal(await thrift.client.header("x-tenant"), "acme");
        assert.equal(echoed, "acme");
        assert.equal(await thrift.client.header("x-fixed"), "option");
        assert.equal(
          await thrift.with({ headers: { "x-once": "1" } }).client.header("x-once"),
          "1",
        );
        assert.equal(echoed, "1");
        assert.equal(await thrift.client.header("x-once"), "");
        await thrift.close();
      },
    );
  }

  it("may replace the result, or throw before next() and send nothing", T, async () => {
    await using server = await startNpmServer();
    const replaced = new ThriftClient(Calculator.Client, {
      transport: server.url,
      hooks: [async (_call, next) => (await next() as number) * 10],
    });
    assert.equal(await replaced.client.add(1, 2), 30);
    const before = server.totalConnections();
    const refused = new ThriftClient(Calculator.Client, {
      transport: server.url,
      hooks: [() => {
        throw new Error("not allowed");
      }],
    });
    await assert.rejects(refused.client.add(1, 2), /not allowed/);
    const rejected = new ThriftClient(Calculator.Client, {
      transport: server.url,
      hooks: [() => Promise.reject(new Error("async no"))],
    });
    await assert.rejects(rejected.client.add(1, 2), /async no/);
    assert.equal(server.totalConnections(), before);
  });

  it("a hook that throws after next() rejects the call; nothing is left pending", T, async () => {
    await using server = await startNpmServer();
    const thrift = new ThriftClient(Calculator.Client, {
      transport: server.url,
      hooks: [async (_call, next) => {
        await next();
        throw new Error("after");
      }],
    });
    await assert.rejects(thrift.client.add(1, 2), /after/);
    await server.waitForConnections(0);
  });

  it("see each failure: declared exception, timeout, connection refused", T, async () => {
    await using server = await startNpmServer();
    const errors: unknown[] = [];
    const hooks: CallHook[] = [async (_call, next) => {
      try {
        return await next();
      } catch (error) {
        errors.push(error);
        throw error;
      }
    }];
    const thrift = new ThriftClient(Calculator.Client, { transport: server.url, hooks });
    await assert.rejects(thrift.client.fail("x"), types.NotFound);
    await assert.rejects(thrift.with({ timeout: 50 }).client.sleep(2000), TimeoutError);
    const dead = new ThriftClient(Calculator.Client, {
      transport: "unix:/nonexistent/thrift.sock",
      hooks,
    });
    await assert.rejects(dead.client.add(1, 2), ConnectError);
    assert.ok(errors[0] instanceof types.NotFound);
    assert.ok(errors[1] instanceof TimeoutError);
    assert.ok(errors[2] instanceof ConnectError);
    await thrift.close();
  });

  it("must be an array of functions", () => {
    assert.throws(
      () => new ThriftClient(Calculator.Client, { hooks: [42 as never] }),
      (e: unknown) => e instanceof ConfigError && /Invalid hooks/.test(e.message),
    );
  });
});
