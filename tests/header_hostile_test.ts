import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ProtocolError, ThriftClient } from "../mod.ts";
import { Calculator } from "./helpers/calculator.ts";
import { withoutFdLeak } from "./helpers/fds.ts";
import {
  binaryReply,
  type FrameParts,
  headerFrame,
  parseRequest,
  type RequestFrame,
  varint,
} from "./helpers/header_frames.ts";
import { rawServer } from "./helpers/raw_server.ts";
import { until } from "./helpers/within.ts";

const T = { timeout: 30_000 };

/** A raw server answering each THeader request with `answer(request)`; it records them. */
async function answering(answer: (request: RequestFrame) => Uint8Array) {
  const requests: RequestFrame[] = [];
  const server = await rawServer((socket, chunk) => {
    const request = parseRequest(chunk);
    requests.push(request);
    socket.write(answer(request));
  });
  return Object.assign(server, { requests });
}

/** The well-formed answer to an `echoString` request, with some of its parts replaced. */
function reply(request: RequestFrame, parts: Partial<FrameParts> = {}): Uint8Array {
  return headerFrame({
    seqid: request.seqid,
    payload: binaryReply("echoString", request.messageSeqid, "hi"),
    ...parts,
  });
}

describe("THeader frames: the client's own", () => {
  it(
    "a request frame: magic, the message's sequence id, protocol id, info headers, padding",
    T,
    async () => {
      await using server = await answering((request) =>
        reply(request, { info: [["from", "server"], ["n", "ü"]] })
      );
      const thrift = new ThriftClient(Calculator.Client, {
        transport: server.url,
        protocol: "HEADER",
      });
      await using conn = thrift.connect();
      let told: ReadonlyMap<string, string> | undefined;
      const result = await conn.call("echoString", ["x"], {
        headers: { "x-trace": "ünï", "": "empty name" },
        onReplyHeaders: (headers) => told = headers,
      });
      assert.equal(result, "hi");
      assert.deepEqual([...told ?? []], [["from", "server"], ["n", "ü"]]);
      assert.equal(await conn.client.echoString("y"), "hi");
      const first = server.requests[0]!;
      const second = server.requests[1]!;
      assert.equal(first.seqid, first.messageSeqid);
      assert.equal(second.seqid, first.seqid + 1);
      assert.equal(first.flags, 0);
      assert.equal(first.protocolId, 0);
      assert.deepEqual(first.transforms, []);
      assert.deepEqual([...first.info], [["x-trace", "ünï"], ["", "empty name"]]);
      assert.equal(second.info.size, 0, "headers go with one call only");
      for (const request of server.requests) assert.equal(request.headerBytes % 4, 0);
    },
  );

  it("HEADER_COMPACT says protocol id 2, and zlib lists transform 1", T, async () => {
    await using server = await answering(() => new Uint8Array()); // a oneway call: no reply
    const thrift = new ThriftClient(Calculator.Client, {
      transport: server.url,
      protocol: "header_compact",
      zlib: true,
    });
    await thrift.client.notify("oneway: no reply expected");
    await until("the request arrives", () => server.requests.length === 1);
    assert.equal(server.requests[0]!.protocolId, 2);
    assert.deepEqual(server.requests[0]!.transforms, [1]);
  });

  it(
    "info headers that are not strings, or too large for a THeader, fail that call only",
    T,
    async () => {
      await using server = await answering((request) => reply(request));
      const thrift = new ThriftClient(Calculator.Client, {
        transport: server.url,
        protocol: "HEADER",
      });
      await using conn = thrift.connect();
      await assert.rejects(
        conn.call("echoString", ["x"], { headers: { big: "x".repeat(70_000) } }),
        /Cannot write the info headers of "echoString": they need \d+ bytes, more than the 65532/,
      );
      await assert.rejects(
        conn.call("echoString", ["x"], { headers: { n: 1 } as never }),
        /Cannot write info header "n" of "echoString": expected a string, got number/,
      );
      assert.equal(await conn.client.echoString("x"), "hi");
      assert.equal(server.requests.length, 1, "nothing of the failed calls was sent");
    },
  );
});

