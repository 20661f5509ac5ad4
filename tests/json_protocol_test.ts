/**
 * Our JSON protocol against npm `thrift`'s `TJSONProtocol`: byte for byte on write, the same
 * values on read, Apache's format where npm's output is wrong, the checks npm does not make,
 * and reading a message that arrives in pieces.
 *
 * Runs under `deno test -A tests/json_protocol_test.ts` and `bun test tests/json_protocol_test.ts`.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { test } from "node:test";
import thrift from "thrift";
import { TJSONProtocol } from "../src/protocol/json.ts";
import { framerFor, OutputTransport } from "../src/protocol.ts";
import { ReadBuffer } from "../src/transport/read_buffer.ts";
import { NEED_MORE, newScanner } from "../src/protocol/scanner.ts";
import { InputBufferUnderrunError } from "../src/_thrift.ts";
import { ProtocolError } from "../src/errors.ts";
import { ThriftClient } from "../mod.ts";
import { Calculator, types } from "./helpers/calculator.ts";
import { startNpmServer } from "./helpers/npm_server.ts";
import { field, message, type Op, scalars } from "./helpers/protocol_ops.ts";

// deno-lint-ignore no-explicit-any
type Any = any;
const lib = thrift as Any;
const Int64 = lib.Int64;
const Ty = lib.Thrift.Type;
const MT = lib.Thrift.MessageType;
const NpmJSON = lib.TJSONProtocol;

function encodeOurs(ops: Op[], framed = false): Buffer {
  let out: Buffer | undefined;
  const transport = new OutputTransport(
    framerFor({ protocol: "JSON", framed }),
    (bytes) => out = Buffer.from(bytes),
  );
  const p = new TJSONProtocol(transport) as Any;
  for (const [m, ...args] of ops) p[m](...args);
  transport.flush();
  return out!;
}

function encodeNpm(ops: Op[]): Buffer {
  const chunks: Buffer[] = [];
  const transport = {
    write: (b: Buffer | string) => chunks.push(Buffer.from(b)),
    flush() {},
  };
  const p = new NpmJSON(transport);
  for (const [m, ...args] of ops) p[m](...args);
  return Buffer.concat(chunks);
}

const readOf: Record<string, string> = { writeFieldStop: "readFieldBegin" };
/** A field header as both readers give it (at the stop, npm's id is -1, ours 0). */
const fieldOf = (v: Any): unknown[] => v.ftype === Ty.STOP ? [Ty.STOP] : [v.ftype, v.fid];

/** Reads `bytes` back with the read call of each write op, values normalized for comparison. */
function decode(Class: Any, bytes: Uint8Array, ops: Op[]): unknown[] {
  const buffer = new ReadBuffer();
  buffer.append(bytes);
  const p = new Class(buffer);
  return ops.map(([m]) => {
    const v = p[readOf[m] ?? m.replace(/^write/, "read")]();
    if (v instanceof Int64) return (v as Any).toOctetString();
    if (m === "writeFieldBegin" || m === "writeFieldStop") return fieldOf(v);
    return v;
  });
}

/** What reading back a written scalar gives. */
function expected(m: string, arg: unknown): unknown {
  if (m === "writeI64") {
    if (arg instanceof Int64) return (arg as Any).toOctetString();
    return BigInt.asUintN(64, BigInt(arg as string)).toString(16).padStart(16, "0");
  }
  if (typeof arg === "string" && m !== "writeString" && m !== "writeBinary") return Number(arg);
  if (m === "writeBinary") return Buffer.from(arg as Uint8Array);
  return arg;
}

/** One op, or the ops of a container or struct. */
type Value = Op | Op[];
const opsOf = (v: Value): Op[] => typeof v[0] === "string" ? [v as Op] : v as Op[];

const list = (etype: number, values: Value[], kind = "List"): Op[] => [
  [`write${kind}Begin`, etype, values.length],
  ...values.flatMap(opsOf),
  [`write${kind}End`],
];

const map = (ktype: number, vtype: number, entries: [Value, Value][]): Op[] => [
  ["writeMapBegin", ktype, vtype, entries.length],
  ...entries.flatMap(([k, v]) => [...opsOf(k), ...opsOf(v)]),
  ["writeMapEnd"],
];

const struct = (...fields: Op[][]): Op[] => [
  ["writeStructBegin", "S"],
  ...fields.flat(),
  ["writeFieldStop"],
  ["writeStructEnd"],
];

const i32 = (v: unknown): Op => ["writeI32", v];
const str = (v: unknown): Op => ["writeString", v];

