/** npm `thrift`'s own Calculator (and Greeter) clients on one of its connections. */
import { Calculator, type CalculatorClient, Greeter, type GreeterClient } from "./calculator.ts";
import { type NpmConnection, thrift } from "./npm_thrift.ts";
import { within } from "./within.ts";

/** How `openNpmClient` waits and closes. */
export interface NpmClientOptions {
  /** Named in a failure to connect, e.g. the server's URL. */
  label: string;
  /** How long to wait for the connection to open. */
  connectTimeoutMs: number;
  /** Clients for Calculator and Greeter multiplexed under those names. */
  multiplex?: boolean | undefined;
  /**
   * Dispose destroys a connection that has not closed 2 s after `end()`; else dispose
   * rejects, so the test fails.
   */
  destroyIfNotClosed?: boolean | undefined;
}

/** npm `thrift` clients on an open connection; dispose ends it and waits for the close. */
export interface NpmClient {
  calculator: CalculatorClient;
  /** Only with `multiplex` (a plain connection routes every reply to its one client). */
  greeter?: GreeterClient | undefined;
  /** Errors the connection emitted. */
  errors: unknown[];
  connection: NpmConnection;
  /** Resolves when the connection has closed. */
  closed: Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Waits for `connection` to open, then puts npm `thrift`'s own clients on it. */
export async function openNpmClient(
  connection: NpmConnection,
  options: NpmClientOptions,
): Promise<NpmClient> {
  const errors: unknown[] = [];
  connection.on("error", (err) => errors.push(err));
  let isClosed = false;
  const closed = new Promise<void>((resolve) =>
    connection.once("close", () => {
      isClosed = true;
      resolve();
    })
  );
  try {
    await within(
      `connecting to ${options.label}`,
      options.connectTimeoutMs,
      new Promise<void>((resolve) => connection.once("connect", resolve)),
    );
  } catch (err) {
    connection.destroy();
    throw new Error(
      `${(err as Error).message}; connection errors: ${errors.map(String).join("; ")}`,
    );
  }

  let calculator: CalculatorClient;
  let greeter: GreeterClient | undefined;
  if (options.multiplex) {
    const mux = new thrift.Multiplexer();
    calculator = mux.createClient("Calculator", Calculator, connection);
    greeter = mux.createClient("Greeter", Greeter, connection);
  } else {
    calculator = thrift.createClient(Calculator, connection);
  }
  return {
    calculator,
    greeter,
    errors,
    connection,
    closed,
    async [Symbol.asyncDispose]() {
      if (isClosed) return;
      const gone = within(`closing the connection to ${options.label}`, 2_000, closed);
      connection.end();
      await (options.destroyIfNotClosed ? gone.catch(() => connection.destroy()) : gone);
    },
  };
}