/** Hostile or broken answers, each a ProtocolError that closes the connection. */
const HOSTILE: [name: string, answer: (request: RequestFrame) => Uint8Array, error: RegExp][] = [
  [
    "a framed binary message without THeader",
    (r) => {
      const message = binaryReply("echoString", r.messageSeqid, "hi");
      const frame = new Uint8Array(4 + message.length);
      new DataView(frame.buffer).setInt32(0, message.length);
      frame.set(message, 4);
      return frame;
    },
    /Invalid THeader frame from "tcp:.*": a framed binary message \(is the server using THeaderProtocol\?\)/,
  ],
  ["another magic", (r) => reply(r, { magic: 0x1234 }), /magic 0x1234, not 0x0fff/],
  [
    "a frame shorter than its fixed part",
    () => new Uint8Array([0, 0, 0, 6, 0x0f, 0xff, 0, 0, 0, 1]),
    /6 bytes, fewer than the 10 of its fixed part/,
  ],
  [
    "a header larger than the frame",
    (r) => reply(r, { words: 1000 }),
    /header of 4000 bytes is larger than the \d+ bytes that follow/,
  ],
  ["an empty header", (r) => reply(r, { words: 0 }), /the header ends inside the protocol id/],
  [
    "an overlong varint",
    (r) => reply(r, { header: varint(0, 6) }),
    /the protocol id is a varint longer than 5 bytes/,
  ],
  [
    "a varint above 2^31-1",
    (r) => reply(r, { header: varint(2 ** 32 - 1) }),
    /the protocol id 4294967295 is out of range/,
  ],
  [
    "a compact payload for a binary client",
    (r) => reply(r, { protocolId: 2 }),
    /protocol id 2 \(compact\), expected 0 \(binary\)/,
  ],
  ["an unknown protocol id", (r) => reply(r, { protocolId: 9 }), /protocol id 9 \(unknown\)/],
  [
    "an unknown transform",
    (r) => reply(r, { transforms: [3] }),
    /unknown transform 3 \(only zlib, 1, is supported\)/,
  ],
  [
    "an absurd transform count",
    (r) => reply(r, { header: [0, ...varint(2 ** 31 - 1), 1, 1] }),
    /the header ends inside a transform id/,
  ],
  [
    "an absurd info header count",
    (r) => reply(r, { header: [0, 0, 1, ...varint(1e9)] }),
    /1000000000 info headers cannot fit in the \d+ header bytes left/,
  ],
  [
    "an absurd info header length",
    (r) => reply(r, { header: [0, 0, 1, 1, ...varint(2 ** 31 - 1)] }),
    /an info header name of 2147483647 bytes runs past the end of the header/,
  ],
  [
    "an info header cut short",
    (r) => reply(r, { header: [0, 0, 1, 1, 0x81, 0x80, 0x80, 0x80] }),
    /the header ends inside the length of an info header name/,
  ],
  [
    "a zlib transform over bytes that are not zlib",
    (r) => reply(r, { transforms: [1], compress: false }),
    /Cannot inflate the THeader payload from "tcp:.*": /,
  ],
  [
    "a zlib payload that inflates past maxMessageSize",
    (r) => headerFrame({ seqid: r.seqid, transforms: [1], payload: new Uint8Array(1 << 20) }),
    /Reply from "tcp:.*" exceeds the 65536 byte limit/,
  ],
  [
    "a frame whose sequence id is not its message's",
    (r) =>
      headerFrame({ seqid: r.seqid + 1, payload: binaryReply("echoString", r.messageSeqid, "") }),
    /a THeader frame with sequence id \d+ holds message "echoString" with sequence id \d+/,
  ],
  [
    "bytes after the message",
    (r) =>
      reply(r, {
        payload: new Uint8Array([...binaryReply("echoString", r.messageSeqid, ""), 7, 7]),
      }),
    /2 bytes follow the message in its THeader frame/,
  ],
  ["no message at all", (r) => reply(r, { payload: new Uint8Array() }), /Truncated reply/],
];

describe("THeader frames: hostile servers", () => {
  for (const [name, answer, error] of HOSTILE) {
    it(`${name} is a ProtocolError and closes the connection`, T, () =>
      withoutFdLeak(async () => {
        await using server = await answering(answer);
        const thrift = new ThriftClient(Calculator.Client, {
          transport: server.url,
          protocol: "HEADER",
          maxMessageSize: 64 * 1024,
          timeout: 10_000,
        });
        const conn = thrift.connect();
        const started = performance.now();
        await assert.rejects(conn.client.echoString("x"), (thrown: unknown) => {
          assert.ok(thrown instanceof ProtocolError, `${thrown}`);
          assert.match(thrown.message, error);
          return true;
        });
        assert.ok(performance.now() - started < 5_000, "the error comes at once");
        assert.equal(conn.state, "closed");
        await until("the server sees the socket closed", () => server.live() === 0);
      }));
  }

  for (const [what, size] of [["above maxMessageSize", 0x7fffffff], ["negative", -1]] as const) {
    it(
      `a frame size ${what} fails at once, before any more bytes`,
      T,
      () =>
        withoutFdLeak(async () => {
          await using server = await rawServer((socket) => {
            const head = new Uint8Array(4);
            new DataView(head.buffer).setInt32(0, size);
            socket.write(head); // and nothing more: the client must not wait for the rest
          });
          const thrift = new ThriftClient(Calculator.Client, {
            transport: server.url,
            protocol: "HEADER_COMPACT",
            timeout: 20_000,
          });
          const started = performance.now();
          await assert.rejects(thrift.client.echoString("x"), (thrown: unknown) => {
            assert.ok(thrown instanceof ProtocolError, `${thrown}`);
            assert.match(
              thrown.message,
              /Invalid frame from .*: size -?\d+ is outside 1\.\.16777216/,
            );
            return true;
          });
          assert.ok(performance.now() - started < 5_000, "the error comes at once");
          await until("the server sees the socket closed", () => server.live() === 0);
        }),
    );
  }

  it(
    "an info header type it does not know is skipped, with the rest of the header",
    T,
    async () => {
      await using server = await answering((request) =>
        reply(request, {
          header: [0, 0, 1, 1, 1, 0x6b, 1, 0x76, 7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        })
      );
      const thrift = new ThriftClient(Calculator.Client, {
        transport: server.url,
        protocol: "HEADER",
      });
      let told: ReadonlyMap<string, string> | undefined;
      await using conn = thrift.connect();
      assert.equal(await conn.call("echoString", ["x"], { onReplyHeaders: (h) => told = h }), "hi");
      assert.deepEqual([...told ?? []], [["k", "v"]]);
    },
  );
});
