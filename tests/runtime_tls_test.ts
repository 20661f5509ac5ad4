/**
 * The runtime adapters over TLS (tcps, unixs, mutual TLS) against local `node:tls` servers,
 * and `fetchWith` against `node:https`. Runs under `deno test -A` and `bun test`.
 */
import assert from "node:assert/strict";
import * as http from "node:http";
import * as https from "node:https";
import type * as net from "node:net";
import { after, describe, it } from "node:test";
import type { TlsSettings } from "../src/transport/byte_stream.ts";
import { runtime } from "../src/runtime/detect.ts";
import { LOOSE, rejectsConnect, roundTrip, tcp, unix, verified } from "./helpers/dial.ts";
import { until } from "./helpers/within.ts";
import {
  CA,
  CLIENT,
  OTHER_CA,
  type PemPair,
  removeSocketDir,
  SELF_SIGNED,
  SERVER,
  startServer,
} from "./helpers/echo_servers.ts";

const T = { timeout: 15_000 };

describe(`runtime adapter (${runtime().name})`, () => {
  after(removeSocketDir);

  it("speaks TLS over tcp with the given CA", T, async () => {
    await using server = await startServer({ tls: SERVER });
    for (const name of ["127.0.0.1", "localhost"]) {
      await roundTrip(tcp(server.port, verified(name)), server, 100_000);
    }
  });

  const refused: [string, PemPair, (name: string) => TlsSettings][] = [
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
    ...(signal ? { signal } : {}),
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
