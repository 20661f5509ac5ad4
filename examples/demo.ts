/**
 * The demo: an embedded Thrift backend and a Deno.serve app that calls it through
 * `autoconnect`. Run: `npm run demo` or `npx deno task demo` (then open the printed URL). `--port N` picks
 * the HTTP port (default 8000; 0 = any free port).
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

const portFlag = Deno.args.indexOf("--port");
const port = portFlag >= 0 ? Number(Deno.args[portFlag + 1]) : 8000;
Deno.serve({
  port,
  hostname: "127.0.0.1",
  onListen: ({ port }) => console.log(`Listening on http://127.0.0.1:${port}/`),
  onError: unavailable,
}, thrift.autoconnect(app(thrift, backend.close)));
