/**
 * OpenTelemetry through `@opentelemetry/api`, with the official SDK registered for the test: a
 * CLIENT span per call (name, attributes, parent), ERROR spans with `error.type` on failures,
 * W3C `traceparent` reaching the Python peer over HTTP, and the `rpc.client.call.duration`
 * histogram.
 *
 * Runs under `deno test -A tests/otel_test.ts` and `bun test tests/otel_test.ts`.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { ThriftClient } from "../mod.ts";
import { Calculator, Greeter, types } from "./helpers/calculator.ts";
import { testCerts } from "./helpers/certs.ts";
import { registerSdk } from "./helpers/otel_sdk.ts";
import { pythonThriftAvailable, startPythonPeer } from "./helpers/python_peer.ts";

const T = { timeout: 30_000 };

describe("OpenTelemetry", { skip: !pythonThriftAvailable() }, () => {
  it("a CLIENT span per call, a child of the active span", T, async () => {
    await using sdk = registerSdk();
    await using peer = await startPythonPeer({ transport: "tcp", protocol: "compact" });
    const thrift = new ThriftClient(Calculator.Client, {
      transport: peer.url,
      protocol: "compact",
    });
    const parentId = await trace.getTracer("test").startActiveSpan("request", async (parent) => {
      assert.equal(await thrift.client.add(1, 2), 3);
      parent.end();
      return parent.spanContext().spanId;
    });
    await thrift.close();
    const span = sdk.spans().find((s) => s.name === "Calculator/add");
    assert.ok(span, `spans: ${sdk.spans().map((s) => s.name)}`);
    assert.equal(span.kind, SpanKind.CLIENT);
    assert.equal(span.parentSpanContext?.spanId, parentId);
    assert.equal(span.status.code, SpanStatusCode.UNSET);
    const port = Number(new URL(peer.url).port);
    assert.deepEqual(span.attributes, {
      "rpc.system.name": "apache_thrift",
      "rpc.system": "apache_thrift",
      "rpc.method": "Calculator/add",
      "server.address": "127.0.0.1",
      "server.port": port,
      "network.transport": "tcp",
    });
    assert.equal(span.instrumentationScope.name, "@x/thrift-client");
  });

  it("traceparent goes out in the HTTP request headers", T, async () => {
    await using sdk = registerSdk();
    await using peer = await startPythonPeer({ transport: "http", protocol: "binary" });
    const thrift = new ThriftClient(Calculator.Client, { transport: peer.url });
    const sent = await thrift.client.header("traceparent");
    const span = sdk.spans().find((s) => s.name === "Calculator/header")!;
    const { traceId, spanId } = span.spanContext();
    assert.equal(sent, `00-${traceId}-${spanId}-01`);
    assert.equal(span.attributes["network.transport"], "tcp");
  });

  for (const validate of [true, false]) {
    // Deno: its own fetch with the CA, node:https without validation; Bun: its fetch for both
    it(`https (validate: ${validate}): traceparent and hook headers go out`, T, async () => {
      await using sdk = registerSdk();
      const certs = testCerts();
      await using peer = await startPythonPeer({
        transport: "https",
        protocol: "binary",
        tls: { cert: certs.serverCert, key: certs.serverKey },
      });
      const thrift = new ThriftClient(Calculator.Client, {
        transport: peer.url,
        ssl: validate ? { caCerts: certs.caCert } : { validate: false },
        hooks: [(call, next) => (call.headers.set("x-tenant", "acme"), next())],
      });
      const sent = await thrift.client.header("traceparent");
      assert.equal(await thrift.client.header("x-tenant"), "acme");
      const { traceId, spanId } = sdk.spans()[0]!.spanContext();
      assert.equal(sent, `00-${traceId}-${spanId}-01`);
    });
  }

  it("traceparent goes out in THeader info headers", T, async () => {
    await using sdk = registerSdk();
    await using peer = await startPythonPeer({ transport: "tcp", protocol: "header" });
    const thrift = new ThriftClient(Calculator.Client, { transport: peer.url, protocol: "HEADER" });
    const sent = await thrift.client.header("traceparent");
    await thrift.close();
    const { traceId, spanId } = sdk.spans()[0]!.spanContext();
    assert.equal(sent, `00-${traceId}-${spanId}-01`);
  });

  it("a failed call is an ERROR span with error.type, and a duration point", T, async () => {
    await using sdk = registerSdk();
    await using peer = await startPythonPeer({ transport: "tcp", protocol: "binary" });
    const thrift = new ThriftClient(Calculator.Client, { transport: peer.url });
    await assert.rejects(thrift.client.fail("x"), types.NotFound);
    await assert.rejects(thrift.with({ timeout: 50 }).client.sleep(1000), /within 50 ms/);
    const dead = new ThriftClient(Calculator.Client, { transport: "unix:/nonexistent/t.sock" });
    await assert.rejects(dead.client.add(1, 2), /Cannot connect/);
    assert.equal(await thrift.client.add(2, 2), 4);
    await thrift.close();
    const errors = sdk.spans().map((s) => [s.name, s.status.code, s.attributes["error.type"]]);
    assert.deepEqual(errors, [
      ["Calculator/fail", SpanStatusCode.ERROR, "NotFound"],
      ["Calculator/sleep", SpanStatusCode.ERROR, "TIMEOUT"],
      ["Calculator/add", SpanStatusCode.ERROR, "CONNECT"],
      ["Calculator/add", SpanStatusCode.UNSET, undefined],
    ]);
    const unix = sdk.spans()[2]!.attributes;
    assert.equal(unix["server.address"], "/nonexistent/t.sock");
    assert.equal(unix["network.transport"], "unix");
    const points = await sdk.histogram("rpc.client.call.duration");
    const byKey = new Map(points.map((p) => [JSON.stringify(p.attributes), p.value.count]));
    assert.deepEqual(Object.fromEntries(byKey), {
      [JSON.stringify(attrs("fail", "NotFound"))]: 1,
      [JSON.stringify(attrs("sleep", "TIMEOUT"))]: 1,
      [JSON.stringify(attrs("add", "CONNECT"))]: 1,
      [JSON.stringify(attrs("add"))]: 1,
    });
    const sleep = points.find((p) => p.attributes["rpc.method"] === "Calculator/sleep")!;
    assert.ok(sleep.value.sum! >= 0.04 && sleep.value.sum! < 1, `seconds: ${sleep.value.sum}`);
  });

  it("the multiplexed service name names the span", T, async () => {
    await using sdk = registerSdk();
    await using peer = await startPythonPeer({
      transport: "tcp",
      protocol: "binary",
      multiplex: true,
    });
    const thrift = new ThriftClient(Calculator.Client, {
      transport: peer.url,
      service: "Calculator",
    });
    const greeter = new ThriftClient(Greeter.Client, { transport: peer.url, service: "Greeter" });
    assert.equal(await thrift.client.add(1, 1), 2);
    assert.equal(await greeter.client.greet("x"), "hello x");
    await thrift.close();
    await greeter.close();
    assert.deepEqual(sdk.spans().map((s) => s.name), ["Calculator/add", "Greeter/greet"]);
  });

  it("an SDK registered after the first calls is used from then on", T, async () => {
    await using peer = await startPythonPeer({ transport: "tcp", protocol: "binary" });
    const thrift = new ThriftClient(Calculator.Client, { transport: peer.url });
    assert.equal(await thrift.client.add(1, 1), 2); // no SDK yet: no span
    await using sdk = registerSdk();
    assert.equal(await thrift.client.add(2, 2), 4);
    await thrift.close();
    assert.deepEqual(sdk.spans().map((s) => s.name), ["Calculator/add"]);
    assert.equal((await sdk.histogram("rpc.client.call.duration"))[0]?.value.count, 1);
  });

  it("with no SDK registered, no span is made", T, async () => {
    await using peer = await startPythonPeer({ transport: "tcp", protocol: "binary" });
    {
      await using _sdk = registerSdk();
    }
    const thrift = new ThriftClient(Calculator.Client, { transport: peer.url });
    let active: unknown = "unset";
    const probe = new ThriftClient(Calculator.Client, {
      transport: peer.url,
      hooks: [(_call, next) => {
        active = trace.getActiveSpan();
        return next();
      }],
    });
    assert.equal(await thrift.client.add(1, 1), 2);
    assert.equal(await probe.client.add(1, 1), 2);
    assert.equal(active, undefined);
    await thrift.close();
    await probe.close();
  });
});

function attrs(method: string, error?: string): Record<string, string> {
  return {
    "rpc.system.name": "apache_thrift",
    "rpc.method": `Calculator/${method}`,
    ...(error ? { "error.type": error } : {}),
  };
}