// npm's reader takes an object's keys in JavaScript's order (array indices first, ascending),
// so fields and integer map keys are written ascending here.
const cases: Record<string, Op[]> = {
  "empty struct": message("e", MT.CALL, []),
  "bools": message("b", MT.CALL, [
    ...field("t", Ty.BOOL, 1, ["writeBool", true]),
    ...field("f", Ty.BOOL, 2, ["writeBool", false]),
    ...field("far", Ty.BOOL, 32767, ["writeBool", true]),
  ]),
  "bytes, i16 and i32 at their extremes": message("ints", MT.CALL, [
    ...field("b1", Ty.BYTE, 1, ["writeByte", -128]),
    ...field("b2", Ty.BYTE, 2, ["writeByte", 127]),
    ...field("b3", Ty.BYTE, 3, ["writeByte", 0]),
    ...field("s1", Ty.I16, 4, ["writeI16", -32768]),
    ...field("s2", Ty.I16, 5, ["writeI16", 32767]),
    ...field("i1", Ty.I32, 6, i32(-2147483648)),
    ...field("i2", Ty.I32, 7, i32(2147483647)),
    ...field("i3", Ty.I32, 8, i32(-1)),
    ...field("i4", Ty.I32, 9, i32(300)),
  ]),
  "i64 at its extremes": message("longs", MT.CALL, [
    ...field("a", Ty.I64, 1, ["writeI64", new Int64(0)]),
    ...field("b", Ty.I64, 2, ["writeI64", new Int64("0x7fffffffffffffff")]),
    ...field("c", Ty.I64, 3, ["writeI64", new Int64("0x8000000000000000")]),
    ...field("d", Ty.I64, 4, ["writeI64", new Int64("0x0020000000000001")]),
    ...field("e", Ty.I64, 5, ["writeI64", new Int64("0xffdfffffffffffff")]),
    ...field("f", Ty.I64, 6, ["writeI64", new Int64(4294967296)]),
    ...field("g", Ty.I64, 7, ["writeI64", new Int64(-123456789012)]),
    ...field("h", Ty.I64, 8, ["writeI64", 2 ** 53 - 1]),
    ...field("i", Ty.I64, 9, ["writeI64", -(2 ** 53 - 1)]),
    ...field("j", Ty.I64, 10, ["writeI64", -5]),
  ]),
  "doubles": message("d", MT.CALL, [
    ...field("a", Ty.DOUBLE, 1, ["writeDouble", 1.5]),
    ...field("b", Ty.DOUBLE, 2, ["writeDouble", 0.1]),
    ...field("c", Ty.DOUBLE, 3, ["writeDouble", -2.25]),
    ...field("d", Ty.DOUBLE, 4, ["writeDouble", Number.MAX_VALUE]),
    ...field("e", Ty.DOUBLE, 5, ["writeDouble", 5e-324]),
    ...field("f", Ty.DOUBLE, 6, ["writeDouble", -5e-324]),
    ...field("g", Ty.DOUBLE, 7, ["writeDouble", 1e21]),
    ...field("h", Ty.DOUBLE, 8, ["writeDouble", 1e-7]),
    ...field("i", Ty.DOUBLE, 9, ["writeDouble", 123456789.123456]),
    ...field("j", Ty.DOUBLE, 10, ["writeDouble", 0]),
    ...field("k", Ty.DOUBLE, 11, ["writeDouble", 2 ** 60]),
    ...field("l", Ty.DOUBLE, 12, ["writeDouble", -1e-300]),
  ]),
  "strings": message("s", MT.CALL, [
    ...field("a", Ty.STRING, 1, str("")),
    ...field("b", Ty.STRING, 2, str('say "hi"')),
    ...field("c", Ty.STRING, 3, str("back\\slash \\\\ and \\u0041 and \\n")),
    ...field("d", Ty.STRING, 4, str("\b\f\n\r\t, / and \x7f")),
    ...field("e", Ty.STRING, 5, str("héllo ☃ € ß")),
    ...field("f", Ty.STRING, 6, str("astral 𝄞 😀 \u{10ffff}")),
    ...field("g", Ty.STRING, 7, str("x".repeat(200) + '"'.repeat(20))),
    ...field("h", Ty.STRING, 8, str('[1,"not",{"json":}]')),
  ]),
  "binary, every padding": message("bin", MT.CALL, [
    ...field("a", Ty.STRING, 1, ["writeBinary", Buffer.alloc(0)]),
    ...field("b", Ty.STRING, 2, ["writeBinary", Buffer.from([0xff])]),
    ...field("c", Ty.STRING, 3, ["writeBinary", Buffer.from([0xfb, 0xff])]),
    ...field("d", Ty.STRING, 4, ["writeBinary", Buffer.from([0, 1, 2])]),
    ...field("e", Ty.STRING, 5, ["writeBinary", Buffer.from([0xfa, 0, 1, 2])]),
    ...field("f", Ty.STRING, 6, [
      "writeBinary",
      Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
    ]),
    ...field("g", Ty.STRING, 7, ["writeBinary", "plain ascii"]),
  ]),
  "nested structs": message("n", MT.REPLY, [
    ...field("empty", Ty.STRUCT, 0, ...struct()),
    ...field(
      "outer",
      Ty.STRUCT,
      1,
      ...struct(
        field("x", Ty.I32, 1, i32(5)),
        field(
          "inner",
          Ty.STRUCT,
          2,
          ...struct(field("s", Ty.STRING, 1, str("deep")), field("e", Ty.STRUCT, 2, ...struct())),
        ),
        field("y", Ty.BOOL, 3, ["writeBool", false]),
      ),
    ),
    ...field("after", Ty.I32, 2, i32(1)),
  ]),
  "maps with every key type": message("m", MT.CALL, [
    ...field(
      "bool",
      Ty.MAP,
      1,
      ...map(Ty.BOOL, Ty.I32, [[["writeBool", false], i32(0)], [["writeBool", true], i32(1)]]),
    ),
    ...field(
      "byte",
      Ty.MAP,
      2,
      ...map(Ty.BYTE, Ty.STRING, [[["writeByte", 1], str("a")], [["writeByte", "127"], str("b")]]),
    ),
    ...field("i16", Ty.MAP, 3, ...map(Ty.I16, Ty.I16, [[["writeI16", -300], ["writeI16", 300]]])),
    ...field(
      "i32",
      Ty.MAP,
      4,
      ...map(Ty.I32, Ty.DOUBLE, [
        [i32("2"), ["writeDouble", 0.5]],
        [i32(2147483647), ["writeDouble", -1]],
      ]),
    ),
    ...field(
      "i64",
      Ty.MAP,
      5,
      ...map(Ty.I64, Ty.I64, [
        [["writeI64", "-5"], ["writeI64", new Int64(5)]],
        [["writeI64", "9007199254740993"], ["writeI64", new Int64("0x0020000000000001")]],
      ]),
    ),
    ...field(
      "double",
      Ty.MAP,
      6,
      ...map(Ty.DOUBLE, Ty.BOOL, [
        [["writeDouble", 1.5], ["writeBool", true]],
        [["writeDouble", "-2.5e-7"], ["writeBool", false]],
      ]),
    ),
    ...field(
      "string",
      Ty.MAP,
      7,
      ...map(Ty.STRING, Ty.STRING, [
        [str(""), str("empty")],
        [str('k "q" \\'), str("v")],
        [str("é𝄞"), str("")],
      ]),
    ),
    ...field(
      "binary",
      Ty.MAP,
      8,
      ...map(Ty.STRING, Ty.I32, [[["writeBinary", Buffer.from([1, 2, 3])], i32(3)]]),
    ),
    ...field("empty", Ty.MAP, 9, ...map(Ty.STRING, Ty.I64, [])),
  ]),
  "lists, sets and nested containers": message("c", MT.CALL, [
    ...field("ints", Ty.LIST, 1, ...list(Ty.I32, [i32(1), i32(-2), i32(3)])),
    ...field("empty", Ty.LIST, 2, ...list(Ty.STRING, [])),
    ...field("tags", Ty.SET, 3, ...list(Ty.STRING, [str("a"), str("b")], "Set")),
    ...field("bools", Ty.LIST, 4, ...list(Ty.BOOL, [["writeBool", true], ["writeBool", false]])),
    ...field("bytes", Ty.LIST, 5, ...list(Ty.BYTE, [["writeByte", -1]])),
    ...field("shorts", Ty.LIST, 6, ...list(Ty.I16, [["writeI16", 7]])),
    ...field("longs", Ty.LIST, 7, ...list(Ty.I64, [["writeI64", new Int64(1)], ["writeI64", 7]])),
    ...field("dbls", Ty.LIST, 8, ...list(Ty.DOUBLE, [["writeDouble", 1.25], ["writeDouble", 3]])),
    ...field("bins", Ty.LIST, 9, ...list(Ty.STRING, [["writeBinary", Buffer.from("hi")]])),
    ...field(
      "lists",
      Ty.LIST,
      10,
      ...list(Ty.LIST, [
        list(Ty.SET, [list(Ty.I32, [i32(1)], "Set"), list(Ty.I32, [], "Set")]),
        list(Ty.SET, []),
      ]),
    ),
    ...field(
      "maps",
      Ty.LIST,
      11,
      ...list(Ty.MAP, [
        map(Ty.STRING, Ty.LIST, [[str("k"), list(Ty.I32, [i32(9)])]]),
        map(Ty.I32, Ty.MAP, [[
          i32(1),
          map(Ty.I16, Ty.DOUBLE, [[["writeI16", 9], ["writeDouble", 2.5]]]),
        ]]),
      ]),
    ),
    ...field(
      "structs",
      Ty.LIST,
      12,
      ...list(Ty.STRUCT, [
        struct(field("x", Ty.I32, 1, i32(5)), field("y", Ty.BOOL, 3, ["writeBool", true])),
        struct(),
        struct(field("l", Ty.LIST, 1, ...list(Ty.STRUCT, [struct()]))),
      ]),
    ),
    ...field(
      "struct values",
      Ty.MAP,
      13,
      ...map(Ty.STRING, Ty.STRUCT, [[str("p"), struct(field("x", Ty.I32, 1, i32(1)))]]),
    ),
    ...field("after", Ty.I32, 14, i32(1)),
  ]),
  "a string longer than the buffer, escaped": message("long", MT.CALL, [
    ...field("s", Ty.STRING, 1, str("x".repeat(5000) + '"\\'.repeat(1000))),
  ]),
};

