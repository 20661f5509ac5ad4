/** The calls every interop cell runs: text, i64, binary, containers, exceptions, oneway. */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import thrift from "thrift";
import { type CalculatorClient, Int64, types } from "./calculator.ts";

const TApplicationException =
  (thrift as unknown as { Thrift: { TApplicationException: new () => Error } })
    .Thrift.TApplicationException;

/**
 * The calls every matrix cell runs: text, i64, binary, containers, exceptions, oneway.
 *
 * @param binaryBytes the size of the binary echoed (64 KiB unless a peer needs less)
 */
export async function exercise(client: CalculatorClient, binaryBytes = 64 * 1024): Promise<void> {
  assert.equal(await client.add(20, 22), 42);
  const text = 'héllo wörld ✓ 日本語 🎉 "quoted" \\ back';
  assert.equal(await client.echoString(text), text);
  const big = new Int64("0020000000000001"); // 2^53 + 1
  assert.equal(
    (await client.echoI64(big)).toOctetString(),
    big.toOctetString(),
  );
  const blob = Buffer.alloc(binaryBytes, 0);
  for (let i = 0; i < blob.length; i++) blob[i] = (i * 7) & 0xff;
  assert.ok(blob.equals(await client.echoBinary(blob)));
  const nested = await client.echoNested(
    new types.Nested({
      name: "n",
      id: new Int64(-5),
      blob: Buffer.from([1, 2, 3]),
      points: [new types.Point({ x: 1, y: -2 })],
      counts: { a: 1, b: 2 },
      tags: ["x", "y"],
    }),
  );
  assert.equal(nested.name, "n");
  assert.equal(nested.points?.[0]?.y, -2);
  assert.equal(Number(nested.id?.toNumber()), -5);
  await assert.rejects(client.fail("gone"), (error: unknown) => {
    assert.ok(error instanceof types.NotFound);
    assert.equal(error.message, "gone");
    assert.equal(error.code, 404);
    return true;
  });
  await assert.rejects(client.crash(), TApplicationException);
  await client.notify("one-way");
  const unique = `ü-${Math.random()}`;
  assert.equal(await client.echoString(unique), unique);
  const sums = await Promise.all([1, 2, 3, 4, 5].map((n) => client.add(n, n)));
  assert.deepEqual(sums, [2, 4, 6, 8, 10]);
  // HTTP servers may answer a oneway POST before running it: allow it a moment
  for (let i = 0; !(await client.notified()).includes("one-way"); i++) {
    assert.ok(i < 40, "the oneway call never arrived");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
