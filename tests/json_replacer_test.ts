/**
 * `jsonReplacer`: `JSON.stringify(reply, jsonReplacer)` writes i64 values (either form) as
 * exact decimal strings and binary as base64, for replies read from the Python peer and for
 * values built by hand.
 *
 * Runs under `deno test -A tests/json_replacer_test.ts` and `bun test tests/json_replacer_test.ts`.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { describe, it, test } from "node:test";
import { jsonReplacer, ThriftClient } from "../mod.ts";
import { Calculator, Int64, types } from "./helpers/calculator.ts";
import { pythonThriftAvailable, startPythonPeer } from "./helpers/python_peer.ts";

const BIG = 2n ** 62n + 3n;
const BLOB = Uint8Array.from([0, 1, 2, 250, 251, 252, 253, 254, 255]);

describe("jsonReplacer on replies", { skip: !pythonThriftAvailable() }, () => {
  for (const int64 of ["Int64", "bigint"] as const) {
    it(`every kind of value of a nested reply (int64: ${int64})`, async () => {
      await using peer = await startPythonPeer({ transport: "tcp", protocol: "compact" });
      const thrift = new ThriftClient(Calculator.Client, {
        transport: peer.url,
        protocol: "compact",
        int64,
      });
      const reply = await thrift.client.echoNested(
        new types.Nested({
          name: "n",
          id: -BIG,
          blob: Buffer.from(BLOB),
          points: [new types.Point({ x: 1, y: 2 })],
          counts: { a: 1 },
          tags: ["t"],
        }),
      );
      const keyed = await thrift.client.echoI64Map({ [String(2n ** 63n - 1n)]: "max" });
      const error = await thrift.client.fail("gone").catch((e: unknown) => e);
      await thrift.close();
      assert.ok(error instanceof types.NotFound);
      assert.equal(
        JSON.stringify(error, jsonReplacer),
        '{"name":"NotFound","message":"gone","code":404}',
      );
      assert.deepEqual(JSON.parse(JSON.stringify({ reply, keyed }, jsonReplacer)), {
        reply: {
          name: "n",
          id: String(-BIG),
          blob: Buffer.from(BLOB).toString("base64"),
          points: [{ x: 1, y: 2 }],
          counts: { a: 1 },
          tags: ["t"],
          origin: null,
        },
        keyed: { "9223372036854775807": "max" },
      });
    });
  }
});

test("values built by hand: Int64 of npm's copy, views, non-finite doubles", () => {
  const view = BLOB.subarray(3, 6);
  const json = JSON.stringify(
    {
      a: new Int64("8000000000000000"),
      b: -1n,
      c: view,
      d: [NaN, Infinity, -Infinity, 1.5],
      e: { toJSON: () => "kept" },
      f: "text",
    },
    jsonReplacer,
  );
  assert.deepEqual(JSON.parse(json), {
    a: "-9223372036854775808",
    b: "-1",
    c: Buffer.from([250, 251, 252]).toString("base64"),
    d: ["NaN", "Infinity", "-Infinity", 1.5],
    e: "kept",
    f: "text",
  });
  assert.equal(JSON.stringify(7n, jsonReplacer), '"7"');
});