for (const type of [MT.CALL, MT.REPLY, MT.EXCEPTION, MT.ONEWAY]) {
  for (const seqid of [0, 1, 2147483647, -2147483648]) {
    cases[`message header type ${type}, sequence id ${seqid}`] = message(
      "Calc:add_it",
      type,
      field("a", Ty.I32, 1, i32(1)),
      seqid,
    );
  }
}

for (const [name, ops] of Object.entries(cases)) {
  test(`json: ${name} encodes as npm thrift does and decodes back`, () => {
    const mine = encodeOurs(ops);
    assert.equal(mine.toString(), encodeNpm(ops).toString());
    const read = decode(TJSONProtocol, mine, ops);
    ops.forEach(([m, arg], i) => {
      if (scalars.has(m)) assert.deepEqual(read[i], expected(m, arg), `${m} #${i}`);
    });
    assert.deepEqual(read, decode(NpmJSON, mine, ops));
  });
}

test("json: a framed message starts with its length", () => {
  const ops = cases["bools"]!;
  const framed = encodeOurs(ops, true);
  const plain = encodeNpm(ops);
  assert.equal(framed.readInt32BE(0), plain.length);
  assert.equal(framed.subarray(4).toString(), plain.toString());
});

test("json: skip() passes over every type, a uuid too", () => {
  const messages = Object.values(cases).map((ops) => encodeOurs(ops));
  messages.push(Buffer.from('[1,"u",2,1,{"1":{"uid":"00112233-4455-6677-8899-AABBCCDDEEFF"}}]'));
  for (const bytes of messages) {
    const buffer = new ReadBuffer();
    buffer.append(bytes);
    const p = new TJSONProtocol(buffer);
    p.readMessageBegin();
    p.skip(Ty.STRUCT);
    p.readMessageEnd();
    buffer.commit();
    assert.equal(buffer.pending, 0);
  }
  const buffer = new ReadBuffer();
  buffer.append(Buffer.from('"00112233-4455-6677-8899-aabbccddeeff"'));
  assert.equal(
    (new TJSONProtocol(buffer).readUuid() as Buffer).toString("hex"),
    "00112233445566778899aabbccddeeff",
  );
});

