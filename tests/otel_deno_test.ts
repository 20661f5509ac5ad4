/**
 * Deno's own OpenTelemetry (`OTEL_DENO=true`): a `Deno.serve(thrift.autoconnect(h))` app in a
 * child `deno run` process exports its spans over OTLP/HTTP (JSON) to a receiver this test
 * runs on loopback; the Thrift CLIENT span is there, a child of Deno's request span, in the
 * same trace. The spans really leave the process.
 *
 * Runs under `deno test -A tests/otel_deno_test.ts` and `bun test tests/otel_deno_test.ts`
 * (the app is always Deno).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { it } from "node:test";
import { pythonThriftAvailable, startPythonPeer } from "./helpers/python_peer.ts";
import { serve } from "./helpers/serve.ts";

const DENO = decodeURIComponent(new URL("../node_modules/.bin/deno", import.meta.url).pathname);
const APP = decodeURIComponent(new URL("./fixtures/otel_deno_app.ts", import.meta.url).pathname);

interface OtlpSpan {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: { key: string; value: Record<string, unknown> }[];
}

/** Runs the app with Deno's OTLP exporter pointed at `endpoint`; resolves with its output. */
function runApp(endpoint: string, thriftUrl: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(DENO, ["run", "-A", APP], {
      env: {
        ...process.env,
        NO_COLOR: "1",
        OTEL_DENO: "true",
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        OTEL_DENO_CONSOLE: "ignore",
        THRIFT_URL: thriftUrl,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => output += chunk);
    child.stderr.on("data", (chunk) => output += chunk);
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`the app exited with ${code}: ${output}`));
    });
  });
}

it("OTEL_DENO=true: the call's span reaches an OTLP receiver under Deno.serve's span", {
  skip: !pythonThriftAvailable(),
  timeout: 90_000,
}, async () => {
  await using peer = await startPythonPeer({ transport: "tcp", protocol: "binary" });
  const spans: OtlpSpan[] = [];
  await using receiver = serve(async (request) => {
    if (new URL(request.url).pathname === "/v1/traces") {
      const body = await request.json() as {
        resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[];
      };
      for (const r of body.resourceSpans) for (const s of r.scopeSpans) spans.push(...s.spans);
    } else {
      await request.body?.cancel();
    }
    return Response.json({});
  });
  const output = await runApp(receiver.url, peer.url);
  assert.match(output, /answer 42/);
  const call = spans.find((s) => s.name === "Calculator/add");
  assert.ok(call, `spans received: ${spans.map((s) => s.name).join(", ")}`);
  assert.equal(call.kind, 3); // SPAN_KIND_CLIENT
  const parent = spans.find((s) => s.spanId === call.parentSpanId);
  assert.ok(parent, "the call span's parent was exported too");
  assert.equal(parent.kind, 2); // SPAN_KIND_SERVER: Deno.serve's request span
  assert.equal(parent.traceId, call.traceId);
  const method = call.attributes.find((a) => a.key === "rpc.method");
  assert.deepEqual(method?.value, { stringValue: "Calculator/add" });
});
