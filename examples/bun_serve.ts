/// <reference types="bun-types" />
/**
 * The demo app on Bun.serve: an embedded Thrift backend, and every request handled inside
 * `autoconnect`. Run: `npx bun examples/bun_serve.ts [--port N]`.
 */
import { ThriftClient } from "../mod.ts";
import { Calculator } from "../tests/gen/test.ts";
import { app, unavailable } from "./_app.ts";
import { startBackend } from "./_backend.ts";

const backend = startBackend();
const thrift = new ThriftClient(Calculator.Client, {
  transport: backend.url,
  pool: true,
});

const portFlag = Bun.argv.indexOf("--port");
const server = Bun.serve({
  port: portFlag >= 0 ? Number(Bun.argv[portFlag + 1]) : 8000,
  hostname: "127.0.0.1",
  fetch: thrift.autoconnect(app(thrift, backend.close)),
  error: unavailable,
});
console.log(`Listening on http://127.0.0.1:${server.port}/`);
