import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import process from "node:process";
import { describe, it } from "node:test";
import { createGzip } from "node:zlib";
import { ConnectError, ProtocolError, ThriftClient, TimeoutError, TransportError } from "../mod.ts";
import { runtime } from "../src/runtime/detect.ts";
import { Calculator } from "./helpers/calculator.ts";
import {
  endless,
  hostileServer,
  i32Reply,
  requestHeader,
  silentTcpServer,
} from "./helpers/hostile_http.ts";
import { until, within } from "./helpers/within.ts";

const T = { timeout: 30_000 };
const MiB = 1024 * 1024;
const REPLY = 2;
const CALL = 1;
const EXCEPTION = 3;

/** A client for `url` with a call timeout of 10 s, so "promptly" means well before it. */
function clientFor(url: string, options: Record<string, unknown> = {}) {
  const tls = url.startsWith("https:") ? { ssl: { validate: false } } : {};
  return new ThriftClient(Calculator.Client, {
    transport: url,
    timeout: 10_000,
    ...tls,
    ...options,
  });
}

/** Runs `call`, returning its rejection, how long it took and how much the RSS grew. */
async function measured(call: () => Promise<unknown>) {
  const rss = process.memoryUsage().rss;
  const started = Date.now();
  const error = await within("the call", 9_000, call().then(() => undefined, (e: unknown) => e));
  return {
    error: error as Error,
    ms: Date.now() - started,
    grewMiB: (process.memoryUsage().rss - rss) / MiB,
  };
}

