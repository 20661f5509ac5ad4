/**
 * A user's code against the typed modules generated from tests/idl/typed/tutorial.thrift
 * into `./gen` (made by tests/gen_test.ts, not committed): no hand-written types, no casts.
 * tests/gen_test.ts type-checks this file with `deno check` (the `@ts-expect-error` lines
 * prove wrong calls do not compile) and runs `exercise` on Deno and on Bun.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { ThriftClient } from "../../mod.ts";
import { Int64, TApplicationException } from "./gen/_runtime.ts";
import { Color, SharedError, SharedStruct } from "./gen/shared.ts";
import {
  AllTypes,
  BIG_CONSTANT,
  Calculator,
  type CalculatorClient,
  DEFAULT_COLOR,
  GREETING,
  INT32CONSTANT,
  InvalidOperation,
  MAPCONSTANT,
  type MyInteger,
  type Names,
  Operation,
  PRIMES,
  type Shared,
  Value,
  Work,
} from "./gen/tutorial.ts";

/** Compile-time checks only: never called. */
export function typeErrors(client: CalculatorClient): void {
  // @ts-expect-error: an i32 argument is not a string
  client.add("1", 2);
  // @ts-expect-error: too few arguments
  client.add(1);
  // @ts-expect-error: not a method of Calculator or SharedService
  client.subtract(1, 2);
  // @ts-expect-error: add resolves to a number
  const text: Promise<string> = client.add(1, 2);
  // @ts-expect-error: a Work has no field `numOne`
  client.calculate(1, { numOne: 1 });
  // @ts-expect-error: binary is a Buffer, not a string
  client.reverse("abc");
  // @ts-expect-error: an inherited method's argument is still checked
  client.getStruct("1");
  // @ts-expect-error: `must` is a required field
  new AllTypes({});
  // @ts-expect-error: an enum's members are known
  Operation.MODULO;
  const op: Operation = Operation.ADD;
  // @ts-expect-error: 5 is not an Operation
  const bad: Operation = 5;
  client.addBig(1n, 2); // an i64 may be a bigint, a number or an Int64
  // @ts-expect-error: but not a string
  client.addBig("1", 2);
  const thrift = new ThriftClient(Calculator.Client, { transport: "tcp://127.0.0.1:1" });
  const viaClient: Promise<number> = thrift.client.add(1, 2);
  // @ts-expect-error: unknown methods are errors on `thrift.client` too
  thrift.client.nope();
  const key: MyInteger = 1;
  const names: Names = ["a"];
  void [text, op, bad, key, names, viaClient];
}