// ---- where npm's output is wrong: Apache's format ----

const one = (m: string, type: number, value: unknown): Op[] =>
  message("x", MT.CALL, field("v", type, 1, [m, value]));
const body = (bytes: Buffer): string => bytes.toString().slice('[1,"x",1,7,{"1":'.length, -2);

test('json: NaN is the string "NaN" as Apache writes it (npm writes bare NaN, not JSON)', () => {
  const ops = one("writeDouble", Ty.DOUBLE, NaN);
  assert.equal(body(encodeOurs(ops)), '{"dbl":"NaN"}');
  assert.equal(body(encodeNpm(ops)), '{"dbl":NaN}');
  assert.ok(Number.isNaN(decode(TJSONProtocol, encodeOurs(ops), ops)[3]));
  assert.ok(Number.isNaN(decode(NpmJSON, encodeOurs(ops), ops)[3]));
  assert.throws(() => decode(NpmJSON, encodeNpm(ops), ops), SyntaxError);
  const key = message(
    "x",
    MT.CALL,
    field("v", Ty.MAP, 1, ...map(Ty.DOUBLE, Ty.I32, [[["writeDouble", NaN], i32(1)]])),
  );
  assert.equal(body(encodeOurs(key)), '{"map":["dbl","i32",1,{"NaN":1}]}');
});

test("json: -0 keeps its sign (npm writes 0)", () => {
  const ops = one("writeDouble", Ty.DOUBLE, -0);
  assert.equal(body(encodeOurs(ops)), '{"dbl":-0}');
  assert.equal(body(encodeNpm(ops)), '{"dbl":0}');
  assert.ok(Object.is(decode(TJSONProtocol, encodeOurs(ops), ops)[3], -0));
  assert.ok(Object.is(decode(NpmJSON, encodeOurs(ops), ops)[3], -0));
});

test("json: a small negative Int64 is plain decimal (npm pads it: -000000000001)", () => {
  for (const n of [-1, -5, -99999999999]) {
    const mine = encodeOurs(one("writeI64", Ty.I64, new Int64(n)));
    assert.equal(body(mine), `{"i64":${n}}`);
    assert.equal(mine.toString(), encodeNpm(one("writeI64", Ty.I64, n)).toString());
    const padded = encodeNpm(one("writeI64", Ty.I64, new Int64(n)));
    assert.match(body(padded), /^\{"i64":-0\d{11}\}$/);
    // an npm peer sends the padded form: it reads as the same value
    const ops = one("writeI64", Ty.I64, n);
    assert.equal(decode(TJSONProtocol, padded, ops)[3], new Int64(n).toOctetString());
  }
});

test("json: control characters are escaped as \\u00XX, as Apache writes them (npm sends them raw)", () => {
  const text = "\u0000\u0001\u001f\u000b and \n";
  const ops = one("writeString", Ty.STRING, text);
  assert.equal(body(encodeOurs(ops)), '{"str":"\\u0000\\u0001\\u001f\\u000b and \\n"}');
  assert.equal(body(encodeNpm(ops)), `{"str":"\u0000\u0001\u001f\u000b and \\n"}`);
  for (const bytes of [encodeOurs(ops), encodeNpm(ops)]) {
    assert.equal(decode(TJSONProtocol, bytes, ops)[3], text);
    assert.equal(decode(NpmJSON, bytes, ops)[3], text);
  }
  // a long run grows the buffer while it is escaped
  const run = one("writeString", Ty.STRING, "\u0002".repeat(5000));
  assert.equal(body(encodeOurs(run)), `{"str":"${"\\u0002".repeat(5000)}"}`);
  assert.equal(decode(TJSONProtocol, encodeOurs(run), run)[3], "\u0002".repeat(5000));
  // a method name is escaped too (npm writes it as is)
  const named = encodeOurs(message('a"b', MT.CALL, []));
  assert.equal(named.toString(), '[1,"a\\"b",1,7,{}]');
});

