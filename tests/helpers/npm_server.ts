/**
 * A Thrift test server built on the npm `thrift` package's own socket server
 * (`thrift.createServer` / `thrift.createMultiplexServer`), started and stopped inside a
 * test. It serves `Calculator` (and, multiplexed, `Greeter`) from `tests/idl/test.thrift`
 * over tcp or a unix socket, in any of the three protocols, framed or not, and counts the
 * connections it accepts so tests can check that clients close what they open.
 *
 * Works under `deno test` and `bun test` (both run the package's `node:net` server).
 */
import type { Buffer } from "node:buffer";
import { mkdtempSync, rmSync } from "node:fs";
import type { Server, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  Calculator,
  type CalculatorHandler,
  Greeter,
  type GreeterHandler,
  type Int64,
  type Nested,
  types,
} from "./calculator.ts";
import { npmTransport, thrift } from "./npm_thrift.ts";

// the npm server warns on every reply it writes in the compact protocol ("SeqId already set")
thrift.setLogLevel("info"); // npm thrift's quietest level: "error" also enables warnings

// ---- public API ----

/** How `startNpmServer` listens and speaks. Every field is optional. */
export interface NpmServerOptions {
  /** Wire protocol; default `"binary"`. */
  protocol?: "binary" | "compact" | "json";
  /** `TFramedTransport` when true, else `TBufferedTransport` (unframed). */
  framed?: boolean;
  /** Listen on a unix socket in a fresh temporary directory, else on 127.0.0.1, port 0. */
  unix?: boolean;
  /** Serve Calculator and Greeter behind a multiplexed processor under those names. */
  multiplex?: boolean;
}

/** A running npm `thrift` server; dispose it (`await using`) to stop it. */
export interface NpmServer {
  /** `tcp://127.0.0.1:PORT` or `unix:/tmp/.../thrift.sock`. */
  url: string;
  /** The TCP port (tcp only). */
  port?: number | undefined;
  /** The socket path (unix only). */
  path?: string | undefined;
  /** Sockets currently open on the server side. */
  liveConnections(): number;
  /** Sockets accepted since start. */
  totalConnections(): number;
  /**
   * Resolves once `liveConnections() === n`; rejects after `timeoutMs` (default 2000)
   * with a message giving the expected and actual counts.
   */
  waitForConnections(n: number, timeoutMs?: number): Promise<void>;
  /** Messages received by the oneway `notify()`, in order. */
  notified: string[];
  /**
   * Errors the npm server reported (socket errors, garbage it could not parse). They are
   * collected here instead of crashing the test process.
   */
  errors: Error[];
  /** Destroys every open socket, closes the server and removes the temporary directory. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * The Calculator handler, as the IDL comments describe it. `notify` appends to `notified`.
 * Pending `sleep` timers are cleared when `signal` aborts (the call then never answers).
 *
 * Methods that fail return rejected promises instead of throwing: the generated processor
 * calls the handler outside its promise chain, so a synchronous throw would escape to the
 * npm server, which drops the connection instead of answering.
 */
export const calculatorHandler = (
  notified: string[],
  signal?: AbortSignal,
): CalculatorHandler => ({
  add(a: number, b: number): number {
    return a + b;
  },
  echoString(s: string): string {
    return s;
  },
  echoI64(v: Int64): Int64 {
    return v;
  },
  echoI64Map(m: Record<string, string>): Record<string, string> {
    return m;
  },
  echoBinary(b: Buffer): Buffer {
    return b;
  },
  echoNested(n: Nested): Nested {
    return n;
  },
  fail(message: string): Promise<never> {
    return Promise.reject(new types.NotFound({ message, code: 404 }));
  },
  crash(): Promise<never> {
    return Promise.reject(new Error("crash: an undeclared server error"));
  },
  sleep(ms: number): Promise<number> {
    return new Promise((resolve) => {
      if (signal?.aborted) return;
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", cancel);
        resolve(ms);
      }, ms);
      const cancel = () => clearTimeout(timer);
      signal?.addEventListener("abort", cancel, { once: true });
    });
  },
  notify(message: string): void {
    notified.push(message);
  },
  notified(): string[] {
    return [...notified];
  },
  header(_name: string): string {
    return "";
  },
});

