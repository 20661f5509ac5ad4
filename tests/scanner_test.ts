/**
 * The resumable message scanner: on messages written by npm `thrift`'s own encoders, it finds
 * each message's end whatever the chunking, keeps its place across chunks (the bytes may
 * move between calls), applies the size limit as bytes arrive, and hands what it cannot make
 * sense of to the reader. End to end: a large reply trickled in small pieces, and large
 * values that keep the read buffer's bytes. (That it is linear is the benchmark's to show.)
 *
 * Runs under `deno test -A tests/scanner_test.ts` and `bun test tests/scanner_test.ts`.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { describe, it, test } from "node:test";
import thrift from "thrift";
import { NEED_MORE, newScanner, TOO_LARGE } from "../src/protocol/scanner.ts";
import { ThriftClient, ThriftClientError } from "../mod.ts";
import { Calculator, types } from "./helpers/calculator.ts";
import { startNpmServer } from "./helpers/npm_server.ts";
import { rawServer } from "./helpers/raw_server.ts";

// deno-lint-ignore no-explicit-any
type Any = any;
const lib = thrift as Any;
const Ty = lib.Thrift.Type;
const MT = lib.Thrift.MessageType;
const Int64 = lib.Int64;
const T = { timeout: 60_000 };

const encoders: Record<string, Any> = {
  BINARY: lib.TBinaryProtocol,
  COMPACT: lib.TCompactProtocol,
  JSON: lib.TJSONProtocol,
};

/** Encodes a reply to `echoNested` carrying `nested`, with npm's encoder for `protocol`. */
function nestedReply(protocol: string, nested: unknown, seqid = 1): Buffer {
  const chunks: Buffer[] = [];
  const transport = {
    write: (b: Buffer | string) => chunks.push(Buffer.from(b)),
    flush() {},
    setCurrSeqId() {},
  };
  const p = new encoders[protocol](transport, false, true);
  p.writeMessageBegin("echoNested", MT.REPLY, seqid);
  p.writeStructBegin("result");
  p.writeFieldBegin("success", Ty.STRUCT, 0);
  (nested as Any).write(p);
  p.writeFieldEnd();
  p.writeFieldStop();
  p.writeStructEnd();
  p.writeMessageEnd();
  p.flush?.();
  return Buffer.concat(chunks);
}

/** Every wire type: scalars, nested containers, empty ones, an absent optional, unicode. */
function sample(points = 3): unknown {
  return new types.Nested({
    name: 'a "name" with [brackets] {and} \\ escapes ☃ 𝄞',
    id: new Int64("0x7fffffffffffffff"),
    blob: Buffer.from([0, 0x80, 0xff, 0x5b, 0x5d, 0x22]),
    points: Array.from({ length: points }, (_, i) => new types.Point({ x: i, y: -i * 1000 })),
    counts: { "": 0, "one": 1, "big": 2 ** 31 - 1, "neg": -(2 ** 31) },
    tags: ["x", "]", "}"],
  });
}

const empty = () => new types.Nested({ name: "", id: new Int64(0), points: [], tags: [] });

/** Scans `bytes` fed as growing prefixes, each placed at a new offset (the buffer moves). */
function scanGrowing(protocol: string, bytes: Uint8Array, steps: number[]): number[] {
  const scanner = newScanner(protocol as Any);
  return steps.map((end, i) => {
    const offset = i % 3;
    const window = new Uint8Array(offset + end);
    window.set(bytes.subarray(0, end), offset);
    return scanner.scan(window, offset, offset + end, 1 << 24);
  });
}

