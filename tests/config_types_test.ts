/**
 * Compile-time checks of the options types: `deno check` (scripts/check.sh) fails if any
 * `@ts-expect-error` line below stops being an error. At run time the accepted forms are built.
 */
import assert from "node:assert/strict";
import process from "node:process";
import { describe, it } from "node:test";
import { type ProtocolName, ThriftClient, type ThriftClientConfig } from "../mod.ts";
import { Calculator } from "./helpers/calculator.ts";

const Client = Calculator.Client;

/** Never called: only type-checked. */
export function rejectedAtCompileTime(): void {
  // @ts-expect-error: "timout" is not an option
  new ThriftClient(Client, { timout: 5 });
  // @ts-expect-error: timeout is a number
  new ThriftClient(Client, { timeout: "5000" });
  // @ts-expect-error: pool.max is a number
  new ThriftClient(Client, { pool: { max: "3" } });
  // @ts-expect-error: "maxx" is not a pool option
  new ThriftClient(Client, { pool: { maxx: 3 } });
  // @ts-expect-error: ssl.validate is a boolean
  new ThriftClient(Client, { ssl: { validate: "no" } });
  // @ts-expect-error: typo in fromEnv options too
  ThriftClient.fromEnv(Client, { timout: 5 });
}

describe("options types", { timeout: 10_000 }, () => {
  it("accepts seed keys, mixed keys, process.env, Deno-style records and camelCase", async () => {
    const seedOnly: ThriftClientConfig = { THRIFTCLIENT_TRANSPORT: "tcp://a:1" };
    const env: Record<string, string> = { THRIFTCLIENT_TRANSPORT: "tcp://b:2", HOME: "/" };
    const clients = [
      new ThriftClient(Client, seedOnly),
      new ThriftClient(Client, { THRIFTCLIENT_TRANSPORT: "tcp://c:3", timeout: 5 }),
      new ThriftClient(Client, env),
      new ThriftClient(Client, process.env),
      new ThriftClient(Client, { transport: new URL("tcp://d:4"), pool: { max: 2 } }),
      new ThriftClient(Client),
      ThriftClient.fromEnv(Client),
      ThriftClient.fromEnv(Client, { protocol: ThriftClient.COMPACT, pool: true }),
    ];
    assert.deepEqual(clients.slice(0, 3).map((c) => c.url), [
      "tcp://a:1",
      "tcp://c:3",
      "tcp://b:2",
    ]);
    await Promise.all(clients.map((c) => c.close()));
  });

  it("types the protocol constants as protocol names", () => {
    const binary: "BINARY" = ThriftClient.BINARY;
    const compact: "COMPACT" = ThriftClient.COMPACT;
    const json: "JSON" = ThriftClient.JSON;
    const names: ProtocolName[] = [binary, compact, json];
    assert.deepEqual(names, ["BINARY", "COMPACT", "JSON"]);
  });

  it("lets connect() be called without options", async () => {
    const thrift = new ThriftClient(Client, { transport: "tcp://127.0.0.1:1" });
    const connection = thrift.connect();
    await thrift.close();
    assert.equal(connection.state, "closed");
  });
});
