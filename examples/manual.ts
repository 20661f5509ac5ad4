/**
 * The seed's manual mode: `alwaysConnect: false`, then `transport.open()` and `close()`
 * around the calls. Run with Deno or Bun: `npx bun examples/manual.ts`.
 */
import { ThriftClient } from "../mod.ts";
import { serve } from "../src/testing.ts";
import { Calculator } from "../tests/gen/test.ts";

await using backend = serve(Calculator, { add: (a: number, b: number) => a + b });
const thrift = new ThriftClient(Calculator.Client, {
  THRIFTCLIENT_TRANSPORT: backend.url,
  THRIFTCLIENT_ALWAYS_CONNECT: "False",
});

try {
  await thrift.client.add(1, 1);
} catch (error) {
  console.log(`before open: ${(error as Error).message}`);
}
await thrift.transport.open();
console.log(`manual: 20 + 22 = ${await thrift.client.add(20, 22)}`);
await thrift.transport.close();
