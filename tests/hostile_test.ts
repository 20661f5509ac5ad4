import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ProtocolError, ThriftClient } from "../mod.ts";
import { Calculator } from "./helpers/calculator.ts";
import { startNpmServer } from "./helpers/npm_server.ts";
import { binaryMessage } from "./helpers/header_frames.ts";
import { rawServer } from "./helpers/raw_server.ts";
import { withoutFdLeak } from "./helpers/fds.ts";
import { until, within } from "./helpers/within.ts";

const T = { timeout: 30_000 };
const REPLY = 2;
const CALL = 1;

/** The sequence id of a strict binary call. */
function seqidOf(chunk: Uint8Array): number {
  const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return view.getInt32(8 + view.getInt32(4));
}

/** A server that answers each call with `answer(seqid)`, and writes `hello` on connect. */
function answering(answer: (seqid: number) => Uint8Array, hello?: Uint8Array) {
  return rawServer(
    (socket, chunk) => socket.write(answer(seqidOf(chunk))),
    hello && ((socket) => socket.write(hello)),
  );
}

describe("hostile servers", () => {
  it(
    "a reply named after another method is a ProtocolError and closes the connection",
    T,
    () =>
      withoutFdLeak(async () => {
        await using server = await answering((seqid) =>
          binaryMessage(REPLY, "echoString", seqid, "surprise")
        );
        const thrift = new ThriftClient(Calculator.Client, {
          transport: server.url,
          timeout: 5_000,
        });
        const conn = thrift.connect();
        await assert.rejects(conn.client.add(1, 2), (error: unknown) => {
          assert.ok(error instanceof ProtocolError);
          assert.match(error.message, /"echoString" answers call \d+ of "add"/);
          return true;
        });
        assert.equal(conn.state, "closed");
        await until("the server sees the socket closed", () => server.live() === 0);
      }),
  );

  it("a message of type CALL is not taken as a reply", T, () =>
    withoutFdLeak(async () => {
      await using server = await answering((seqid) =>
        binaryMessage(CALL, "echoString", seqid, "x")
      );
      const thrift = new ThriftClient(Calculator.Client, { transport: server.url, timeout: 5_000 });
      await assert.rejects(thrift.client.echoString("x"), (error: unknown) => {
        assert.ok(error instanceof ProtocolError);
        assert.match(error.message, /type 1, expected a reply or an exception/);
        return true;
      });
      await until("the server sees the socket closed", () => server.live() === 0);
    }));

  it(
    "bytes that arrive while opening leave no zombie: calls reject at once, nothing stays open",
    T,
    () =>
      withoutFdLeak(async () => {
        await using server = await answering(
          (seqid) => binaryMessage(REPLY, "add", seqid, ""),
          binaryMessage(REPLY, "add", 7, "unsolicited"),
        );
        const thrift = new ThriftClient(Calculator.Client, {
          transport: server.url,
          timeout: 10_000,
        });
        for (let i = 0; i < 5; i++) {
          const conn = thrift.connect();
          const started = performance.now();
          await assert.rejects(within("the call", 5_000, conn.client.add(1, 2)));
          assert.ok(performance.now() - started < 5_000);
          await until("the connection is closed", () => conn.state === "closed");
        }
        await until("the server sees every socket closed", () => server.live() === 0);
        await thrift.close();
      }),
  );

  it(
    "thrift.close() also closes a connection re-opened after close()",
    T,
    () =>
      withoutFdLeak(async () => {
        await using backend = await startNpmServer();
        const thrift = new ThriftClient(Calculator.Client, { transport: backend.url });
        const conn = thrift.connect();
        await conn.client.add(1, 1);
        await conn.close();
        await conn.open();
        assert.equal(await conn.client.add(2, 2), 4);
        await thrift.close();
        assert.equal(conn.state, "closed");
        await backend.waitForConnections(0);
      }),
  );

  it("sequence ids wrap within i32 on a long-lived connection", T, () =>
    withoutFdLeak(async () => {
      await using backend = await startNpmServer();
      const Late = class extends Calculator.Client {
        constructor(output: never, pClass: never) {
          super(output, pClass);
          (this as unknown as { _seqid: number })._seqid = 2 ** 31 - 3;
        }
      };
      const thrift = new ThriftClient(Late, { transport: backend.url });
      await using conn = thrift.connect();
      const sums = await Promise.all(Array.from({ length: 6 }, (_, i) => conn.client.add(i, 1)));
      assert.deepEqual(sums, [1, 2, 3, 4, 5, 6]);
      for (let i = 0; i < 4; i++) assert.equal(await conn.client.add(i, i), 2 * i);
    }));
});
