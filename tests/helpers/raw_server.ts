/** A raw TCP test server on 127.0.0.1, for servers that misbehave on purpose. */
import { createServer, type Socket } from "node:net";

/** A running raw server; dispose it to stop it. */
export interface RawServer {
  /** `tcp://127.0.0.1:PORT`. */
  url: string;
  /** Client sockets open now. */
  live(): number;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a server that runs `onData` for each chunk a client sends, and `onConnect` for each
 * client as it connects.
 */
export async function rawServer(
  onData: (socket: Socket, chunk: Uint8Array) => void,
  onConnect?: (socket: Socket) => void,
): Promise<RawServer> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.on("data", (chunk: Uint8Array) => onData(socket, chunk));
    onConnect?.(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `tcp://127.0.0.1:${port}`,
    live: () => sockets.size,
    async [Symbol.asyncDispose]() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