for (const protocol of ["BINARY", "COMPACT", "JSON"]) {
  describe(`scanner, ${protocol}`, () => {
    it("finds the end of a whole message, and of the first of two", () => {
      for (const nested of [sample(), empty(), sample(40)]) {
        const bytes = nestedReply(protocol, nested);
        assert.equal(
          newScanner(protocol as Any).scan(bytes, 0, bytes.length, 1 << 24),
          bytes.length,
        );
        const two = Buffer.concat([bytes, nestedReply(protocol, nested, 2)]);
        assert.equal(newScanner(protocol as Any).scan(two, 0, two.length, 1 << 24), bytes.length);
      }
    });

    it("keeps its place byte by byte, wherever the bytes sit", () => {
      const bytes = nestedReply(protocol, sample());
      const steps = Array.from({ length: bytes.length }, (_, i) => i + 1);
      const results = scanGrowing(protocol, bytes, steps);
      assert.deepEqual(results.slice(0, -1), new Array(bytes.length - 1).fill(NEED_MORE));
      assert.equal(results.at(-1), bytes.length);
    });

    it("finds the end from any two pieces", () => {
      const bytes = nestedReply(protocol, sample(5));
      for (let cut = 1; cut < bytes.length; cut++) {
        assert.deepEqual(scanGrowing(protocol, bytes, [cut, bytes.length]), [
          NEED_MORE,
          bytes.length,
        ]);
      }
    });

    it("says a message is too large as soon as it must exceed the limit", () => {
      const bytes = nestedReply(protocol, sample(20));
      const limit = bytes.length - 1;
      const scanner = newScanner(protocol as Any);
      assert.equal(scanner.scan(bytes, 0, bytes.length >> 1, limit), NEED_MORE);
      assert.equal(scanner.scan(bytes, 0, limit, limit), TOO_LARGE);
      // a large value announced: too large before its bytes arrive (JSON: once they do)
      const blob = new types.Nested({ name: "n".repeat(100), blob: Buffer.alloc(1000) });
      const big = nestedReply(protocol, blob);
      const early = newScanner(protocol as Any).scan(big, 0, 150, 1010);
      assert.equal(early, protocol === "JSON" ? NEED_MORE : TOO_LARGE);
    });

    it("hands bytes that are not a message to the reader at once", () => {
      const garbage = new TextEncoder().encode(
        protocol === "JSON" ? "HTTP/1.1 400" : "\x00\x00\x01\x00garbage",
      );
      assert.equal(
        newScanner(protocol as Any).scan(garbage, 0, garbage.length, 1 << 24),
        garbage.length,
      );
    });
  });
}

test("binary: a string size beyond the limit goes to the reader before its bytes arrive", () => {
  const bytes = nestedReply("BINARY", sample());
  const scanner = newScanner("BINARY");
  // the header is whole, the first field's string header announces more than the limit:
  // the reader gets the bytes within the limit (and refuses the size)
  assert.equal(scanner.scan(bytes, 0, 40, 34), 34);
});

test(
  "a reply trickled in 1 KiB pieces is read once: 350,000 points within a short timeout",
  T,
  async () => {
    const nested = sample(350_000);
    await using server = await rawServer((socket, chunk) => {
      const seqid = Buffer.from(chunk).readInt32BE(8 + Buffer.from(chunk).readInt32BE(4));
      const reply = nestedReply("BINARY", nested, seqid);
      let at = 0;
      const next = () => {
        if (at >= reply.length || socket.destroyed) return;
        socket.write(reply.subarray(at, at += 1024), next);
      };
      next();
    });
    const thrift = new ThriftClient(Calculator.Client, {
      transport: server.url,
      timeout: 20_000,
    });
    const got = await thrift.client.echoNested(new types.Nested({ name: "" }));
    assert.equal(got.points?.length, 350_000);
    assert.deepEqual(got.points?.at(-1), new types.Point({ x: 349_999, y: -349_999_000 }));
    assert.equal(got.name, (sample() as Any).name);
    await thrift.close();
  },
);