test("json: lone surrogates are sent as U+FFFD, as npm does", () => {
  const ops = one("writeString", Ty.STRING, "a\ud800b\udc00c\udbff");
  const mine = encodeOurs(ops);
  assert.equal(mine.toString("hex"), encodeNpm(ops).toString("hex"));
  assert.equal(decode(TJSONProtocol, mine, ops)[3], "a\ufffdb\ufffdc\ufffd");
  assert.deepEqual(decode(TJSONProtocol, mine, ops), decode(NpmJSON, mine, ops));
});

test("json: a bare Uint8Array is its bytes in base64 (npm writes its toString(), 1,2,3)", () => {
  const backing = new Uint8Array([9, 9, 0xfb, 0xff, 0xfe, 0, 9]);
  for (const bytes of [new Uint8Array([1, 2, 3]), backing.subarray(2, 6), new Uint8Array(0)]) {
    const ops = one("writeBinary", Ty.STRING, bytes);
    const mine = encodeOurs(ops);
    assert.equal(
      mine.toString(),
      encodeNpm(one("writeBinary", Ty.STRING, Buffer.from(bytes))).toString(),
    );
    const read = decode(TJSONProtocol, mine, ops)[3] as Buffer;
    assert.ok(Buffer.isBuffer(read));
    assert.deepEqual([...read], [...bytes]);
  }
  assert.equal(
    body(encodeNpm(one("writeBinary", Ty.STRING, new Uint8Array([1, 2, 3])))),
    '{"str":"1,2,3"}',
  );
});

test("json: a string given as binary is sent as its UTF-8 bytes, as the binary protocol does", () => {
  const ops = one("writeBinary", Ty.STRING, "é€");
  assert.equal(body(encodeOurs(ops)), `{"str":"${Buffer.from("é€").toString("base64")}"}`);
  // npm sends it as latin1 ("binary"), which loses "€"
  assert.notEqual(body(encodeNpm(ops)), body(encodeOurs(ops)));
});

// ---- what other writers send, and what is read leniently ----

function reader(text: string | Uint8Array, max?: number): Any {
  const buffer = new ReadBuffer(max);
  buffer.append(typeof text === "string" ? Buffer.from(text) : text);
  return new TJSONProtocol(buffer);
}

function readBoth(text: string, read: (p: Any) => unknown): [unknown, unknown] {
  return [read(reader(text)), read(new NpmJSON(reader(text).getTransport()))];
}

test("json: specials, quoted numbers as map keys, escapes and unpadded base64 are read", () => {
  const doubles =
    '[1,"d",2,1,{"1":{"lst":["dbl",5,"NaN","Infinity","-Infinity",0.10000000000000001,1e+300]}}]';
  const readList = (p: Any) => {
    p.readMessageBegin();
    p.readStructBegin();
    p.readFieldBegin();
    const { size } = p.readListBegin();
    const values = Array.from({ length: size }, () => p.readDouble());
    p.readListEnd();
    return values;
  };
  const [ours, npm] = readBoth(doubles, readList);
  assert.deepEqual(ours, [NaN, Infinity, -Infinity, 0.1, 1e300]);
  assert.deepEqual(ours, npm);

  // C++ writes base64 without padding; a Python or Java peer may escape "/" as "\/"
  const strings = '[1,"s",2,1,{"1":{"str":"AQID"},"2":{"str":"AQ"},"3":{"str":"Pz8\\/"},' +
    '"4":{"str":"\\ud834\\udd1e \\u00e9\\/\\"\\\\\\b\\f\\n\\r\\t"},"5":{"str":"\u0001 raw"}}]';
  const readStrings = (p: Any) => {
    p.readMessageBegin();
    p.readStructBegin();
    const out: unknown[] = [];
    for (const kind of ["Binary", "Binary", "Binary", "String", "String"]) {
      p.readFieldBegin();
      out.push(p[`read${kind}`]());
      p.readFieldEnd();
    }
    return out;
  };
  const [s1, s2] = readBoth(strings, readStrings);
  assert.deepEqual(s1, [
    Buffer.from([1, 2, 3]),
    Buffer.from([1]),
    Buffer.from("???"),
    '𝄞 é/"\\\b\f\n\r\t',
    "\u0001 raw",
  ]);
  assert.deepEqual(s1, s2);

  // whitespace between values, as npm's reader takes it
  const spaced =
    ' [ 1 , "w" , 2 , 1 , { "1" : { "map" : [ "dbl" , "i64" , 1 , { "1.5" : -7 } ] } } ] ';
  const p = reader(spaced);
  p.readMessageBegin();
  p.readStructBegin();
  assert.deepEqual(p.readFieldBegin(), { fname: null, ftype: Ty.MAP, fid: 1 });
  assert.deepEqual(p.readMapBegin(), { ktype: Ty.DOUBLE, vtype: Ty.I64, size: 1 });
  assert.equal(p.readDouble(), 1.5);
  assert.equal(p.readI64().toNumber(), -7);
  p.readMapEnd();
  p.readFieldEnd();
  assert.equal(p.readFieldBegin().ftype, Ty.STOP);
  p.readStructEnd();
  p.readMessageEnd();
});

