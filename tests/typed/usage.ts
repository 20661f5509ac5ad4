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
  type CalculatorHandler,
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
  Tagged,
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

/** Compile-time checks of IDL defaults, unions and binary inputs: never called. */
export async function inputTypes(client: CalculatorClient): Promise<void> {
  client.byId(1); // `limit` has an IDL default: it may be left out
  client.byId(1, 5);
  // @ts-expect-error: `q` has no default
  client.byId();
  client.span(undefined, 5); // a default before an argument without one: pass undefined
  // @ts-expect-error: `stop` has no default
  client.span(1);
  client.pick({ text: "t" });
  // @ts-expect-error: a union takes exactly one field, not two
  client.pick({ text: "t", big: 1 });
  // @ts-expect-error: nor none
  client.pick({});
  // @ts-expect-error: nor none, as a class either
  new Value();
  const read: Value = await client.pick({ big: 1n });
  if (read.text !== null) {
    const text: string = read.text;
    const none: null = read.big; // one field set, the others null
    void [text, none];
  }
  await client.pick(read); // a union read back is a valid input
  const tagged = new Tagged({ tag: 2, label: "x" }); // a field with a default: always set
  const tag: number = tagged.tag;
  client.reverse(new Uint8Array([1, 2])); // binary inputs take any Uint8Array
  client.reverse(Buffer.from("ab"));
  const back: Buffer = await client.reverse(new Uint8Array(0)); // replies are Buffers
  new AllTypes({ must: "m", bin: new Uint8Array(1) });
  void [tag, back];
}

/** A server's side, typed by the IDL (type-checked here, not run). */
export const handler: CalculatorHandler = {
  getStruct: (key) =>
    key === null || key < 0
      ? Promise.reject(new SharedError({ reason: `negative key ${key}` })) // declared: answered
      : { key, value: `value ${key}` },
  favorite: (c) => c ?? Color.RED,
  ping: () => {},
  add: (a, b) => (a ?? 0) + (b ?? 0),
  calculate: (_logid, w) =>
    w?.op === Operation.DIVIDE
      ? Promise.reject(new InvalidOperation({ whatOp: w.op, why: "Cannot divide" }))
      : 0,
  addBig: (a, b) => BigInt(a?.toString() ?? 0) + BigInt(b?.toString() ?? 0),
  roundTrip: (v) => v ?? { must: "none" },
  pick: (v) => v ?? { text: "none" },
  invert: (m) => Object.fromEntries(Object.entries(m ?? {}).map(([k, v]) => [v, k])),
  unique: (items) => [...new Set(items)],
  reverse: (data) => Uint8Array.from(data ?? []).reverse(),
  share: (key) => Promise.resolve({ key, value: "" }),
  zip: () => {},
  byId: (q, limit) => [q ?? 0, limit],
  span: (start, stop) => (stop ?? 0) - start,
};

/** What a `serve(Service, handler)` sees: the handler's type comes from the service value. */
function serveLike<H extends object>(
  _service: { readonly Processor: new (handler: H) => unknown },
  impl: H,
): H {
  return impl;
}

/** Compile-time checks of handlers: never called. */
export function handlerErrors(): void {
  serveLike(Calculator, handler);
  // @ts-expect-error: add answers an i32, not a string
  serveLike(Calculator, { ...handler, add: () => "3" });
  // @ts-expect-error: add receives numbers
  const wrongArgument: CalculatorHandler = { ...handler, add: (a: string) => a.length };
  // @ts-expect-error: every method is implemented
  const missing: CalculatorHandler = { add: () => 1 };
  void [wrongArgument, missing];
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
  assert.ok(got.nested?.[0]?.[0] instanceof Work);
  assert.equal(got.nested[0][0].num2, 2);
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
  const fromBytes: Buffer = await client.reverse(new Uint8Array([1, 2, 3]));
  assert.ok(Buffer.isBuffer(fromBytes));
  assert.deepEqual([...fromBytes], [3, 2, 1]);
  await client.zip();
  calls += 6;

  const text: Value = await client.pick({ text: "only" });
  assert.ok(text instanceof Value);
  assert.deepEqual([text.big, text.text, text.work], [null, "only", null]);
  assert.deepEqual(await client.byId(3), [3, 10]); // the IDL default went on the wire
  assert.deepEqual(await client.byId(3, 4), [3, 4]);
  assert.equal(await client.span(undefined, 5), 4);
  await assert.rejects(Reflect.apply(client.byId, client, []), {
    name: "TypeError",
    message: /"byId" .*: it takes 1 to 2 arguments, got 0$/,
  });
  await assert.rejects(Reflect.apply(client.add, client, [1]), {
    name: "TypeError",
    message: /"add" .*: it takes 2 arguments, got 1$/,
  });
  calls += 4;

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
