/**
 * The runtime adapters, reached through `runtime()` only, against local `node:net`,
 * `node:tls` and `node:https` servers. Runs under `deno test -A` and `bun test`.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import * as tls from "node:tls";
import { ConnectError, TransportError } from "../src/errors.ts";
import { runtime } from "../src/runtime/detect.ts";
import type {
  ByteStream,
  DialTarget,
  StreamHandlers,
  TlsSettings,
} from "../src/transport/byte_stream.ts";
import { testCerts } from "./helpers/certs.ts";

const T = { timeout: 15_000 };
const certs = testCerts();
const pem = (path: string): string => readFileSync(path, "utf8");
const CA = certs.caPem;
const OTHER_CA = pem(certs.otherCaCert);
const SERVER = { cert: pem(certs.serverCert), key: pem(certs.serverKey) };
const SELF_SIGNED = {
  cert: pem(certs.selfSignedCert),
  key: pem(certs.selfSignedKey),
};
const CLIENT = { cert: pem(certs.clientCert), key: pem(certs.clientKey) };
const dir = mkdtempSync(join(tmpdir(), "thrift-runtime-"));
let sockets = 0;

/**
 * "echo" answers each chunk, "sink" only counts, "hangup" ends at once, "reset" resets the
 * connection when data arrives, "silent" never speaks.
 */
type Mode = "echo" | "sink" | "hangup" | "reset" | "silent";

interface TestServer extends AsyncDisposable {
  readonly port: number;
  readonly path: string;
  /** Application bytes received (decrypted, for TLS servers). */
  received: number;
  /** Peers that sent their FIN. */
  ended: number;
  /** Open raw connections. */
  live(): number;
}

