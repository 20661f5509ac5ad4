/**
 * Serves a `Request -> Response` handler with the runtime's own server: `Deno.serve` under
 * Deno, `Bun.serve` under Bun, on 127.0.0.1 and a free port.
 */

/** A running HTTP server. */
export interface HttpServer {
  url: string;
  [Symbol.asyncDispose](): Promise<void>;
}

type Handler = (request: Request) => Response | Promise<Response>;

interface DenoServe {
  serve(
    options: {
      port: number;
      hostname: string;
      onListen(): void;
      onError?(e: unknown): Response;
    },
    handler: Handler,
  ): { addr: { port: number }; shutdown(): Promise<void> };
}

interface BunServe {
  serve(
    options: {
      port: number;
      hostname: string;
      fetch: Handler;
      error?(e: unknown): Response;
    },
  ): { port: number; stop(force?: boolean): Promise<void> | void };
}

/** Starts `handler` on the current runtime's native HTTP server. */
export function serve(
  handler: Handler,
  onError?: (error: unknown) => Response,
): HttpServer {
  const g = globalThis as { Deno?: DenoServe; Bun?: BunServe };
  if (g.Bun) {
    const server = g.Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: handler,
      ...(onError ? { error: onError } : {}),
    });
    return {
      url: `http://127.0.0.1:${server.port}`,
      async [Symbol.asyncDispose]() {
        await server.stop(true);
      },
    };
  }
  const server = g.Deno!.serve({
    port: 0,
    hostname: "127.0.0.1",
    onListen() {},
    ...(onError ? { onError } : {}),
  }, handler);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}
