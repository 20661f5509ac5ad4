/**
 * Configuration from the environment, like the seed's `app.config`: set `THRIFTCLIENT_*`
 * variables, then `ThriftClient.fromEnv`. Run:
 * `THRIFTCLIENT_TRANSPORT=tcp://127.0.0.1:9090 npx deno run -A examples/from_env.ts`
 * (without the variable, an embedded backend is started and used).
 */
import process from "node:process";
import { ThriftClient } from "../mod.ts";
import { serve } from "../src/testing.ts";
import { Calculator } from "../tests/gen/test.ts";

await using backend = process.env.THRIFTCLIENT_TRANSPORT
  ? undefined
  : serve(Calculator, { add: (a: number, b: number) => a + b });
if (backend) process.env.THRIFTCLIENT_TRANSPORT = backend.url;

const thrift = ThriftClient.fromEnv(Calculator.Client);
console.log(
  `from_env: ${thrift.url} says 2 + 2 = ${await thrift.client.add(2, 2)}`,
);
