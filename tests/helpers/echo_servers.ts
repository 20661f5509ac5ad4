/**
 * Byte servers on `node:net` and `node:tls` for the runtime adapter tests, with the test
 * certificates as PEM text. Unix sockets live in one temporary directory per process.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { testCerts } from "./certs.ts";

/** A certificate and its key, as PEM text. */
export interface PemPair {
  cert: string;
  key: string;
}

const certs = testCerts();
const pem = (path: string): string => readFileSync(path, "utf8");
/** The test CA. */
export const CA: string = certs.caPem;
/** A CA that signed none of the certificates below. */
export const OTHER_CA: string = pem(certs.otherCaCert);
/** The server certificate (localhost, 127.0.0.1, ::1), signed by `CA`. */
export const SERVER: PemPair = { cert: pem(certs.serverCert), key: pem(certs.serverKey) };
/** A self-signed server certificate (localhost, 127.0.0.1). */
export const SELF_SIGNED: PemPair = {
  cert: pem(certs.selfSignedCert),
  key: pem(certs.selfSignedKey),
};
/** A client certificate signed by `CA`, for mutual TLS. */
export const CLIENT: PemPair = {
  cert: pem(certs.clientCert),
  key: pem(certs.clientKey),
};

let dir: string | undefined;
let sockets = 0;

/** A path for a unix socket in this process's directory, made on first use. */
export function socketPath(name: string): string {
  dir ??= mkdtempSync(join(tmpdir(), "thrift-runtime-"));
  return join(dir, name);
}

/** Removes the socket directory (for `after()`); a later `socketPath()` makes a new one. */
export function removeSocketDir(): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
}

/**
 * "echo" answers each chunk, "sink" only counts, "hangup" ends at once, "reset" resets the
 * connection when data arrives, "silent" never speaks.
 */
export type Mode = "echo" | "sink" | "hangup" | "reset" | "silent";

/** A running byte server; dispose destroys its connections and closes it. */
export interface TestServer extends AsyncDisposable {
  readonly port: number;
  readonly path: string;
  /** Application bytes received (decrypted, for TLS servers). */
  received: number;
  /** Peers that sent their FIN. */
  ended: number;
  /** Open raw connections. */
  live(): number;
}

/** Starts a server on 127.0.0.1 (or `host`), port 0, or on a unix socket. */
export async function startServer(
  options: {
    unix?: boolean;
    tls?: tls.TlsOptions | undefined;
    mode?: Mode;
    host?: string;
  },
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
  const path = socketPath(`s${++sockets}.sock`);
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
