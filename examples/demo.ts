/**
 * The demo: an embedded Thrift backend and a Deno.serve app that calls it through
 * `autoconnect`, with a live panel of its calls (a hook). Run: `npm run demo` or
 * `npx deno task demo` (then open the printed URL). `--port N` picks the HTTP port (default
 * 8000, or a free one when 8000 is taken; 0 = any free port). Stopping it (Ctrl-C) stops the
 * backend too: it runs in this process.
 */
import { ThriftClient } from "../mod.ts";
import { Calculator } from "../tests/gen/test.ts";
import { app, unavailable } from "./_app.ts";
import { startBackend } from "./_backend.ts";
import { callStats } from "./_stats.ts";

const backend = startBackend();
const stats = callStats();
const thrift = new ThriftClient(Calculator.Client, {
  transport: backend.url,
  pool: true,
  hooks: [stats.hook],
});
const handler = thrift.autoconnect(app(thrift, backend.close, stats.snapshot));

const portFlag = Deno.args.indexOf("--port");
const wanted = portFlag >= 0 ? Number(Deno.args[portFlag + 1]) : 8000;

/** Serves on `port`; when it is taken, says so and takes a free one. */
function listen(port: number): Deno.HttpServer {
  const options = {
    hostname: "127.0.0.1",
    onListen: ({ port }: { port: number }) => console.log(`Listening on http://127.0.0.1:${port}/`),
    onError: unavailable,
  };
  try {
    return Deno.serve({ ...options, port }, handler);
  } catch (error) {
    if (!(error instanceof Deno.errors.AddrInUse) || port === 0) throw error;
    console.log(`Port ${port} is taken: serving on a free port instead.`);
    return Deno.serve({ ...options, port: 0 }, handler);
  }
}

listen(wanted);