async function startServer(
  options: { unix?: boolean; tls?: tls.TlsOptions; mode?: Mode; host?: string },
): Promise<TestServer> {
  const mode = options.mode ?? "echo";
  const raw = new Set<net.Socket>();
  const onSocket = (socket: net.Socket): void => {
    socket.on("error", () => {});
    if (mode === "hangup") return void socket.end();
    socket.on("data", (chunk: Uint8Array) => {
      if (mode === "reset") return void socket.resetAndDestroy();
      state.received += chunk.length;
      if (mode === "echo") socket.write(chunk);
    });
    socket.on("end", () => {
      state.ended++;
      socket.end();
    });
  };
  const server = options.tls && mode !== "silent"
    ? tls.createServer({ ...options.tls, allowHalfOpen: true }, onSocket)
    : net.createServer({ allowHalfOpen: true }, (s) => {
      if (mode !== "silent") return onSocket(s);
      s.resume(); // reads (so it sees the close), never answers
      s.on("end", () => s.end());
    });
  server.on("connection", (socket: net.Socket) => {
    raw.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => raw.delete(socket));
  });
  server.on("tlsClientError", () => {});
  const path = join(dir, `s${++sockets}.sock`);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    if (options.unix) server.listen(path, resolve);
    else server.listen(0, options.host ?? "127.0.0.1", resolve);
  });
  const address = server.address();
  const state: TestServer = {
    port: typeof address === "object" && address ? address.port : 0,
    path,
    received: 0,
    ended: 0,
    live: () => raw.size,
    async [Symbol.asyncDispose]() {
      for (const socket of raw) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return state;
}

/** Handlers that record what a stream delivers. */
function recorder(): StreamHandlers & {
  chunks: Uint8Array[];
  closes: (Error | undefined)[];
  closed: Promise<Error | undefined>;
  bytes(n: number): Promise<Uint8Array>;
} {
  const chunks: Uint8Array[] = [];
  const closes: (Error | undefined)[] = [];
  const closed = Promise.withResolvers<Error | undefined>();
  let total = 0;
  let waiter: { n: number; resolve: () => void } | undefined;
  return {
    chunks,
    closes,
    closed: closed.promise,
    onData(chunk) {
      chunks.push(chunk);
      total += chunk.length;
      if (waiter && total >= waiter.n) waiter.resolve();
    },
    onClose(error) {
      closes.push(error);
      closed.resolve(error);
    },
    async bytes(n) {
      if (total < n) {
        await new Promise<void>((resolve) => waiter = { n, resolve });
      }
      return new Uint8Array(Buffer.concat(chunks));
    },
  };
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(check(), `timed out waiting until ${what}`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function tcp(port: number, tls?: TlsSettings, host = "127.0.0.1"): DialTarget {
  return {
    kind: "tcp",
    host,
    port,
    tls,
    label: `tcp${tls ? "s" : ""}://${host}:${port}`,
  };
}

function unix(path: string, tls?: TlsSettings): DialTarget {
  return { kind: "unix", path, tls, label: `unix${tls ? "s" : ""}://${path}` };
}

const dial = (
  target: DialTarget,
  handlers: StreamHandlers,
): Promise<ByteStream> => runtime().dial(target, handlers, AbortSignal.timeout(5_000));

const patterned = (size: number): Uint8Array =>
  Uint8Array.from({ length: size }, (_, i) => (i * 31 + (i >> 8)) & 0xff);

/** Writes, reads the echo back, checks it, closes, and waits for the server to let go. */
async function roundTrip(
  target: DialTarget,
  server: TestServer,
  size: number,
): Promise<void> {
  const rec = recorder();
  const stream = await dial(target, rec);
  const sent = patterned(size);
  const scratch = new Uint8Array(65_536); // reused on purpose: write must not keep it
  for (let off = 0; off < size; off += scratch.length) {
    const part = sent.subarray(off, off + scratch.length);
    scratch.set(part);
    stream.write(scratch.subarray(0, part.length));
  }
  const got = await rec.bytes(size);
  assert.equal(got.length, size);
  assert.ok(Buffer.from(got).equals(Buffer.from(sent)), "bytes differ");
  stream.close();
  assert.deepEqual(rec.closes, [undefined]);
  await until("the server saw the close", () => server.live() === 0);
}

async function rejectsConnect(
  target: DialTarget,
  pattern: RegExp,
): Promise<ConnectError> {
  const rec = recorder();
  const error = await dial(target, rec).then(
    () => assert.fail("dial should have failed"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ConnectError, `not a ConnectError: ${error}`);
  assert.match(error.message, pattern);
  assert.ok(error.message.startsWith(`Cannot connect to "${target.label}": `));
  assert.ok(error.cause !== undefined);
  assert.equal(rec.closes.length, 0);
  return error;
}

const verified = (serverName: string, ca: string | undefined = CA): TlsSettings => ({
  validate: true,
  ca,
  serverName,
});
const LOOSE: TlsSettings = { validate: false, serverName: "localhost" };

describe(`runtime adapter (${runtime().name})`, () => {
  // The certificates are shared by every test file of the process: not disposed here.
  after(() => rmSync(dir, { recursive: true, force: true }));

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
        unix(join(dir, "missing.sock")),
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

  it("speaks TLS over tcp with the given CA", T, async () => {
    await using server = await startServer({ tls: SERVER });
    for (const name of ["127.0.0.1", "localhost"]) {
      await roundTrip(tcp(server.port, verified(name)), server, 100_000);
    }
  });

  const refused: [string, tls.TlsOptions, (name: string) => TlsSettings][] = [
    ["a certificate from another CA", SERVER, (n) => verified(n, OTHER_CA)],
    ["a self-signed certificate without a CA", SELF_SIGNED, (n) => verified(n, undefined)],
    ["a certificate that does not name the server", SERVER, () => verified("wrong.example")],
  ];
  for (const [what, cert, settings] of refused) {
    it(`rejects ${what} before sending a byte`, T, async () => {
      await using server = await startServer({ tls: cert });
      for (const name of ["127.0.0.1", "localhost"]) {
        await rejectsConnect(tcp(server.port, settings(name)), /TLS validation failed/);
      }
      await until("the server let go", () => server.live() === 0);
      assert.equal(server.received, 0);
    });
  }

  it("rejects a certificate without the IP dialed", T, async () => {
    // 127.0.0.2 is loopback on Linux; elsewhere binding it may fail, and the test is moot.
    const other = await startServer({ tls: SERVER, host: "127.0.0.2" }).catch(
      () => undefined,
    );
    if (!other) return;
    await using server = other;
    await rejectsConnect(
      tcp(server.port, verified("127.0.0.2"), "127.0.0.2"),
      /TLS validation failed/,
    );
    assert.equal(server.received, 0);
  });

  it("accepts a self-signed certificate with validate: false", T, async () => {
    await using server = await startServer({ tls: SELF_SIGNED });
    await roundTrip(tcp(server.port, LOOSE), server, 100_000);
  });

  it("speaks TLS over a unix socket, and validates it", T, async () => {
    await using server = await startServer({ unix: true, tls: SERVER });
    await roundTrip(unix(server.path, verified("localhost")), server, 100_000);
    await rejectsConnect(
      unix(server.path, verified("localhost", OTHER_CA)),
      /TLS validation failed/,
    );
    assert.equal(server.received, 100_000);
  });

  it("presents a client certificate for mutual TLS", T, async () => {
    await using server = await startServer({
      tls: { ...SERVER, ca: CA, requestCert: true, rejectUnauthorized: true },
    });
    for (const name of ["127.0.0.1", "localhost"]) {
      await roundTrip(
        tcp(server.port, { ...verified(name), ...CLIENT }),
        server,
        50_000,
      );
    }
  });
});

describe(`runtime fetchWith (${runtime().name})`, () => {
  async function startHttps(
    cert = SERVER,
  ): Promise<AsyncDisposable & { port: number }> {
    const open = new Set<net.Socket>();
    const server = https.createServer(cert, (req, res) => {
      if (req.url === "/moved") {
        res.writeHead(302, { location: "/elsewhere" });
        return void res.end("moved");
      }
      if (req.url === "/slow") return; // never answers
      const chunks: Uint8Array[] = [];
      req.on("data", (c: Uint8Array) => chunks.push(c));
      req.on(
        "end",
        () => res.end(Buffer.concat([Buffer.from("echo:"), ...chunks])),
      );
    });
    server.on("connection", (s: net.Socket) => {
      open.add(s);
      s.on("close", () => open.delete(s));
    });
    server.on("tlsClientError", () => {});
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address() as net.AddressInfo;
    return {
      port: address.port,
      async [Symbol.asyncDispose]() {
        for (const s of open) s.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }

  const post = (signal?: AbortSignal): RequestInit => ({
    method: "POST",
    body: new TextEncoder().encode("hi"),
    redirect: "manual",
    signal,
  });

  it("posts over https with the given CA", T, async () => {
    await using server = await startHttps();
    for (const name of ["127.0.0.1", "localhost"]) {
      const res = await runtime().fetchWith(verified(name))(
        `https://127.0.0.1:${server.port}/`,
        post(),
      );
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "echo:hi");
    }
  });

  it("rejects a server certificate from another CA", T, async () => {
    await using server = await startHttps();
    for (const name of ["127.0.0.1", "localhost"]) {
      const fetch = runtime().fetchWith(verified(name, OTHER_CA));
      await assert.rejects(
        fetch(`https://127.0.0.1:${server.port}/`, post()),
      );
    }
  });

  it("accepts an untrusted certificate with validate: false", T, async () => {
    await using server = await startHttps(SELF_SIGNED);
    const res = await runtime().fetchWith(LOOSE)(`https://127.0.0.1:${server.port}/`, post());
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "echo:hi");
  });

  it("returns a 302 as it is, without following it", T, async () => {
    await using server = await startHttps();
    for (const settings of [verified("127.0.0.1"), LOOSE]) {
      const res = await runtime().fetchWith(settings)(
        `https://127.0.0.1:${server.port}/moved`,
        post(),
      );
      assert.equal(res.status, 302);
      assert.equal(res.headers.get("location"), "/elsewhere");
      await res.body?.cancel();
    }
  });

  it("rejects with signal.reason when the request is aborted", T, async () => {
    await using server = await startHttps();
    for (const settings of [verified("127.0.0.1"), LOOSE]) {
      const reason = new Error("no more waiting");
      const controller = new AbortController();
      setTimeout(() => controller.abort(reason), 100);
      const fetch = runtime().fetchWith(settings);
      await assert.rejects(
        fetch(
          `https://127.0.0.1:${server.port}/slow`,
          post(controller.signal),
        ),
        (e) => e === reason,
      );
    }
  });

  it("uses plain fetch without TLS settings", T, async () => {
    const server = http.createServer((_req, res) => res.end("plain"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as net.AddressInfo;
      const res = await runtime().fetchWith(undefined)(
        `http://127.0.0.1:${port}/`,
        { redirect: "manual" },
      );
      assert.equal(await res.text(), "plain");
    } finally {
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
