/**
 * An embedded Thrift backend for the examples: npm `thrift`'s own server serving the
 * `Calculator` service of tests/idl/test.thrift on 127.0.0.1 and a free port.
 */
import type { AddressInfo, Server, Socket } from "node:net";
import thrift from "thrift";
import { Calculator, NotFound } from "../tests/gen/test.ts";

interface ThriftServerApi {
  createServer(service: unknown, handler: object, options?: object): Server;
}

const handler = {
  add: (a: number, b: number) => a + b,
  fail: (message: string) => Promise.reject(new NotFound({ message, code: 404 })),
  echoString: (s: string) => s,
  sleep: (ms: number) => new Promise((resolve) => setTimeout(() => resolve(ms), ms)),
  notify: (message: string) => console.log(`backend: notified "${message}"`),
};

/** Starts the backend; returns its URL and a way to stop it. */
export async function startBackend(): Promise<
  { url: string; stop(): Promise<void> }
> {
  const server = (thrift as unknown as ThriftServerApi).createServer(
    Calculator,
    handler,
  );
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `tcp://127.0.0.1:${port}`,
    stop: () => {
      for (const socket of sockets) socket.destroy(); // pooled clients keep theirs open
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