// ---- strict on write ----

test("json: wrong values are refused before any byte is sent, naming method, field and type", () => {
  const bad: [string, unknown[], RegExp, ErrorConstructor][] = [
    ["writeI32", ["abc"], /field "v" of "add" as i32: expected an integer/, TypeError],
    [
      "writeI32",
      [2 ** 31],
      /as i32: expected an integer in -2147483648\.\.2147483647, got 2147483648/,
      RangeError,
    ],
    ["writeI32", [1.5], /as i32/, RangeError],
    ["writeI16", [40000], /as i16/, RangeError],
    ["writeByte", [128], /as byte/, RangeError],
    ["writeI64", [2 ** 53], /as i64/, RangeError],
    ["writeI64", [2n ** 63n], /as i64/, RangeError],
    ["writeI64", ["0x5"], /as i64/, TypeError],
    [
      "writeI64",
      [null],
      /as i64: expected a safe integer, a bigint or an Int64, got null/,
      TypeError,
    ],
    [
      "writeDouble",
      [Infinity],
      /as double: expected a finite number or NaN, got Infinity/,
      RangeError,
    ],
    ["writeDouble", [-Infinity], /as double/, RangeError],
    ["writeDouble", ["1.0"], /as double/, TypeError],
    ["writeString", [5], /as string/, TypeError],
    ["writeString", [Buffer.from("x")], /as string: expected a string, got Buffer/, TypeError],
    [
      "writeBinary",
      [[1, 2]],
      /as binary: expected a Uint8Array, Buffer or string, got Array/,
      TypeError,
    ],
    ["writeBool", [1], /as bool/, TypeError],
    [
      "writeListBegin",
      [Ty.I32, -1],
      /field "v" of "add" as list: expected a size >= 0, got -1/,
      RangeError,
    ],
    ["writeMapBegin", [Ty.I32, Ty.I32, 2 ** 31], /as map/, RangeError],
    ["writeSetBegin", [Ty.I32, "x"], /as set/, TypeError],
    ["writeListBegin", [99, 1], /Cannot write Thrift type 99: unknown type/, TypeError],
    ["writeFieldBegin", ["w", Ty.I32, 40000], /field "w" of "add" as field id/, RangeError],
  ];
  for (const [method, args, pattern, Kind] of bad) {
    const sent: Uint8Array[] = [];
    const transport = new OutputTransport(
      framerFor({ protocol: "JSON", framed: false }),
      (bytes) => sent.push(bytes.slice()),
    );
    const p = new TJSONProtocol(transport) as Any;
    p.writeMessageBegin("Calc:add", MT.CALL, 1);
    p.writeStructBegin("args");
    p.writeFieldBegin("v", Ty.I32, 1);
    assert.throws(
      () => p[method](...args),
      (e: Error) => e instanceof Kind && pattern.test(e.message),
      `${method}(${args.map(String)})`,
    );
    transport.reset();
    assert.equal(sent.length, 0);
    // the transport is usable again, even by the same protocol: the next message is whole
    const ok = message("ok", MT.CALL, field("v", Ty.I32, 1, i32(1)));
    for (const [m, ...a] of ok) p[m](...a);
    transport.flush();
    assert.equal(Buffer.from(sent[0]!).toString(), encodeNpm(ok).toString());
  }
});

test("json: i64 accepts number, bigint, decimal string and Int64 alike", () => {
  const want = encodeNpm(one("writeI64", Ty.I64, new Int64("0x0020000000000001"))).toString();
  for (const v of [9007199254740993n, "9007199254740993", new Int64("0x0020000000000001")]) {
    assert.equal(encodeOurs(one("writeI64", Ty.I64, v)).toString(), want);
  }
  // an Int64 from another copy of node-int64: recognized by its shape
  const alike = { buffer: Buffer.from("ffffffffffffff00", "hex"), offset: 0 };
  assert.equal(body(encodeOurs(one("writeI64", Ty.I64, alike))), '{"i64":-256}');
  assert.equal(
    body(encodeOurs(one("writeI64", Ty.I64, -(2n ** 63n)))),
    '{"i64":-9223372036854775808}',
  );
});

// ---- strict on read ----

