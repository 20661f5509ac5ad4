/**
 * `map<i64, V>` keys are exact: the generated code stores `map[key]`, so a key is the text of
 * the i64 read, and that text must be its exact decimal value in both `int64` modes (node-int64
 * alone prints "Infinity" past 2^53, and two such keys collide). Against the Python peer, in
 * every protocol, framed or not, and over HTTP.
 *
 * Runs under `deno test -A tests/int64_map_test.ts` and `bun test tests/int64_map_test.ts`.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ThriftClient } from "../mod.ts";
import { Calculator } from "./helpers/calculator.ts";
import { pythonThriftAvailable, startPythonPeer } from "./helpers/python_peer.ts";

const KEYS = [
  2n ** 63n - 1n,
  -(2n ** 63n - 1n),
  -(2n ** 63n),
  2n ** 53n + 1n,
  2n ** 60n + 1n,
  -1n,
  0n,
];
const SENT = Object.fromEntries(KEYS.map((k) => [String(k), `v${k}`]));

const SHAPES = [
  { transport: "tcp", framed: false },
  { transport: "tcp", framed: true },
  { transport: "http", framed: false },
] as const;

describe("i64 map keys are exact", { skip: !pythonThriftAvailable() }, () => {
  for (const protocol of ["binary", "compact", "json"] as const) {
    for (const { transport, framed } of SHAPES) {
      const name = `${protocol} over ${transport}${framed ? ", framed" : ""}`;
      it(name, async () => {
        await using peer = await startPythonPeer({ transport, protocol, framed });
        for (const int64 of ["Int64", "bigint"] as const) {
          const thrift = new ThriftClient(Calculator.Client, {
            transport: peer.url,
            protocol,
            framed,
            int64,
          });
          const got = await thrift.client.echoI64Map(SENT);
          assert.deepEqual(got, SENT, `int64: ${int64}`);
          // the values of an i64 print exactly too, in both modes
          const big = await thrift.client.echoI64(2n ** 60n + 1n);
          assert.equal(String(big), "1152921504606846977");
          assert.equal(`${await thrift.client.echoI64(-(2n ** 63n))}`, "-9223372036854775808");
          await thrift.close();
        }
      });
    }
  }
});