/** `size` zero bytes, gzipped. */
async function gzipBomb(size: number): Promise<Buffer> {
  const gzip = createGzip({ level: 9 });
  const chunks: Buffer[] = [];
  gzip.on("data", (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise((resolve) => gzip.on("end", resolve));
  const zeros = Buffer.alloc(MiB);
  for (let i = 0; i < size / MiB; i++) {
    if (!gzip.write(zeros)) await new Promise((resolve) => gzip.once("drain", resolve));
  }
  gzip.end();
  await ended;
  return Buffer.concat(chunks);
}

function assertStatus(error: Error, status: number): void {
  assert.ok(error instanceof TransportError, `expected a TransportError, got ${error}`);
  assert.equal(error.status, status);
}

for (const tls of [false, true]) {
  const scheme = tls ? "https (ssl.validate false)" : "http";
  describe(`hostile ${scheme} servers`, () => {
    it("an endless 500 body is refused promptly, read only in part, and cancelled", T, async () => {
      await using server = await hostileServer((_req, res) => {
        res.writeHead(500, { "content-type": "text/plain" });
        endless(res, Buffer.alloc(64 * 1024, "x"));
      }, tls);
      const thrift = clientFor(server.url);
      const { error, ms, grewMiB } = await measured(() => thrift.client.add(1, 2));
      assertStatus(error, 500);
      assert.match(error.message, /^HTTP 500 from "[^"]+": x+$/);
      assert.ok(error.message.length < 300, "the snippet is short");
      assert.ok(ms < 3_000, `rejected after ${ms} ms`);
      assert.ok(grewMiB < 50, `RSS grew by ${grewMiB.toFixed(1)} MiB`);
      await until("the server saw its socket closed", () => server.sockets().closed >= 1);
    });

    it("a 302 with an endless body is refused promptly and cancelled", T, async () => {
      await using server = await hostileServer((_req, res) => {
        res.writeHead(302, { location: "http://elsewhere.example/" });
        endless(res, Buffer.alloc(64 * 1024, "y"));
      }, tls);
      const thrift = clientFor(server.url);
      const { error, ms, grewMiB } = await measured(() => thrift.client.add(1, 2));
      assertStatus(error, 302);
      assert.match(error.message, /redirect to "http:\/\/elsewhere.example\/" \(not followed\)/);
      assert.ok(ms < 3_000, `rejected after ${ms} ms`);
      assert.ok(grewMiB < 50, `RSS grew by ${grewMiB.toFixed(1)} MiB`);
      await until("the server saw its socket closed", () => server.sockets().closed >= 1);
    });

    it("a 2xx reply whose body stalls times out and its socket is closed", T, async () => {
      await using server = await hostileServer((_req, res) => {
        res.writeHead(200, { "content-type": "application/x-thrift" }).write(Buffer.from([0x80]));
      }, tls);
      const thrift = clientFor(server.url, { timeout: 300 });
      const { error, ms } = await measured(() => thrift.client.add(1, 2));
      assert.ok(error instanceof TimeoutError, `expected a TimeoutError, got ${error}`);
      assert.ok(ms >= 250 && ms < 3_000, `rejected after ${ms} ms`);
      await until("the server saw its socket closed", () => server.sockets().closed >= 1);
    });

    it("a 2xx reply above maxMessageSize that never ends is a ProtocolError", T, async () => {
      await using server = await hostileServer((_req, res) => {
        res.writeHead(200, { "content-type": "application/x-thrift" });
        endless(res, Buffer.alloc(64 * 1024));
      }, tls);
      const thrift = clientFor(server.url, { maxMessageSize: MiB });
      const { error, ms, grewMiB } = await measured(() => thrift.client.add(1, 2));
      assert.ok(error instanceof ProtocolError, `expected a ProtocolError, got ${error}`);
      assert.match(error.message, /exceeds the 1048576 byte limit/);
      assert.ok(ms < 3_000, `rejected after ${ms} ms`);
      assert.ok(grewMiB < 50, `RSS grew by ${grewMiB.toFixed(1)} MiB`);
      await until("the server saw its socket closed", () => server.sockets().closed >= 1);
    });

    it("a 500 whose body stalls is reported with what came, within a second or so", T, async () => {
      await using server = await hostileServer((_req, res) => {
        res.writeHead(500).write("partial explanation"); // and nothing more, ever
      }, tls);
      const thrift = clientFor(server.url);
      const { error, ms } = await measured(() => thrift.client.add(1, 2));
      assertStatus(error, 500);
      assert.match(error.message, /: partial explanation$/);
      assert.ok(ms < 3_000, `rejected after ${ms} ms`);
      await until("the server saw its socket closed", () => server.sockets().closed >= 1);
    });

    it(
      "control characters and ANSI escapes in an error body stay out of the message",
      T,
      async () => {
        await using server = await hostileServer((_req, res) => {
          res.writeHead(500).end("\x1b[31mred\x1b[0m\x07bell\r\nInjected: x\0null\u202e\x7f end");
        }, tls);
        const thrift = clientFor(server.url);
        const { error } = await measured(() => thrift.client.add(1, 2));
        assertStatus(error, 500);
        assert.doesNotMatch(error.message, /[\p{Cc}\p{Cf}]/u);
        assert.match(error.message, /: red bell Injected: x null end$/);
      },
    );
  });
}

describe("hostile http servers, compressed and mismatched replies", () => {
  it("a gzip bomb 500 body is not inflated whole", T, async () => {
    const bomb = await gzipBomb(128 * MiB);
    await using server = await hostileServer((_req, res) => {
      res.writeHead(500, { "content-encoding": "gzip" }).end(bomb);
    });
    const thrift = clientFor(server.url);
    const { error, ms, grewMiB } = await measured(() => thrift.client.add(1, 2));
    assertStatus(error, 500);
    assert.ok(ms < 3_000, `rejected after ${ms} ms`);
    assert.ok(grewMiB < 50, `RSS grew by ${grewMiB.toFixed(1)} MiB`);
  });

  // The spec for "a response settles only its own call": checked in http.ts before the body
  // reaches the connection, which would otherwise settle whichever call the reply names.
  for (
    const [what, reply] of [
      [
        "another call's sequence id",
        (name: string, seqid: number) => i32Reply(name, REPLY, seqid + 1, 9),
      ],
      [
        "another method's name",
        (_name: string, seqid: number) => i32Reply("sleep", REPLY, seqid, 9),
      ],
      ["the CALL message type", (name: string, seqid: number) => i32Reply(name, CALL, seqid, 9)],
    ] as const
  ) {
    it(`a reply with ${what} rejects its own call only`, T, async () => {
      const held: (() => void)[] = [];
      await using server = await hostileServer((_req, res, body) => {
        const { name, seqid } = requestHeader(body);
        const answer = () => res.end(i32Reply(name, REPLY, seqid, 5));
        if (held.length === 0) {
          // the first call's reply names the second call: answer it once both are in flight
          held.push(() => res.end(reply(name, seqid)));
        } else {
          held.shift()!();
          setTimeout(answer, 50);
        }
      });
      const thrift = clientFor(server.url);
      const first = thrift.client.add(1, 2).then(() => "resolved", (e: unknown) => e);
      await until("the first request arrived", () => server.requests() === 1);
      const second = thrift.client.add(2, 3);
      const error = await within("the first call", 5_000, first) as Error;
      assert.ok(error instanceof ProtocolError, `expected a ProtocolError, got ${error}`);
      assert.match(error.message, /Reply to "add" \(sequence id \d+\) from "[^"]+" has /);
      assert.equal(await within("the second call", 5_000, second), 5);
    });
  }

  it("a reply followed by a second message is a ProtocolError", T, async () => {
    await using server = await hostileServer((_req, res, body) => {
      const { name, seqid } = requestHeader(body);
      res.end(
        Buffer.concat([i32Reply(name, REPLY, seqid, 5), i32Reply(name, EXCEPTION, seqid + 1, 0)]),
      );
    });
    const thrift = clientFor(server.url);
    await assert.rejects(thrift.client.add(1, 2), /bytes after its message/);
  });

  it("a correct reply still resolves its call", T, async () => {
    await using server = await hostileServer((_req, res, body) => {
      const { name, seqid } = requestHeader(body);
      res.end(i32Reply(name, REPLY, seqid, 42));
    });
    assert.equal(await clientFor(server.url).client.add(40, 2), 42);
  });
});

// Deno's fetch and Bun's fetch show the library no connection phase; Deno's node:https path
// (ssl.validate false, or an ssl.serverName other than the host) does. Elsewhere `timeout`
// bounds a handshake that never completes.
describe("connectTimeout over https", () => {
  const bounded = runtime().name === "deno";
  it(
    bounded
      ? "a TLS handshake that never completes fails at connectTimeout (Deno, node:https path)"
      : "a TLS handshake that never completes fails at the call timeout (Bun's fetch)",
    T,
    async () => {
      await using server = await silentTcpServer();
      const thrift = new ThriftClient(Calculator.Client, {
        transport: `https://127.0.0.1:${server.port}/rpc`,
        ssl: { validate: false },
        timeout: bounded ? 10_000 : 1_000,
        connectTimeout: 300,
      });
      const { error, ms } = await measured(() => thrift.client.add(1, 2));
      assert.equal(server.accepted(), 1);
      if (bounded) {
        assert.ok(error instanceof ConnectError, `expected a ConnectError, got ${error}`);
        assert.match(error.message, /no answer within 300 ms \(connectTimeout\)/);
        assert.ok(error.cause instanceof TimeoutError);
        assert.ok(ms >= 250 && ms < 3_000, `rejected after ${ms} ms`);
      } else {
        assert.ok(error instanceof TimeoutError, `expected a TimeoutError, got ${error}`);
        assert.ok(ms >= 900 && ms < 5_000, `rejected after ${ms} ms`);
      }
    },
  );
});
