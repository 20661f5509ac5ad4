/**
 * The web app the demo serves (on Deno.serve or Bun.serve): an HTML page and a JSON
 * endpoint, both answered with data from Thrift calls made through `thrift.client`, with
 * the failure paths a user meets: bad input (400), a declared exception (400 with its
 * message), and a backend that is down (503, from `unavailable`).
 */
import { type ThriftClient, ThriftClientError } from "../mod.ts";
import { type CalculatorClient, NotFound } from "../tests/gen/test.ts"; // written by ./gen
import { PANEL } from "./_panel.ts";
import type { StatsSnapshot } from "./_stats.ts";
const I32 = /^-?\d{1,10}$/;

/** Reads an i32 query parameter, or explains what is wrong with it. */
function i32(url: URL, name: string, fallback: number): number | string {
  const text = url.searchParams.get(name);
  if (text === null) return fallback;
  const n = Number(text);
  if (!I32.test(text) || n < -(2 ** 31) || n > 2 ** 31 - 1) {
    return `${name} must be an integer from -2147483648 to 2147483647`;
  }
  return n;
}

/**
 * The server's error handler (`onError` of Deno.serve, `error` of Bun.serve): a 503 with a
 * short body when the backend cannot be reached or answer, a 500 otherwise. The details,
 * backend URL included, go to the server's log only, never to the HTTP client.
 */
export function unavailable(error: unknown): Response {
  console.error(error);
  const backend = error instanceof ThriftClientError && error.code !== "CONFIG";
  return backend
    ? new Response("Service unavailable: the backend cannot be reached. Try again later.\n", {
      status: 503,
      headers: { "retry-after": "5" },
    })
    : new Response("Internal server error\n", { status: 500 });
}

/**
 * Builds the request handler; wrap it with `thrift.autoconnect`. With `stats` (the snapshot
 * of a `callStats()` hook), `/stats` answers it with the pool counters, and the page shows
 * the live panel.
 */
export function app(
  thrift: ThriftClient<CalculatorClient>,
  stopBackend?: () => Promise<void>,
  stats?: () => StatsSnapshot,
): (request: Request) => Promise<Response> {
  return async (request) => {
    const url = new URL(request.url);
    if (url.pathname === "/stats" && stats) {
      return Response.json({ ...stats(), pool: thrift.pool ?? null });
    }
    if (url.pathname === "/backend/stop" && stopBackend) {
      await stopBackend();
      return new Response("The backend is stopped: every page now answers 503.\n");
    }
    if (url.pathname === "/api/fail") {
      try {
        await thrift.client.fail(url.searchParams.get("message") ?? "nothing here");
        return Response.json({ failed: false });
      } catch (error) {
        if (!(error instanceof NotFound)) throw error;
        return Response.json({ error: error.message }, { status: 400 });
      }
    }
    const a = i32(url, "a", 2);
    const b = i32(url, "b", 40);
    if (typeof a === "string" || typeof b === "string") {
      return Response.json({ error: typeof a === "string" ? a : b }, { status: 400 });
    }
    if (url.pathname === "/api/add") {
      return Response.json({ a, b, sum: await thrift.client.add(a, b) });
    }
    if (url.pathname !== "/") return new Response("not found", { status: 404 });
    const sum = await thrift.client.add(a, b);
    const echo = await thrift.client.echoString("hello from the Thrift backend");
    return new Response(
      `<!doctype html><title>thrift-client demo</title>
<h1>${a} + ${b} = ${sum}</h1>
<p>Computed by a Thrift call, which also says: <q>${echo}</q></p>
<p>Try <a href="/?a=7&b=35">/?a=7&amp;b=35</a>, the JSON endpoint
<a href="/api/add?a=1&b=2">/api/add?a=1&amp;b=2</a>, bad input
<a href="/api/add?a=abc">/api/add?a=abc</a>, a declared exception
<a href="/api/fail?message=no+such+thing">/api/fail</a>, or
<a href="/backend/stop">stop the backend</a> and reload.</p>
${stats ? PANEL : ""}`,
      { headers: { "content-type": "text/html; charset=utf-8" } },
    );
  };
}
