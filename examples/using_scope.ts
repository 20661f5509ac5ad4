/**
 * A script using `connect()` with `using` and `await using`: the connection closes at the
 * end of each block. Run with Deno or Bun: `npx deno run -A examples/using_scope.ts`.
 */
import { ThriftClient } from "../mod.ts";
import { serve } from "../src/testing.ts";
import { Calculator } from "../tests/gen/test.ts";

await using backend = serve(Calculator, { add: (a: number, b: number) => a + b });
const thrift = new ThriftClient(Calculator.Client, {
  transport: backend.url,
});

{
  using conn = thrift.connect(); // closed at once at the end of the block
  console.log(`using: 1 + 2 = ${await conn.client.add(1, 2)}`);
}
{
  await using conn = thrift.connect(); // waits for calls in flight, then closes
  const sums = await Promise.all([
    conn.client.add(3, 4),
    conn.client.add(5, 6),
  ]);
  console.log(`await using: ${sums.join(", ")}`);
}