test("large binary replies keep their bytes while later replies arrive", T, async () => {
  for (const protocol of ["binary", "compact", "json"] as const) {
    for (const framed of [false, true]) {
      await using server = await startNpmServer({ protocol, framed });
      const thrift = new ThriftClient(Calculator.Client, {
        transport: server.url,
        protocol,
        framed,
      });
      using conn = thrift.connect();
      const values = [1, 2, 3, 4].map((n) => Buffer.alloc(100_000 * n, n));
      const replies = await Promise.all(values.map((v) => conn.client.echoBinary(v)));
      const again = await conn.client.echoBinary(Buffer.alloc(70_000, 9));
      replies.forEach((reply, i) =>
        assert.ok(Buffer.from(reply).equals(values[i]!), `${protocol} #${i}`)
      );
      assert.ok(Buffer.from(again).equals(Buffer.alloc(70_000, 9)));
      await thrift.close();
    }
  }
});

test("a bad size in an unframed reply fails the call at once, not at its timeout", T, async () => {
  // a reply to add(): header, then field 0 as a list of i32 whose size is 1e9, then -1
  const header = [0x80, 1, 0, 2, 0, 0, 0, 3, 0x61, 0x64, 0x64, 0, 0, 0, 1, 15, 0, 0, 8];
  for (const [size, message] of [[1e9, /list size 1000000000 cannot fit/], [-1, /negative/]]) {
    const sizeBytes = Buffer.alloc(4);
    sizeBytes.writeInt32BE(size as number);
    await using server = await rawServer((socket) => {
      socket.write(new Uint8Array([...header, ...sizeBytes]));
    });
    const thrift = new ThriftClient(Calculator.Client, { transport: server.url, timeout: 20_000 });
    const started = Date.now();
    await assert.rejects(thrift.client.add(1, 2), message as RegExp);
    assert.ok(Date.now() - started < 5_000);
    await thrift.close();
  }
});

/** A repeatable random number generator in [0, 1): the same mutations on every run. */
function seeded(seed: number): () => number {
  return () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

test("mutated messages: the scanner always answers sanely, whole or byte by byte", () => {
  const random = seeded(7);
  for (const protocol of ["BINARY", "COMPACT", "JSON"]) {
    const valid = nestedReply(protocol, sample(4));
    for (let round = 0; round < 300; round++) {
      const bytes = Uint8Array.from(valid);
      for (let n = 1 + Math.floor(random() * 4); n > 0; n--) {
        bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      }
      const limit = 64 + Math.floor(random() * 2 * bytes.length);
      const whole = newScanner(protocol as Any).scan(bytes, 0, bytes.length, limit);
      assert.ok(
        whole === NEED_MORE || whole === TOO_LARGE || (whole >= 1 && whole <= bytes.length),
      );
      // fed a byte at a time it answers at the byte that decides, as the whole scan does
      const scanner = newScanner(protocol as Any);
      let got = NEED_MORE, end = 0;
      while (got === NEED_MORE && end < bytes.length) got = scanner.scan(bytes, 0, ++end, limit);
      if (got === NEED_MORE || got === TOO_LARGE) {
        assert.equal(whole, got, `${protocol} ${round} ${end}`);
      } else {
        assert.equal(got, end, protocol);
        // or both hand the bytes to the reader (invalid), each with the bytes it had
        const handoff = Math.min(bytes.length, limit);
        assert.ok(whole === got || whole === handoff, `${protocol}: ${got} vs ${whole}`);
      }
    }
  }
});

test(
  "mutated replies from a server: every call settles, with a result or a clear error",
  T,
  async () => {
    const random = seeded(11);
    for (const protocol of ["BINARY", "COMPACT", "JSON"]) {
      const valid = nestedReply(protocol, sample(3));
      for (let round = 0; round < 20; round++) {
        const bytes = Uint8Array.from(valid);
        bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
        await using server = await rawServer((socket) => socket.write(bytes));
        const thrift = new ThriftClient(Calculator.Client, {
          transport: server.url,
          protocol,
          timeout: 300,
          maxMessageSize: 4096,
        });
        const outcome = await thrift.client.echoNested(new types.Nested({ name: "" })).then(
          () => "result",
          (error) => error,
        );
        assert.ok(outcome === "result" || outcome instanceof ThriftClientError, String(outcome));
        await thrift.close();
      }
    }
  },
);