test("json: bad sizes, versions, types, numbers, escapes and base64 are protocol errors", () => {
  const bad: [string, RegExp][] = [
    ['[1,"x",2,1,{"1":{"lst":["i32",-1]}}]', /Invalid reply: list size -1 is negative/],
    [
      '[1,"x",2,1,{"1":{"lst":["i32",1000000000,1]}}]',
      /list size 1000000000 cannot fit in the 100 byte message limit/,
    ],
    ['[1,"x",2,1,{"1":{"set":["i32",-2]}}]', /set size -2 is negative/],
    ['[1,"x",2,1,{"1":{"map":["i32","i32",30,{}]}}]', /map size 30 cannot fit/],
    ['[1,"x",2,1,{"1":{"lst":["i32",99999999999]}}]', /list size 99999999999 is out of range/],
    ['[2,"x",2,1,{}]', /Invalid reply: JSON protocol version 2/],
    ['["1","x",2,1,{}]', /unexpected '"' at byte 1 of the JSON message: expected a number/],
    ["<html>", /unexpected "<" at byte 0 of the JSON message: expected "\["/],
    ['[1,"x",2,1,{"1":{"i33":1}}]', /JSON type "i33" is unknown/],
    ['[1,"x",2,1,{"1":{"i8":128}}]', /i8 128 is out of range/],
    ['[1,"x",2,1,{"1":{"i16":-32769}}]', /i16 -32769 is out of range/],
    ['[1,"x",2,1,{"1":{"i32":2147483648}}]', /i32 2147483648 is out of range/],
    ['[1,"x",2,1,{"1":{"i64":9223372036854775808}}]', /i64 9223372036854775808 is out of range/],
    ['[1,"x",2,1,{"1":{"i32":1.5}}]', /integer "1.5" is malformed/],
    ['[1,"x",2,1,{"1":{"i32":-}}]', /integer "-" is malformed/],
    [
      '[1,"x",2,1,{"1":{"i32":"5"}}]',
      /unexpected '"' at byte 23 of the JSON message: expected a number/,
    ],
    ['[1,"x",2,1,{1:{"i32":5}}]', /unexpected "1" at byte 12 of the JSON message: expected '"'/],
    ['[1,"x",2,1,{"1":{"dbl":1.5.5}}]', /double "1\.5\.5" is malformed/],
    ['[1,"x",2,1,{"1":{"dbl":"1.5"}}]', /double "1\.5" is quoted outside a map key/],
    ['[1,"x",2,1,{"1":{"map":["dbl","i32",1,{1.5:1}]}}]', /double "1\.5" is unquoted as a map key/],
    ['[1,"x",2,1,{"1":{"str":"\\x"}}]', /JSON escape "\\\\x" is unknown/],
    ['[1,"x",2,1,{"1":{"str":"\\u12g4"}}]', /JSON escape "\\\\u12g4" is malformed/],
    [
      '[1,"x",2,1,{"1":{"str":5}}]',
      /unexpected "5" at byte 23 of the JSON message: expected a string/,
    ],
    [
      '[1,"x",2,1,{"1":{"lst":["i32",1,1,2]}}]',
      /unexpected "," at byte 33 of the JSON message: expected "\]"/,
    ],
    ['[1,"x",2,1,{"1":{"lst":["i32",2,1]}}]', /unexpected "]" .*: expected ","/],
    ['[1,"x",2,1,{"1":{"tf":true}}]', /unexpected "t" .*: expected a number/],
    ['[1,"x",2,1,{"1":{"i32":1}]]', /unexpected "]" .*: expected ","/],
    ['[1,"x",2,1,{"1":{"uid":"0011"}}]', /uuid "0011" is malformed/],
  ];
  for (const [text, pattern] of bad) {
    const p = reader(text, 100);
    assert.throws(
      () => {
        p.readMessageBegin();
        p.skip(Ty.STRUCT);
        p.readMessageEnd();
      },
      (e: Error) => e instanceof ProtocolError && pattern.test(e.message),
      text,
    );
  }
  for (const b64 of ["A", "AB=", "A===", "AB$C", "AB=C", "-_8="]) {
    assert.throws(
      () => reader(`"${b64}"`).readBinary(),
      (e: Error) => e instanceof ProtocolError && /binary ".*" is not base64/.test(e.message),
      b64,
    );
  }
});

// ---- bytes that arrive in pieces ----

/** A message with one of everything: each case's fields in a struct of their own. */
const everything: Op[] = message(
  "all",
  MT.REPLY,
  Object.values(cases).slice(0, 10).flatMap((ops, k) =>
    field(`case ${k}`, Ty.STRUCT, k + 1, ...struct(ops.slice(2, -3)))
  ),
);

test("json: a message cut at any byte underruns; whole it reads as npm reads it", () => {
  const bytes = encodeOurs(everything);
  const whole = decode(TJSONProtocol, bytes, everything);
  assert.deepEqual(whole, decode(NpmJSON, bytes, everything));
  for (let cut = 0; cut < bytes.length; cut++) {
    const buffer = new ReadBuffer();
    buffer.append(bytes.subarray(0, cut));
    const p = new TJSONProtocol(buffer);
    assert.throws(
      () => {
        p.readMessageBegin();
        p.skip(Ty.STRUCT);
        p.readMessageEnd();
      },
      InputBufferUnderrunError,
      `cut at ${cut}`,
    );
  }
});

test("json: fed one byte at a time, each message is read once the scanner finds it whole", () => {
  const messages = [encodeOurs(cases["strings"]!), encodeOurs(cases["nested structs"]!)];
  const buffer = new ReadBuffer();
  const p = new TJSONProtocol(buffer);
  const scanner = newScanner("JSON");
  const read: [string, number][] = [];
  const all = Buffer.concat(messages);
  all.forEach((byte, at) => {
    buffer.append(new Uint8Array([byte]));
    const size = buffer.scan(scanner);
    if (size === NEED_MORE) return;
    scanner.reset();
    const { fname } = p.readMessageBegin();
    p.skip(Ty.STRUCT);
    p.readMessageEnd();
    assert.equal(buffer.consumed, size);
    buffer.commit();
    read.push([fname, at]);
  });
  assert.deepEqual(read, [["s", messages[0]!.length - 1], ["n", all.length - 1]]);
  assert.equal(buffer.pending, 0);
});