/** Calls every method on the server at `url`; returns how many calls succeeded. */
export async function exercise(
  url: string,
  protocol: "binary" | "compact" | "json" = "binary",
): Promise<number> {
  const thrift = new ThriftClient(Calculator.Client, { transport: url, protocol });
  await using conn = thrift.connect();
  const client = conn.client;
  let calls = 0;

  await client.ping();
  const sum: number = await client.add(1, 2);
  assert.equal(sum, 3);
  calls += 2;

  assert.equal(
    await client.calculate(1, new Work({ num1: 6, num2: 7, op: Operation.MULTIPLY })),
    42,
  );
  assert.equal(await client.calculate(1, { num1: 9, num2: 2, op: Operation.SUBTRACT }), 7);
  const ouch = await client.calculate(2, { num1: 1, num2: 0, op: Operation.DIVIDE }).catch((e) =>
    e
  );
  assert.ok(ouch instanceof InvalidOperation);
  assert.equal(ouch.why, "Cannot divide by 0");
  assert.equal(ouch.whatOp, Operation.DIVIDE);
  calls += 3;

  const big: Int64 = await client.addBig(new Int64(2 ** 40), 5);
  assert.ok(big instanceof Int64);
  assert.equal(big.toNumber(), 2 ** 40 + 5);
  calls += 1;

  const shared: SharedStruct = await client.getStruct(7);
  assert.ok(shared instanceof SharedStruct);
  assert.equal(shared.value, "value 7");
  const err = await client.getStruct(-1).catch((e) => e);
  assert.ok(err instanceof SharedError);
  assert.equal(err.reason, "negative key -1");
  const color: number = await client.favorite(Color.BLUE);
  assert.equal(color, 7);
  const aliased: Shared = await client.share(3);
  assert.equal(aliased.key, 3);
  calls += 4;

  const sent = new AllTypes({
    b: false,
    i8v: -8,
    i16v: 1600,
    i32v: -320000,
    i64v: new Int64("7fffffffffffffff"),
    dbl: 0.5,
    bin: Buffer.from([0, 1, 255]),
    ints: [3, 1, 2],
    strs: ["x", "y"],
    byName: { a: 1, b: 2 },
    byId: { 1: "one", 2: "two" },
    byOp: { [Operation.ADD]: "plus" },
    nested: [[{ num1: 1, num2: 2, op: Operation.ADD }], []],
    shared: { key: 5, value: "five" },
    counted: 11,
    names: ["n"],
    must: "here",
    value: { text: "picked" },
    color: Color.RED,
  });
  const got: AllTypes = await client.roundTrip(sent);
  assert.ok(got instanceof AllTypes);
  assert.equal(got.b, false);
  assert.equal(got.i8v, -8);
  assert.equal(got.i16v, 1600);
  assert.equal(got.i32v, -320000);
  assert.ok(got.i64v instanceof Int64);
  assert.equal(got.i64v.toOctetString(), "7fffffffffffffff");
  assert.equal(got.dbl, 0.5);
  assert.ok(Buffer.isBuffer(got.bin));
  assert.deepEqual([...(got.bin ?? [])], [0, 1, 255]);
  assert.ok(Array.isArray(got.ints) && Array.isArray(got.strs)); // sets are arrays too
  assert.deepEqual(got.ints, [3, 1, 2]);
  assert.deepEqual([...(got.strs ?? [])].sort(), ["x", "y"]);
  assert.deepEqual({ ...got.byName }, { a: 1, b: 2 });
  assert.equal(got.byId?.[1], "one");
  assert.equal(got.byOp?.[Operation.ADD], "plus");
  assert.ok(got.nested?.[0][0] instanceof Work);
  assert.equal(got.nested?.[0][0].num2, 2);
  assert.ok(got.shared instanceof SharedStruct);
  assert.equal(got.shared.value, "five");
  assert.equal(got.str, "default"); // the IDL default, sent and read back
  assert.equal(got.counted, 11);
  assert.equal(got.must, "here");
  assert.ok(got.value instanceof Value);
  assert.equal(got.value.text, "picked");
  assert.equal(got.color, Color.RED);
  calls += 1;

  const picked: Value = await client.pick(new Value({ big: 9 }));
  assert.equal(picked.big?.toNumber(), 9);
  const inverted: Record<number, string> = await client.invert({ one: 1, two: 2 });
  assert.deepEqual({ ...inverted }, { 1: "one", 2: "two" });
  const unique: string[] = await client.unique(["a", "b", "a"]);
  assert.ok(Array.isArray(unique));
  assert.deepEqual([...unique].sort(), ["a", "b"]);
  const reversed: Buffer = await client.reverse(Buffer.from("abc"));
  assert.equal(reversed.toString(), "cba");
  await client.zip();
  calls += 5;

  assert.equal(INT32CONSTANT, 9853);
  assert.equal(GREETING, "hello");
  assert.deepEqual(PRIMES, [2, 3, 5]);
  assert.equal(MAPCONSTANT.hello, "world");
  assert.equal(DEFAULT_COLOR, Color.GREEN);
  assert.ok(BIG_CONSTANT instanceof Int64);
  assert.equal(BIG_CONSTANT.toNumber(), 1234567890123);
  assert.equal(typeof TApplicationException, "function");
  return calls;
}
