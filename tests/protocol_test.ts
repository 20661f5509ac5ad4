/**
 * Our binary and compact protocols against npm `thrift`'s own encoders: byte for byte on
 * write, the same values on read, and the checks npm does not make.
 *
 * Runs under `deno test -A tests/protocol_test.ts` and `bun test tests/protocol_test.ts`.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { test } from "node:test";
import thrift from "thrift";
import { TBinaryProtocol } from "../src/protocol/binary.ts";
import { TCompactProtocol } from "../src/protocol/compact.ts";
import { framerFor, OutputTransport } from "../src/protocol.ts";
import { ReadBuffer } from "../src/transport/read_buffer.ts";
import { InputBufferUnderrunError } from "../src/_thrift.ts";
import { ProtocolError } from "../src/errors.ts";
import { ThriftClient } from "../mod.ts";
import { Calculator } from "./helpers/calculator.ts";
import { startNpmServer } from "./helpers/npm_server.ts";
import { field, message, type Op, scalars } from "./helpers/protocol_ops.ts";

// deno-lint-ignore no-explicit-any
type Any = any;
const lib = thrift as Any;
const Int64 = lib.Int64;
const Ty = lib.Thrift.Type;
const MT = lib.Thrift.MessageType;

const ours = { binary: TBinaryProtocol, compact: TCompactProtocol } as Record<string, Any>;
const npms = { binary: lib.TBinaryProtocol, compact: lib.TCompactProtocol } as Record<string, Any>;

function encodeOurs(kind: string, ops: Op[], framed = false): Buffer {
  let out: Buffer | undefined;
  const transport = new OutputTransport(
    framerFor({ protocol: "BINARY", framed }),
    (bytes) => out = Buffer.from(bytes),
  );
  const p = new ours[kind](transport);
  for (const [m, ...args] of ops) p[m](...args);
  transport.flush();
  return out!;
}

function encodeNpm(kind: string, ops: Op[]): Buffer {
  const chunks: Buffer[] = [];
  const transport = {
    write: (b: Buffer) => chunks.push(Buffer.from(b)),
    flush() {},
    setCurrSeqId() {},
  };
  const p = new npms[kind](transport, false, true);
  for (const [m, ...args] of ops) p[m](...args);
  return Buffer.concat(chunks);
}

const readOf: Record<string, string> = {
  writeFieldStop: "readFieldBegin",
};

function decode(Class: Any, bytes: Uint8Array, ops: Op[]): unknown[] {
  const buffer = new ReadBuffer();
  buffer.append(bytes);
  const p = new Class(buffer);
  const values: unknown[] = [];
  for (const [m] of ops) {
    const r = readOf[m] ?? m.replace(/^write/, "read");
    const v = p[r]();
    values.push(v instanceof Int64 ? v.toOctetString() : v);
  }
  return values;
}

const cases: Record<string, Op[]> = {
  "bools": message("b", MT.CALL, [
    ...field("t", Ty.BOOL, 1, ["writeBool", true]),
    ...field("f", Ty.BOOL, 2, ["writeBool", false]),
    ...field("far", Ty.BOOL, 40, ["writeBool", true]),
  ]),
  "bytes and ints": message("ints", MT.CALL, [
    ...field("b1", Ty.BYTE, 1, ["writeByte", -128]),
    ...field("b2", Ty.BYTE, 2, ["writeByte", 127]),
    ...field("s1", Ty.I16, 3, ["writeI16", -32768]),
    ...field("s2", Ty.I16, 4, ["writeI16", 32767]),
    ...field("i1", Ty.I32, 5, ["writeI32", -2147483648]),
    ...field("i2", Ty.I32, 6, ["writeI32", 2147483647]),
    ...field("i3", Ty.I32, 7, ["writeI32", 0]),
    ...field("i4", Ty.I32, 8, ["writeI32", -1]),
    ...field("i5", Ty.I32, 9, ["writeI32", 300]),
  ]),
  "i64": message("longs", MT.CALL, [
    ...field("a", Ty.I64, 1, ["writeI64", new Int64(0)]),
    ...field("b", Ty.I64, 2, ["writeI64", new Int64(-1)]),
    ...field("c", Ty.I64, 3, ["writeI64", new Int64("0x0020000000000001")]),
    ...field("d", Ty.I64, 4, ["writeI64", new Int64("0x7fffffffffffffff")]),
    ...field("e", Ty.I64, 5, ["writeI64", new Int64("0x8000000000000000")]),
    ...field("f", Ty.I64, 6, ["writeI64", new Int64(-5)]),
    ...field("g", Ty.I64, 7, ["writeI64", new Int64(4294967296)]),
    ...field("h", Ty.I64, 8, ["writeI64", new Int64(-4294967297)]),
    ...field("i", Ty.I64, 9, ["writeI64", new Int64(123456789012)]),
  ]),
  "doubles": message("d", MT.CALL, [
    ...field("a", Ty.DOUBLE, 1, ["writeDouble", 1.5]),
    ...field("c", Ty.DOUBLE, 3, ["writeDouble", NaN]),
    ...field("d", Ty.DOUBLE, 4, ["writeDouble", Number.MAX_VALUE]),
    ...field("e", Ty.DOUBLE, 5, ["writeDouble", -5e-324]),
  ]),
  "strings and binary": message("s", MT.ONEWAY, [
    ...field("a", Ty.STRING, 1, ["writeString", ""]),
    ...field("b", Ty.STRING, 2, ["writeString", "héllo ☃ 𝄞"]),
    ...field("c", Ty.STRING, 3, ["writeString", "x".repeat(200)]),
    ...field("d", Ty.STRING, 4, ["writeString", "€".repeat(50)]),
    ...field("e", Ty.STRING, 5, ["writeBinary", Buffer.from([0, 1, 255])]),
    ...field("f", Ty.STRING, 6, ["writeBinary", Buffer.alloc(0)]),
  ]),
  "containers": message("c", MT.CALL, [
    ...field(
      "l",
      Ty.LIST,
      1,
      ["writeListBegin", Ty.I32, 3],
      ["writeI32", 1],
      ["writeI32", -2],
      ["writeI32", 3],
      ["writeListEnd"],
    ),
    ...field(
      "big",
      Ty.LIST,
      2,
      ["writeListBegin", Ty.BOOL, 20],
      ...Array.from({ length: 20 }, (_, i): Op => ["writeBool", i % 3 === 0]),
      ["writeListEnd"],
    ),
    ...field(
      "nested",
      Ty.LIST,
      3,
      ["writeListBegin", Ty.SET, 1],
      ["writeSetBegin", Ty.STRING, 2],
      ["writeString", "a"],
      ["writeString", "b"],
      ["writeSetEnd"],
      ["writeListEnd"],
    ),
    ...field("empty", Ty.MAP, 4, ["writeMapBegin", Ty.STRING, Ty.I64, 0], ["writeMapEnd"]),
    ...field(
      "m",
      Ty.MAP,
      5,
      ["writeMapBegin", Ty.STRING, Ty.MAP, 1],
      ["writeString", "k"],
      ["writeMapBegin", Ty.I16, Ty.DOUBLE, 1],
      ["writeI16", 9],
      ["writeDouble", 2.5],
      ["writeMapEnd"],
      ["writeMapEnd"],
    ),
    ...field(
      "structs",
      Ty.LIST,
      6,
      ["writeListBegin", Ty.STRUCT, 1],
      ["writeStructBegin", "Inner"],
      ...field("x", Ty.I32, 20, ["writeI32", 5]),
      ...field("y", Ty.BOOL, 3, ["writeBool", true]),
      ["writeFieldStop"],
      ["writeStructEnd"],
      ["writeListEnd"],
    ),
    // after the nested struct, ids continue from the outer struct's last id (compact deltas)
    ...field("after", Ty.I32, 7, ["writeI32", 1]),
    ...field("jump", Ty.I32, 300, ["writeI32", 2]),
    ...field("back", Ty.I32, 299, ["writeI32", 3]),
  ]),
};

for (const kind of ["binary", "compact"]) {
  for (const [name, ops] of Object.entries(cases)) {
    test(`${kind}: ${name} encodes as npm thrift does and decodes back`, () => {
      const mine = encodeOurs(kind, ops);
      const theirs = encodeNpm(kind, ops);
      assert.equal(mine.toString("hex"), theirs.toString("hex"));
      const read = decode(ours[kind], mine, ops);
      ops.forEach(([m, arg], i) => {
        if (!scalars.has(m)) return;
        const want = arg instanceof Int64 ? (arg as Any).toOctetString() : arg;
        assert.deepEqual(read[i], want, `${m} #${i}`);
      });
      // npm's compact readBool expects readByte() to return { value }, so over a ReadBuffer it
      // reads every bool inside a container as false: compare the rest only
      if (kind === "compact" && name === "containers") return;
      assert.deepEqual(read, decode(npms[kind], mine, ops));
    });
  }

  test(`${kind}: map keys the generated code passes as strings are written as numbers`, () => {
    const keys: [string, unknown, string][] = [
      ["writeI32", "12", "12"],
      ["writeI32", "-7", "-7"],
      ["writeI16", "300", "300"],
      ["writeDouble", "1.5", "1.5"],
      ["writeI64", "9007199254740993", "9007199254740993"], // beyond 2^53: exact
    ];
    for (const [m, text, number] of keys) {
      const value = m === "writeI64" ? BigInt(number) : Number(number);
      const asText = encodeOurs(kind, message("x", MT.CALL, field("v", Ty.I32, 1, [m, text])));
      const asNumber = encodeOurs(kind, message("x", MT.CALL, field("v", Ty.I32, 1, [m, value])));
      assert.equal(asText.toString("hex"), asNumber.toString("hex"), `${m}(${text})`);
    }
  });

  test(`${kind}: i64 accepts number, bigint and Int64 alike`, () => {
    for (const [n, big] of [[-5, -5n], [2 ** 53 - 1, 2n ** 53n - 1n], [-(2 ** 40), -(2n ** 40n)]]) {
      const a = encodeOurs(kind, message("x", MT.CALL, field("v", Ty.I64, 1, ["writeI64", n])));
      const b = encodeOurs(kind, message("x", MT.CALL, field("v", Ty.I64, 1, ["writeI64", big])));
      const c = encodeNpm(
        kind,
        message("x", MT.CALL, field("v", Ty.I64, 1, ["writeI64", new Int64(n)])),
      );
      assert.equal(a.toString("hex"), c.toString("hex"));
      assert.equal(b.toString("hex"), c.toString("hex"));
    }
    const huge = encodeOurs(
      kind,
      message("x", MT.CALL, field("v", Ty.I64, 1, ["writeI64", -(2n ** 63n)])),
    );
    const npmHuge = encodeNpm(
      kind,
      message("x", MT.CALL, field("v", Ty.I64, 1, ["writeI64", new Int64("0x8000000000000000")])),
    );
    assert.equal(huge.toString("hex"), npmHuge.toString("hex"));
    // an Int64 look-alike from another copy of node-int64: recognized by shape
    const alike = { buffer: Buffer.from("00000000000000ff", "hex"), offset: 0 };
    const d = encodeOurs(kind, message("x", MT.CALL, field("v", Ty.I64, 1, ["writeI64", alike])));
    const e = encodeNpm(
      kind,
      message("x", MT.CALL, field("v", Ty.I64, 1, ["writeI64", new Int64(255)])),
    );
    assert.equal(d.toString("hex"), e.toString("hex"));
  });

  test(`${kind}: -0 keeps its sign bit (npm thrift writes +0)`, () => {
    const bytes = encodeOurs(
      kind,
      message("x", MT.CALL, field("v", Ty.DOUBLE, 1, ["writeDouble", -0])),
    );
    const values = decode(
      ours[kind],
      bytes,
      message("x", MT.CALL, field("v", Ty.DOUBLE, 1, ["writeDouble", 0])),
    );
    assert.ok(Object.is(values[3], -0));
  });

  test(`${kind}: a framed message starts with its length`, () => {
    const ops = message("x", MT.CALL, field("v", Ty.I32, 1, ["writeI32", 1]));
    const framed = encodeOurs(kind, ops, true);
    const plain = encodeNpm(kind, ops);
    assert.equal(framed.readInt32BE(0), plain.length);
    assert.equal(framed.subarray(4).toString("hex"), plain.toString("hex"));
  });

  test(`${kind}: wrong values are refused before any byte is sent, naming method, field and type`, () => {
    const bad: [string, unknown, RegExp, ErrorConstructor][] = [
      ["writeI32", "abc", /field "v" of "add" as i32: expected an integer/, TypeError],
      [
        "writeI32",
        2 ** 31,
        /as i32: expected an integer in -2147483648\.\.2147483647, got 2147483648/,
        RangeError,
      ],
      ["writeI32", 1.5, /as i32/, RangeError],
      ["writeI16", 40000, /as i16/, RangeError],
      ["writeByte", 128, /as byte/, RangeError],
      ["writeI64", 2 ** 53, /as i64/, RangeError],
      ["writeI64", 2n ** 63n, /as i64/, RangeError],
      ["writeI64", "0x5", /as i64/, TypeError],
      [
        "writeI64",
        null,
        /as i64: expected a safe integer, a bigint or an Int64, got null/,
        TypeError,
      ],
      ["writeDouble", Infinity, /as double/, RangeError],
      ["writeDouble", "1.0", /as double/, TypeError],
      ["writeString", 5, /as string/, TypeError],
      [
        "writeBinary",
        [1, 2],
        /as binary: expected a Uint8Array, Buffer or string, got Array/,
        TypeError,
      ],
      ["writeBool", 1, /as bool/, TypeError],
    ];
    for (const [method, value, pattern, Kind] of bad) {
      const sent: Uint8Array[] = [];
      const transport = new OutputTransport(
        framerFor({ protocol: "BINARY", framed: false }),
        (bytes) => sent.push(bytes.slice()),
      );
      const p = new ours[kind](transport);
      p.writeMessageBegin("Calc:add", MT.CALL, 1);
      p.writeStructBegin("args");
      p.writeFieldBegin("v", Ty.I32, 1);
      assert.throws(
        () => p[method](value),
        (e: Error) => e instanceof Kind && pattern.test(e.message),
        `${method}(${String(value)})`,
      );
      transport.reset();
      assert.equal(sent.length, 0);
      // the transport is usable again: the next message is whole and alone
      const q = new ours[kind](transport);
      for (const [m, ...args] of message("ok", MT.CALL, field("v", Ty.I32, 1, ["writeI32", 1]))) {
        q[m](...args);
      }
      transport.flush();
      assert.equal(
        Buffer.from(sent[0]!).toString("hex"),
        encodeNpm(kind, message("ok", MT.CALL, field("v", Ty.I32, 1, ["writeI32", 1]))).toString(
          "hex",
        ),
      );
    }
  });

  test(`${kind}: binary takes any Uint8Array and strings; reads give a fresh Buffer`, () => {
    const ops = message(
      "x",
      MT.CALL,
      field("v", Ty.STRING, 1, ["writeBinary", new Uint8Array([1, 2, 3])]),
    );
    const mine = encodeOurs(kind, ops);
    assert.equal(
      mine.toString("hex"),
      encodeNpm(
        kind,
        message("x", MT.CALL, field("v", Ty.STRING, 1, ["writeBinary", Buffer.from([1, 2, 3])])),
      ).toString("hex"),
    );
    const values = decode(ours[kind], mine, ops);
    const bin = values[3] as Buffer;
    assert.ok(Buffer.isBuffer(bin));
    assert.deepEqual([...bin], [1, 2, 3]);
  });

  test(`${kind}: a truncated message underruns, so the connection waits for more`, () => {
    const ops = cases["containers"]!;
    const bytes = encodeOurs(kind, ops);
    for (const cut of [1, 5, bytes.length - 1]) {
      const buffer = new ReadBuffer();
      buffer.append(bytes.subarray(0, cut));
      const p = new ours[kind](buffer);
      assert.throws(() => {
        p.readMessageBegin();
        p.skip(Ty.STRUCT);
      }, InputBufferUnderrunError);
    }
  });

  test(`${kind}: skip() passes over every type`, () => {
    for (const ops of Object.values(cases)) {
      const buffer = new ReadBuffer();
      buffer.append(encodeOurs(kind, ops));
      const p = new ours[kind](buffer);
      p.readMessageBegin();
      p.skip(Ty.STRUCT);
      p.readMessageEnd();
      buffer.commit();
      assert.equal(buffer.pending, 0);
    }
  });
}

function readerOver(kind: string, bytes: number[], max = 100): Any {
  const buffer = new ReadBuffer(max);
  buffer.append(new Uint8Array(bytes));
  return new ours[kind](buffer);
}

test("binary: negative and oversized sizes are protocol errors at once", () => {
  assert.throws(
    () => readerOver("binary", [8, 0xff, 0xff, 0xff, 0xff]).readListBegin(),
    (e: Error) => e instanceof ProtocolError && /list size -1 is negative/.test(e.message),
  );
  assert.throws(
    () => readerOver("binary", [8, 0x3b, 0x9a, 0xca, 0x00]).readListBegin(),
    (e: Error) =>
      e instanceof ProtocolError &&
      /list size 1000000000 cannot fit in the 100 byte/.test(e.message),
  );
  assert.throws(() => readerOver("binary", [11, 8, 0, 0, 0, 60]).readMapBegin(), ProtocolError);
  assert.throws(() => readerOver("binary", [0, 0, 0, 101]).readString(), ProtocolError);
  assert.throws(() => readerOver("binary", [0xff, 0xff, 0xff, 0xfe]).readBinary(), ProtocolError);
  assert.throws(
    () => readerOver("binary", [0, 0, 0, 1, 0x61]).readMessageBegin(),
    /no binary protocol version/,
  );
  assert.throws(
    () => readerOver("binary", [0x80, 0x02, 0, 1]).readMessageBegin(),
    /version 0x80020001/,
  );
});

test("compact: negative and oversized sizes are protocol errors at once", () => {
  assert.throws(
    () => readerOver("compact", [0xf5, 0xff, 0xff, 0xff, 0xff, 0x0f]).readListBegin(),
    (e: Error) => e instanceof ProtocolError && /list size -1 is negative/.test(e.message),
  );
  assert.throws(
    () => readerOver("compact", [0xf5, 0x80, 0x94, 0xeb, 0xdc, 0x03]).readListBegin(),
    /list size 1000000000 cannot fit/,
  );
  assert.throws(() => readerOver("compact", [60, 0x55]).readMapBegin(), ProtocolError);
  assert.throws(() => readerOver("compact", [101]).readString(), ProtocolError);
  assert.throws(
    () => readerOver("compact", [0x81, 0x21]).readMessageBegin(),
    /compact protocol id 0x81/,
  );
  assert.throws(
    () => readerOver("compact", [0x82, 0x22]).readMessageBegin(),
    /compact protocol version 2/,
  );
});

test("the output buffer is reused across messages and grows for a large one", () => {
  const views: Uint8Array[] = [];
  const transport = new OutputTransport(
    framerFor({ protocol: "BINARY", framed: true }),
    (bytes) => views.push(bytes),
  );
  const p = new TBinaryProtocol(transport) as Any;
  for (const [m, ...args] of message("a", MT.CALL, field("v", Ty.I32, 1, ["writeI32", 1]))) {
    p[m](...args);
  }
  transport.flush();
  for (
    const [m, ...args] of message(
      "b",
      MT.CALL,
      field("v", Ty.STRING, 1, ["writeString", "z".repeat(5000)]),
    )
  ) p[m](...args);
  transport.flush();
  for (const [m, ...args] of message("c", MT.CALL, field("v", Ty.I32, 1, ["writeI32", 1]))) {
    p[m](...args);
  }
  transport.flush();
  assert.equal(views[0]!.buffer, views[0]!.buffer);
  assert.equal(
    views[1]!.length,
    4 +
      encodeNpm(
        "binary",
        message("b", MT.CALL, field("v", Ty.STRING, 1, ["writeString", "z".repeat(5000)])),
      ).length,
  );
  assert.equal(views[2]!.buffer, views[1]!.buffer, "same buffer after growing");
});

for (const protocol of ["binary", "compact"] as const) {
  test(
    `${protocol}: a wrong argument rejects the call before sending; the connection stays usable`,
    {
      timeout: 20_000,
    },
    async () => {
      await using server = await startNpmServer({ protocol, framed: true });
      const thrift = new ThriftClient(Calculator.Client, {
        transport: server.url,
        protocol,
        framed: true,
      });
      await using conn = thrift.connect();
      const calc = conn.client as Any;
      await assert.rejects(
        calc.add("abc", 2),
        (e: Error) => e instanceof TypeError && /field "a" of "add" as i32/.test(e.message),
      );
      await assert.rejects(calc.add(2 ** 31, 2), RangeError);
      assert.equal(await calc.add(1, 2), 3);
      const big = new Int64("0x0020000000000001");
      assert.equal((await calc.echoI64(big)).toOctetString(), "0020000000000001");
      assert.equal((await calc.echoI64(-5n)).toNumber(), -5);
    },
  );
}
