/**
 * The runtime adapters, reached through `runtime()` only, over plain tcp and unix sockets
 * against local `node:net` servers (TLS: `runtime_tls_test.ts`). Runs under `deno test -A`
 * and `bun test`.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { TransportError } from "../src/errors.ts";
import { runtime } from "../src/runtime/detect.ts";
import {
  dial,
  patterned,
  recorder,
  rejectsConnect,
  roundTrip,
  tcp,
  unix,
  verified,
} from "./helpers/dial.ts";
import { until } from "./helpers/within.ts";
import { removeSocketDir, SERVER, socketPath, startServer } from "./helpers/echo_servers.ts";

const T = { timeout: 15_000 };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe(`runtime adapter (${runtime().name})`, () => {
  // The certificates are shared by every test file of the process: not disposed here.
  after(removeSocketDir);

  it("round-trips 1 MiB over tcp, in order", T, async () => {
    await using server = await startServer({});
    await roundTrip(tcp(server.port), server, 1 << 20);
  });

  it("round-trips over a unix socket", T, async () => {
    await using server = await startServer({ unix: true });
    await roundTrip(unix(server.path), server, 200_000);
  });

  it("rejects with ConnectError naming the label when refused", T, async () => {
    const server = await startServer({});
    const port = server.port;
    await server[Symbol.asyncDispose]();
    const error = await rejectsConnect(tcp(port), /connection refused$/);
    assert.equal(
      error.message,
      `Cannot connect to "tcp://127.0.0.1:${port}": connection refused`,
    );
  });

  it(
    "rejects with ConnectError when the unix socket does not exist",
    T,
    async () => {
      await rejectsConnect(
        unix(socketPath("missing.sock")),
        /no such socket file$/,
      );
    },
  );

  // A clean EOF from the peer ends the stream without an error: whether a call was still
  // waiting (and so whether that is a failure) is for the core to say.
  it("calls onClose once, without error, when the peer closes", T, async () => {
    await using server = await startServer({ mode: "hangup" });
    const rec = recorder();
    const stream = await dial(tcp(server.port), rec);
    assert.equal(await rec.closed, undefined);
    stream.close();
    stream.write(new Uint8Array([1]));
    await stream.end();
    await sleep(50);
    assert.deepEqual(rec.closes, [undefined]);
  });

  it("calls onClose once with a TransportError when the peer resets", T, async () => {
    await using server = await startServer({ mode: "reset" });
    const rec = recorder();
    const stream = await dial(tcp(server.port), rec);
    stream.write(new Uint8Array([1]));
    const error = await rec.closed;
    assert.ok(error instanceof TransportError, `not a TransportError: ${error}`);
    assert.match(
      error.message,
      new RegExp(`^Cannot (read from|write to) "tcp://127.0.0.1:${server.port}": `),
    );
    assert.ok(error.cause !== undefined);
    stream.close();
    await sleep(50);
    assert.equal(rec.closes.length, 1);
  });

  it("close() is idempotent and onClose runs exactly once", T, async () => {
    await using server = await startServer({});
    const rec = recorder();
    const stream = await dial(tcp(server.port), rec);
    stream.write(new Uint8Array([1, 2, 3]));
    stream.close();
    stream.close();
    await stream.end();
    await until("the server saw the close", () => server.live() === 0);
    await sleep(50);
    assert.deepEqual(rec.closes, [undefined]);
  });

  it("end() sends every queued byte, then closes", T, async () => {
    for (const tlsOn of [false, true]) {
      await using server = await startServer({
        mode: "sink",
        tls: tlsOn ? SERVER : undefined,
      });
      const rec = recorder();
      const target = tcp(
        server.port,
        tlsOn ? verified("127.0.0.1") : undefined,
      );
      const stream = await dial(target, rec);
      const size = 3 << 20;
      stream.write(patterned(size));
      stream.write(new Uint8Array([7]));
      const ending = stream.end();
      stream.write(new Uint8Array([8])); // refused: the stream is ending
      await ending;
      await stream.end();
      await until(
        "the server got everything",
        () => server.received === size + 1 && server.ended === 1,
      );
      assert.deepEqual(rec.closes, [undefined]);
    }
  });

  it("rejects with signal.reason when aborted during the dial", T, async () => {
    await using server = await startServer({ mode: "silent" });
    for (const name of ["127.0.0.1", "localhost"]) {
      const reason = new Error(`gave up on ${name}`);
      const controller = new AbortController();
      const dialing = runtime().dial(
        tcp(server.port, verified(name)),
        recorder(),
        controller.signal,
      );
      await until("the server saw the connection", () => server.live() === 1);
      controller.abort(reason);
      await assert.rejects(dialing, (e) => e === reason);
      await until("the socket was released", () => server.live() === 0);
    }
    const reason = new Error("too late");
    await assert.rejects(
      runtime().dial(tcp(server.port), recorder(), AbortSignal.abort(reason)),
      (e) => e === reason,
    );
  });
});