/** The Greeter handler: `greet(name)` answers `"hello " + name`. */
export const greeterHandler = (): GreeterHandler => ({
  greet(name: string): string {
    return "hello " + name;
  },
});

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Starts an npm `thrift` server serving Calculator (and Greeter when multiplexed) and
 * resolves once it listens.
 */
export async function startNpmServer(
  opts: NpmServerOptions = {},
): Promise<NpmServer> {
  const options = npmTransport(opts.protocol, opts.framed);

  const notified: string[] = [];
  const errors: Error[] = [];
  const stop = new AbortController();
  const calculator = calculatorHandler(notified, stop.signal);

  let server: Server;
  if (opts.multiplex) {
    const processor = new thrift.MultiplexedProcessor();
    processor.registerProcessor(
      "Calculator",
      new Calculator.Processor(calculator),
    );
    processor.registerProcessor(
      "Greeter",
      new Greeter.Processor(greeterHandler()),
    );
    server = thrift.createMultiplexServer(processor, options);
  } else {
    server = thrift.createServer(Calculator, calculator, options);
  }

  // The npm server re-emits every socket error and every message it cannot process as an
  // 'error' on the net.Server; without a listener that would throw and kill the test run.
  server.on("error", (err: unknown) => errors.push(toError(err)));

  const sockets = new Set<Socket>();
  const watchers = new Set<() => void>();
  let total = 0;
  const changed = () => {
    for (const watch of [...watchers]) watch();
  };
  server.on("connection", (socket: Socket) => {
    total++;
    sockets.add(socket);
    socket.setNoDelay(true); // the npm server writes each reply at once; don't let Nagle hold it
    // The npm server already listens for 'error' on each socket; this one makes sure a
    // reset is never unhandled even if that changes.
    socket.on("error", () => {});
    socket.once("close", () => {
      sockets.delete(socket);
      changed();
    });
    changed();
  });

  const dir = opts.unix ? mkdtempSync(join(tmpdir(), "npm-thrift-")) : undefined;
  const path = dir ? join(dir, "thrift.sock") : undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: unknown) => reject(toError(err));
      server.once("error", onError);
      const onListening = () => {
        server.off("error", onError);
        resolve();
      };
      if (path) server.listen(path, onListening);
      else server.listen(0, "127.0.0.1", onListening);
    });
  } catch (err) {
    if (dir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  let port: number | undefined;
  let url: string;
  if (path) {
    url = `unix:${path}`;
  } else {
    const address = server.address();
    if (address === null || typeof address === "string") {
      server.close();
      throw new Error(`unexpected server address ${String(address)}`);
    }
    port = address.port;
    url = `tcp://127.0.0.1:${port}`;
  }

  const waitForConnections = (n: number, timeoutMs = 2000): Promise<void> => {
    if (sockets.size === n) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        watchers.delete(watch);
      };
      const watch = () => {
        if (sockets.size === n) {
          done();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `waitForConnections(${n}) timed out after ${timeoutMs} ms: ` +
              `${sockets.size} connection(s) open on ${url}, expected ${n} ` +
              `(${total} accepted since start)`,
          ),
        );
      }, timeoutMs);
      watchers.add(watch);
    });
  };

  let disposed: Promise<void> | undefined;
  const dispose = async (): Promise<void> => {
    stop.abort();
    const closed = new Promise<void>((resolve) => {
      // Resolves once the listener is gone and every socket has closed; an error (for
      // example "not running") means there is nothing left to wait for.
      server.close(() => resolve());
    });
    for (const socket of sockets) socket.destroy();
    await closed;
    // Bun calls the close callback before destroyed sockets report 'close'; wait for them
    // so liveConnections() is 0 once dispose resolves (bounded: never hang a test here).
    await waitForConnections(0, 2000).catch(() => {});
    if (dir) rmSync(dir, { recursive: true, force: true });
  };

  return {
    url,
    port,
    path,
    notified,
    errors,
    liveConnections: () => sockets.size,
    totalConnections: () => total,
    waitForConnections,
    [Symbol.asyncDispose](): Promise<void> {
      disposed ??= dispose();
      return disposed;
    },
  };
}
