/**
 * Listening on Deno, for the test server: `Deno.listen` (tcp on 127.0.0.1, or unix) with
 * each connection wrapped like a dialed one, and `Deno.serve` for HTTP.
 *
 * @module
 */
import type { Listen, Listening, ListenTarget, ServeHttp } from "../transport/listener.ts";
import { listenError } from "./_errors.ts";
import { accepted, listenerName, LOOPBACK } from "./_listen.ts";
import { denoStream } from "./deno_stream.ts";

function listenOn(target: ListenTarget): Deno.Listener {
  try {
    return target.kind === "unix"
      ? Deno.listen({ transport: "unix", path: target.path })
      : Deno.listen({ hostname: target.host ?? LOOPBACK, port: target.port });
  } catch (error) {
    throw listenError(listenerName(target, target.kind === "tcp" ? target.port : 0).label, error);
  }
}

/** Listens with `Deno.listen`; each accepted conn becomes a stream handed to `accept`. */
export const denoListen: Listen = (target, accept): Listening => {
  const listener = listenOn(target);
  const port = target.kind === "tcp" ? (listener.addr as Deno.NetAddr).port : 0;
  const where = listenerName(target, port);
  const acceptLoop = async (): Promise<void> => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return; // closed (or unusable: nothing more will be accepted)
      }
      if (target.kind === "tcp") (conn as Deno.TcpConn).setNoDelay(true);
      accepted(accept, (handlers) => denoStream(conn, where, handlers)); // reads from the next tick
    }
  };
  const accepting = acceptLoop();
  return {
    port,
    close(): Promise<void> {
      try {
        listener.close();
      } catch { /* closed already */ }
      return accepting;
    },
  };
};

/** Serves HTTP with `Deno.serve`, silently (no "Listening on" line). */
export const denoServeHttp: ServeHttp = (port, handler): Listening => {
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({ hostname: LOOPBACK, port, onListen() {} }, handler);
  } catch (error) {
    throw listenError(`http://${LOOPBACK}:${port}/`, error);
  }
  let closed: Promise<void> | undefined;
  return {
    port: server.addr.port,
    close(): Promise<void> {
      closed ??= server.shutdown();
      return closed;
    },
  };
};