// ---- large ----

test("json: a list of 100,000 elements writes and reads back", () => {
  const n = 100_000;
  const ints = Array.from({ length: n }, (_, i) => i * 7 - 350_000);
  const strings = Array.from({ length: n }, (_, i) => `s${i}"`);
  const ops = message("big", MT.REPLY, [
    ...field("ints", Ty.LIST, 1, ...list(Ty.I32, ints.map(i32))),
    ...field("strings", Ty.LIST, 2, ...list(Ty.STRING, strings.map(str))),
  ]);
  const bytes = encodeOurs(ops);
  const text = bytes.toString();
  assert.equal(
    text,
    `[1,"big",2,7,{"1":{"lst":["i32",${n},${ints.join(",")}]},` +
      `"2":{"lst":["str",${n},${strings.map((s) => JSON.stringify(s)).join(",")}]}}]`,
  );
  const buffer = new ReadBuffer();
  buffer.append(bytes);
  const p = new TJSONProtocol(buffer);
  p.readMessageBegin();
  p.readStructBegin();
  p.readFieldBegin();
  const read: number[] = [];
  for (let i = 0, size = p.readListBegin().size; i < size; i++) read.push(p.readI32());
  p.readListEnd();
  p.readFieldEnd();
  p.readFieldBegin();
  const readStrings: string[] = [];
  for (let i = 0, size = p.readListBegin().size; i < size; i++) readStrings.push(p.readString());
  p.readListEnd();
  p.readFieldEnd();
  assert.equal(p.readFieldBegin().ftype, Ty.STOP);
  p.readStructEnd();
  p.readMessageEnd();
  assert.deepEqual(read, ints);
  assert.deepEqual(readStrings, strings);
});

// ---- through the public API, against npm's server ----

for (const framed of [false, true]) {
  test(`json: calls through ThriftClient to the npm server, ${framed ? "framed" : "buffered"}`, {
    timeout: 20_000,
  }, async () => {
    await using server = await startNpmServer({ protocol: "json", framed });
    const thrift = new ThriftClient(Calculator.Client, {
      transport: server.url,
      protocol: "json",
      framed,
    });
    await using conn = thrift.connect();
    const calc = conn.client as Any;
    assert.equal(await calc.add(-2147483648, 2147483647), -1);
    const text = 'quote " backslash \\ controls \u0001\n\t unicode é€ astral 𝄞 slash /';
    assert.equal(await calc.echoString(text), text);
    for (const v of ["0x7fffffffffffffff", "0x8000000000000000", "0x0020000000000001"]) {
      assert.equal((await calc.echoI64(new Int64(v))).toOctetString(), v.slice(2));
    }
    // the npm server answers -1 as -000000000001
    assert.equal((await calc.echoI64(new Int64(-1))).toNumber(), -1);
    assert.equal((await calc.echoI64(-5n)).toNumber(), -5);
    const bare = new Uint8Array([0, 1, 2, 0xfe, 0xff]);
    const echoed = await calc.echoBinary(bare);
    assert.ok(Buffer.isBuffer(echoed));
    assert.deepEqual([...echoed], [...bare]);
    assert.deepEqual([...await calc.echoBinary(new Uint8Array(0))], []);
    const nested = new types.Nested({
      name: 'n "1"',
      id: new Int64("0x7fffffffffffffff"),
      blob: new Uint8Array([7, 8, 9]).subarray(1) as Any, // a bare view, typed Buffer
      points: [new types.Point({ x: 1, y: -1 }), new types.Point({ x: 0, y: 0 })],
      counts: { a: 1, "b\n": -2 },
      tags: ["x", "y"],
      origin: new types.Point({ x: 5, y: 6 }),
    });
    const back = await calc.echoNested(nested);
    assert.equal(back.name, nested.name);
    assert.equal(back.id.toOctetString(), "7fffffffffffffff");
    assert.deepEqual([...back.blob], [8, 9]);
    assert.deepEqual(back.points.map((p: Any) => [p.x, p.y]), [[1, -1], [0, 0]]);
    assert.deepEqual(back.counts, { a: 1, "b\n": -2 });
    assert.deepEqual(back.tags, ["x", "y"]);
    assert.deepEqual([back.origin.x, back.origin.y], [5, 6]);
    await assert.rejects(
      calc.fail("no such"),
      (e: Any) => e instanceof types.NotFound && e.code === 404,
    );
    await assert.rejects(calc.crash(), (e: Error) => e instanceof lib.Thrift.TApplicationException);
    await calc.notify("hello");
    assert.deepEqual(await calc.notified(), ["hello"]);
    await assert.rejects(
      calc.add("abc", 2),
      (e: Error) => e instanceof TypeError && /field "a" of "add" as i32/.test(e.message),
    );
    assert.equal(await calc.add(1, 2), 3);
    assert.deepEqual(server.errors, []);
  });
}
