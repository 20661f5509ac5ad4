/**
 * Hostile HTTP(S) servers for the HTTP channel's tests: `node:http` / `node:https` servers on
 * 127.0.0.1 and port 0 that count the sockets they saw open and closed, and a `node:net`
 * server that accepts TCP and never answers (a TLS handshake that never completes).
 */
import { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createNetServer, type Socket } from "node:net";
import { testCerts } from "./certs.ts";

/** A running hostile server. */
export interface HostileServer {
  url: string;
  /** Requests whose body has been read. */
  requests(): number;
  /** Sockets accepted, and sockets closed so far. */
  sockets(): { opened: number; closed: number };
  [Symbol.asyncDispose](): Promise<void>;
}

/** Answers each request (its body already read, given as `body`). */
export type Answer = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

/** An HTTP (or, with `tls`, HTTPS with the self-signed test certificate) server. */
export async function hostileServer(answer: Answer, tls = false): Promise<HostileServer> {
  let requests = 0;
  let opened = 0;
  let closed = 0;
  const live = new Set<Socket>();
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      requests++;
      answer(req, res, Buffer.concat(chunks));
    });
  };
  let server: Server;
  if (tls) {
    const certs = testCerts();
    server = createHttpsServer({
      cert: readFileSync(certs.selfSignedCert),
      key: readFileSync(certs.selfSignedKey),
    }, handler);
  } else server = createHttpServer(handler);
  const onSocket = (socket: Socket): void => {
    opened++;
    live.add(socket);
    socket.on("close", () => {
      closed++;
      live.delete(socket);
    });
  };
  server.on(tls ? "secureConnection" : "connection", onSocket);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `${tls ? "https" : "http"}://127.0.0.1:${port}/rpc`,
    requests: () => requests,
    sockets: () => ({ opened, closed }),
    async [Symbol.asyncDispose]() {
      for (const socket of live) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Writes `chunk` to `res` forever, as fast as the peer reads, until the socket closes. */
export function endless(res: ServerResponse, chunk: Buffer): void {
  let stopped = false;
  res.on("close", () => stopped = true);
  const pump = (): void => {
    while (!stopped && res.write(chunk)) { /* keep writing until the buffer is full */ }
    if (!stopped) res.once("drain", pump);
  };
  pump();
}

/** A TCP server that accepts, reads and never writes: TLS never gets past the ClientHello. */
export async function silentTcpServer(): Promise<
  { port: number; accepted(): number; [Symbol.asyncDispose](): Promise<void> }
> {
  let accepted = 0;
  const live = new Set<Socket>();
  const server = createNetServer((socket) => {
    accepted++;
    live.add(socket);
    socket.on("close", () => live.delete(socket));
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    accepted: () => accepted,
    async [Symbol.asyncDispose]() {
      for (const socket of live) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A binary-protocol (strict) message answering an `i32` method: `name`, `type`, `seqid`. */
export function i32Reply(name: string, type: number, seqid: number, value: number): Buffer {
  const nameBytes = Buffer.from(name, "utf8");
  const out = Buffer.alloc(12 + nameBytes.length + 8);
  let at = out.writeUInt32BE((0x80010000 | type) >>> 0, 0);
  at = out.writeInt32BE(nameBytes.length, at);
  at += nameBytes.copy(out, at);
  at = out.writeInt32BE(seqid, at);
  at = out.writeInt8(8, at); // field 0 ("success"), type i32
  at = out.writeInt16BE(0, at);
  at = out.writeInt32BE(value, at);
  out.writeInt8(0, at); // field stop
  return out;
}

/** The method name and sequence id of a strict binary-protocol request. */
export function requestHeader(body: Buffer): { name: string; seqid: number } {
  const length = body.readInt32BE(4);
  return {
    name: body.toString("utf8", 8, 8 + length),
    seqid: body.readInt32BE(8 + length),
  };
}
