/**
 * The web app the demo serves (on Deno.serve or Bun.serve): an HTML page and a JSON
 * endpoint, both answered with data from Thrift calls made through `thrift.client`.
 */
import type { ThriftClient } from "../mod.ts";

/** The generated Calculator client's methods the app uses. */
export interface Calculator {
  add(a: number, b: number): Promise<number>;
  echoString(s: string): Promise<string>;
}

/** Builds the request handler; wrap it with `thrift.autoconnect`. */
export function app(
  thrift: ThriftClient<Calculator>,
): (request: Request) => Promise<Response> {
  return async (request) => {
    const url = new URL(request.url);
    const a = Number(url.searchParams.get("a") ?? 2);
    const b = Number(url.searchParams.get("b") ?? 40);
    if (url.pathname === "/api/add") {
      return Response.json({
        a,
        b,
        sum: await thrift.client.add(a, b),
        backend: thrift.url,
      });
    }
    if (url.pathname !== "/") return new Response("not found", { status: 404 });
    const sum = await thrift.client.add(a, b);
    const echo = await thrift.client.echoString(`hello from ${thrift.url}`);
    return new Response(
      `<!doctype html><title>thrift-client demo</title>
<h1>${a} + ${b} = ${sum}</h1>
<p>Computed by a Thrift call to <code>${thrift.url}</code>, which also says: <q>${echo}</q></p>
<p>Try <a href="/?a=7&b=35">/?a=7&amp;b=35</a> or the JSON endpoint
<a href="/api/add?a=1&b=2">/api/add?a=1&amp;b=2</a>.</p>`,
      { headers: { "content-type": "text/html; charset=utf-8" } },
    );
  };
}
