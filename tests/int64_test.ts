/**
 * The `int64` option: replies carry i64 values as node-int64 `Int64` (the default, what the
 * generated code expects) or as `bigint`; calls accept either, and safe-integer numbers.
 *
 * Runs under `deno test -A tests/int64_test.ts` and `bun test tests/int64_test.ts`.
 */
import assert from "node:assert/strict";
import { describe, it, test } from "node:test";
import { ConfigError, ThriftClient, type ThriftClientConfig } from "../mod.ts";
import { Calculator, Int64, types } from "./helpers/calculator.ts";
import { startNpmServer } from "./helpers/npm_server.ts";
import { startPythonPeer } from "./helpers/python_peer.ts";

const EXTREMES = [0n, 1n, -1n, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n), -4294967297n];

for (const protocol of ["binary", "compact", "json"] as const) {
  describe(`int64 with ${protocol}`, () => {
    it('"bigint" gives bigints back, for any i64 sent', async () => {
      await using server = await startNpmServer({ protocol });
      const thrift = new ThriftClient(Calculator.Client, {
        transport: server.url,
        protocol,
        int64: "bigint",
      });
      for (const v of EXTREMES) {
        const got: unknown = await thrift.client.echoI64(v as never);
        assert.equal(got, v);
      }
      assert.equal(await thrift.client.echoI64(new Int64(-5) as never), -5n as never);
      assert.equal(await thrift.client.echoI64(42 as never), 42n as never);
      const nested: unknown = await thrift.client.echoNested(
        new types.Nested({ name: "n", id: 2n ** 62n as never }),
      );
      assert.equal((nested as { id: unknown }).id, 2n ** 62n);
      await thrift.close();
    });

    it("the default gives node-int64 Int64 values", async () => {
      await using server = await startNpmServer({ protocol });
      const thrift = new ThriftClient(Calculator.Client, { transport: server.url, protocol });
      const got = await thrift.client.echoI64(-(2n ** 63n) as never);
      assert.ok(got instanceof Int64);
      assert.equal(got.toOctetString(), "8000000000000000");
      await thrift.close();
    });
  });
}

test('"bigint" against the Python peer, binary and compact', async () => {
  for (const protocol of ["binary", "compact"] as const) {
    await using peer = await startPythonPeer({ transport: "tcp", protocol });
    const thrift = new ThriftClient(Calculator.Client, {
      transport: peer.url,
      protocol,
      int64: "bigint",
    });
    for (const v of EXTREMES) assert.equal(await thrift.client.echoI64(v as never), v as never);
    await thrift.close();
  }
});

test("the option and its key: any case, and a clear error for anything else", () => {
  const names = (config: ThriftClientConfig) => new ThriftClient(Calculator.Client, config);
  names({ int64: "BigInt" as never }); // from untyped code: any case
  names({ int64: "bigint" });
  names({ THRIFTCLIENT_INT64: "int64" });
  assert.throws(
    // @ts-expect-error: only "Int64" and "bigint" type-check
    () => names({ int64: "number" }),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.message === 'Unknown int64 "number": expected Int64 or bigint',
  );
  assert.throws(
    () => names({ THRIFTCLIENT_INT64: "long" }),
    /Unknown THRIFTCLIENT_INT64 "long": expected Int64 or bigint/,
  );
});
