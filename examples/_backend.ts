/**
 * An embedded Thrift backend for the examples: npm `thrift`'s own server serving the
 * `Calculator` service of tests/idl/test.thrift on 127.0.0.1 and a free port.
 */
import type { AddressInfo, Server } from "node:net";
import thrift from "thrift";
import Calculator from "../tests/gen/js/Calculator.js";

interface ThriftServerApi {
  createServer(service: unknown, handler: object, options?: object): Server;
}

const handler = {
  add: (a: number, b: number) => a + b,
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
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `tcp://127.0.0.1:${port}`,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
