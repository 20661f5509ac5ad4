/**
 * A TCP proxy in front of a test server that can kill connections: all of them at once, or
 * every n-th message a client sends. Runs on `node:net` under both runtimes.
 */
import { createConnection, createServer, type Socket } from "node:net";

/** A running proxy; dispose it to stop it. */
export interface KillingProxy {
  /** `tcp://127.0.0.1:PORT`. */
  url: string;
  /** Destroys every proxied connection (both sides). */
  killAll(): void;
  /** Destroys the oldest proxied connection (both sides). */
  killOne(): void;
  /** From now on, the connection carrying every `n`-th client chunk is destroyed instead. */
  killEvery(n: number): void;
  /** Connections killed so far. */
  killed(): number;
  /** Client connections open now. */
  live(): number;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts a proxy on 127.0.0.1, port 0, to `port`. */
export async function startKillingProxy(port: number): Promise<KillingProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let every = 0;
  let chunks = 0;
  let killed = 0;
  const kill = (pair: [Socket, Socket]) => {
    if (!pairs.delete(pair)) return;
    killed++;
    pair[0].destroy();
    pair[1].destroy();
  };
  const server = createServer((client) => {
    const upstream = createConnection({ host: "127.0.0.1", port });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const forget = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("data", (chunk) => {
      if (every > 0 && ++chunks % every === 0) return kill(pair);
      upstream.write(chunk);
    });
    upstream.on("data", (chunk) => client.write(chunk));
    client.on("close", forget);
    upstream.on("close", forget);
    client.on("error", () => {});
    upstream.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  return {
    url: `tcp://127.0.0.1:${address.port}`,
    killAll: () => [...pairs].forEach(kill),
    killOne: () => {
      const [oldest] = pairs;
      if (oldest) kill(oldest);
    },
    killEvery: (n) => {
      every = n;
      chunks = 0;
    },
    killed: () => killed,
    live: () => pairs.size,
    async [Symbol.asyncDispose]() {
      [...pairs].forEach(kill);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
