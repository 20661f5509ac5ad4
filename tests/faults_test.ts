import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ClosedError,
  ConnectError,
  ProtocolError,
  ThriftClient,
  ThriftClientError,
  TimeoutError,
  TransportError,
} from "../mod.ts";
import { Calculator } from "./helpers/calculator.ts";
import { startNpmServer } from "./helpers/npm_server.ts";
import { rawServer } from "./helpers/raw_server.ts";
import { until } from "./helpers/within.ts";

const T = { timeout: 20_000 };

describe("faults", () => {
  it(
    "garbage from the server is a ProtocolError, unframed and framed",
    T,
    async () => {
      await using server = await rawServer((socket) =>
        socket.write("HTTP/1.1 400 Bad Request\r\n\r\n")
      );
      for (const framed of [false, true]) {
        const thrift = new ThriftClient(Calculator.Client, {
          transport: server.url,
          framed,
        });
        using conn = thrift.connect();
        const calls = [conn.client.add(1, 2), conn.client.add(3, 4)];
        for (const call of calls) await assert.rejects(call, ProtocolError);
        await until(
          "the client closes a connection it cannot trust",
          () => server.live() === 0,
          2_000,
        );
      }
    },
  );

  it(
    "a frame size above the limit is a ProtocolError, not an allocation",
    T,
    async () => {
      await using server = await rawServer((socket) =>
        socket.write(new Uint8Array([0x7f, 0, 0, 0]))
      );
      const thrift = new ThriftClient(Calculator.Client, {
        transport: server.url,
        framed: true,
      });
      await assert.rejects(
        thrift.client.add(1, 2),
        /size 2130706432 is outside/,
      );
    },
  );

  it(
    "an unframed reply above maxMessageSize is a ProtocolError",
    T,
    async () => {
      // a binary reply header announcing a 1 MiB method name, then endless bytes
      const header = new Uint8Array([0x80, 1, 0, 2, 0, 0x10, 0, 0]);
      await using server = await rawServer((socket) => {
        socket.write(header);
        socket.write(new Uint8Array(64 * 1024));
      });
      const thrift = new ThriftClient(Calculator.Client, {
        transport: server.url,
        maxMessageSize: 32 * 1024,
      });
      await assert.rejects(
        thrift.client.add(1, 2),
        /Invalid reply from "tcp:\/\/127\.0\.0\.1:\d+": string size 1048576 cannot fit in the 32768 byte message limit/,
      );
    },
  );

  it(
    "a server that dies mid-call rejects every call in flight with a TransportError",
    T,
    async () => {
      await using server = await rawServer((socket) => socket.destroy());
      const thrift = new ThriftClient(Calculator.Client, {
        transport: server.url,
      });
      using conn = thrift.connect();
      const calls = [
        conn.client.add(1, 2),
        conn.client.sleep(1),
        conn.client.echoString("x"),
      ];
      for (const call of calls) {
        await assert.rejects(call, (error: Error) => {
          assert.ok(error instanceof TransportError, String(error));
          assert.match(error.message, new RegExp(server.url));
          return true;
        });
      }
    },
  );

  it("a server that never answers gives a TimeoutError", T, async () => {
    await using server = await rawServer(() => {});
    const thrift = new ThriftClient(Calculator.Client, {
      transport: server.url,
      timeout: 150,
    });
    const started = Date.now();
    await assert.rejects(thrift.client.add(1, 2), TimeoutError);
    assert.ok(Date.now() - started < 2000);
  });

  it("a reply with an unknown sequence id is a ProtocolError", T, async () => {
    // a well-formed binary reply to "add" with sequence id 999
    const name = new TextEncoder().encode("add");
    const reply = new Uint8Array([
      0x80,
      1,
      0,
      2,
      0,
      0,
      0,
      name.length,
      ...name,
      0,
      0,
      3,
      0xe7,
      8,
      0,
      0,
      0,
      0,
      0,
      7,
      0,
    ]);
    await using server = await rawServer((socket) => socket.write(reply));
    const thrift = new ThriftClient(Calculator.Client, {
      transport: server.url,
    });
    await assert.rejects(
      thrift.client.add(1, 2),
      /Unexpected reply "add" with sequence id 999/,
    );
  });

  it(
    "the wrong protocol or framing fails with a clear error, never a hang",
    T,
    async () => {
      await using server = await startNpmServer({
        protocol: "binary",
        framed: true,
      });
      const cases = [
        { protocol: "compact", framed: true },
        { protocol: "json", framed: true },
        { protocol: "binary", framed: false },
      ];
      for (const options of cases) {
        const thrift = new ThriftClient(Calculator.Client, {
          transport: server.url,
          timeout: 3000,
          ...options,
        });
        await assert.rejects(thrift.client.add(1, 2), (error: Error) => {
          assert.ok(
            error instanceof ThriftClientError ||
              error.name === "TApplicationException",
          );
          return true;
        }, JSON.stringify(options));
      }
      await server.waitForConnections(0, 5000);
    },
  );

  it("bytes that are not zlib on a zlib connection are a ProtocolError", T, async () => {
    await using server = await rawServer((socket) => socket.write("definitely not deflate"));
    const thrift = new ThriftClient(Calculator.Client, { transport: server.url, zlib: true });
    await assert.rejects(thrift.client.add(1, 2), /Cannot inflate data from/);
  });

  it("a TLS server that never handshakes is a ConnectError after connectTimeout", T, async () => {
    await using server = await rawServer(() => {}); // accepts TCP, never answers the hello
    const thrift = new ThriftClient(Calculator.Client, {
      transport: server.url.replace("tcp:", "tcps:"),
      connectTimeout: 200,
    });
    const started = Date.now();
    await assert.rejects(thrift.client.add(1, 2), (error: Error) => {
      assert.ok(error instanceof ConnectError, String(error));
      assert.match(error.message, /no answer within 200 ms/);
      return true;
    });
    assert.ok(Date.now() - started < 3000);
    await until("the abandoned socket is released", () => server.live() === 0, 2_000);
  });

  it("close() while connecting rejects the waiting calls at once", T, async () => {
    await using server = await rawServer(() => {}); // a TLS handshake that never ends
    const thrift = new ThriftClient(Calculator.Client, {
      transport: server.url.replace("tcp:", "tcps:"),
      connectTimeout: 10_000,
    });
    const conn = thrift.connect();
    const call = conn.client.add(1, 2);
    await until("the client connects", () => server.live() === 1, 2_000);
    const started = Date.now();
    await conn.close();
    await assert.rejects(call, ClosedError);
    assert.ok(Date.now() - started < 1000);
    await until("the half-open socket is released", () => server.live() === 0, 2_000);
  });
});
