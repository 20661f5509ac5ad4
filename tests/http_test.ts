import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { describe, it } from "node:test";
import { ConnectError, ProtocolError, ThriftClient, TransportError } from "../mod.ts";
import { Calculator } from "./helpers/calculator.ts";

const T = { timeout: 20_000 };

/** An in-process HTTP server answering every request with `answer`. */
async function httpServer(answer: (req: IncomingMessage, res: ServerResponse) => void) {
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    req.resume();
    req.on("end", () => answer(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/rpc`,
    requests: () => requests,
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe("http transport", () => {
  it("open() and close() contact nobody and never fail", T, async () => {
    const thrift = new ThriftClient(Calculator.Client, {
      transport: "http://127.0.0.1:1/rpc",
      alwaysConnect: false,
    });
    await thrift.transport.open();
    assert.equal(thrift.transport.isOpen(), true);
    await assert.rejects(thrift.client.add(1, 2), ConnectError);
    await thrift.transport.close();
  });

  it("a redirect is not followed: it is a TransportError naming the status", T, async () => {
    await using server = await httpServer((_req, res) => {
      res.writeHead(302, { location: "http://elsewhere.example/" }).end();
    });
    const thrift = new ThriftClient(Calculator.Client, { transport: server.url });
    await assert.rejects(thrift.client.add(1, 2), (error: Error) => {
      assert.ok(error instanceof TransportError);
      assert.equal(error.status, 302);
      assert.match(error.message, /HTTP 302 .*elsewhere.example.*not followed/);
      return true;
    });
    assert.equal(server.requests(), 1);
  });

  it("a 200 with garbage is a ProtocolError", T, async () => {
    await using server = await httpServer((_req, res) => res.end("<html>not thrift</html>"));
    const thrift = new ThriftClient(Calculator.Client, { transport: server.url });
    await assert.rejects(thrift.client.add(1, 2), ProtocolError);
  });

  it("a reply above maxMessageSize is a ProtocolError", T, async () => {
    await using server = await httpServer((_req, res) => res.end(Buffer.alloc(256 * 1024)));
    const thrift = new ThriftClient(Calculator.Client, {
      transport: server.url,
      maxMessageSize: 1024,
    });
    await assert.rejects(thrift.client.add(1, 2), /exceeds the 1024 byte limit/);
  });

  it("a 200 with a truncated reply is a ProtocolError", T, async () => {
    await using server = await httpServer((_req, res) => res.end(Buffer.from([0x80, 1, 0, 2])));
    const thrift = new ThriftClient(Calculator.Client, { transport: server.url });
    await assert.rejects(thrift.client.add(1, 2), /Truncated reply/);
  });

  it("a oneway call resolves when sent, even if the server never answers", T, async () => {
    await using server = await httpServer(() => {}); // like C++'s THttpServer for oneway
    const thrift = new ThriftClient(Calculator.Client, { transport: server.url, timeout: 300 });
    const started = Date.now();
    await thrift.client.notify("fire and forget");
    assert.ok(Date.now() - started < 250);
    await new Promise((resolve) => setTimeout(resolve, 500)); // the request is aborted meanwhile
    assert.equal(server.requests(), 1);
  });

  it("a two-way call to a server that never answers times out", T, async () => {
    await using server = await httpServer(() => {});
    const thrift = new ThriftClient(Calculator.Client, { transport: server.url, timeout: 200 });
    await assert.rejects(thrift.client.add(1, 2), /no reply within 200 ms/);
  });

  it("a password in the URL never appears in an error", T, async () => {
    await using server = await httpServer((_req, res) => res.writeHead(500).end("boom"));
    const thrift = new ThriftClient(Calculator.Client, {
      transport: server.url.replace("http://", "http://admin:t0ps3cret@"),
    });
    await assert.rejects(thrift.client.add(1, 2), (error: Error) => {
      assert.doesNotMatch(`${error.message} ${error.cause ?? ""}`, /t0ps3cret/);
      return error instanceof TransportError;
    });
  });
});
