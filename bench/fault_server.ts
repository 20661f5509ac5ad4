/**
 * One server of the fault simulation (bench/fault_sim.ts), in a process of its own so that it
 * can be killed and restarted: `serve()` of the test service on `HOST:PORT`, tcp, binary.
 * `add(a, b)` answers `a + b + tag` (tag = the host's last octet × 1000), so the caller knows
 * which server answered. Lines on stdin steer it: `slow MS` delays every call by MS ms,
 * `fast` stops that. It prints one line, `ready URL`, once it listens, and exits when stdin
 * closes (so it never outlives the simulation).
 *
 *   deno run -A bench/fault_server.ts 127.0.0.2 9090
 *   bun bench/fault_server.ts 127.0.0.2 9090
 */
import process from "node:process";
import { createInterface } from "node:readline";
import { serve } from "../src/testing.ts";
import { Calculator } from "../tests/helpers/calculator.ts";

const [host = "127.0.0.2", port = "0"] = process.argv.slice(2);
const tag = Number(host.split(".").at(-1)) * 1000;
let delay = 0;

/** Waits the current delay (none when fast). */
function slowed(): Promise<void> | undefined {
  return delay > 0 ? new Promise((resolve) => setTimeout(resolve, delay)) : undefined;
}

const server = serve(Calculator, {
  add: async (a: number | null, b: number | null) => {
    await slowed();
    return (a ?? 0) + (b ?? 0) + tag;
  },
  echoString: async (s: string | null) => {
    await slowed();
    return s ?? "";
  },
}, { host, port: Number(port) });
server.calls.length = 0; // nobody reads them: keep memory flat
const forget = setInterval(() => server.calls.length = 0, 1_000);
console.log(`ready ${server.url}`);

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  const [command, value] = line.trim().split(/\s+/);
  if (command === "slow") delay = Number(value) || 0;
  else if (command === "fast") delay = 0;
});
lines.on("close", async () => {
  clearInterval(forget);
  await server.close();
  process.exit(0);
});
