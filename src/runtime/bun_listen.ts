/**
 * Listening on Bun, for the test server: `Bun.listen` (tcp on 127.0.0.1, or unix) with each
 * accepted socket wrapped like a dialed one, and `Bun.serve` for HTTP.
 *
 * @module
 */
import type { DialTarget } from "../transport/byte_stream.ts";
import type { Listen, Listening, ListenTarget, ServeHttp } from "../transport/listener.ts";
import { listenError, streamError } from "./_errors.ts";
import { accepted, listenerName, LOOPBACK } from "./_listen.ts";
import {
  type BunListener,
  type BunListenOptions,
  bunServe,
  type BunServer,
  type BunSocket,
  bunSocketListen,
} from "./bun_api.ts";
import { type BunStream, bunStream } from "./bun_stream.ts";

/** Calls `Bun.listen` on the target. */
function listenOn(target: ListenTarget, socket: BunListenOptions["socket"]): BunListener {
  try {
    return target.kind === "unix"
      ? bunSocketListen({ unix: target.path, socket })
      : bunSocketListen({ hostname: target.host ?? LOOPBACK, port: target.port, socket });
  } catch (error) {
    throw listenError(listenerName(target, target.kind === "tcp" ? target.port : 0).label, error);
  }
}

/** Listens with `Bun.listen`; each accepted socket becomes a stream handed to `accept`. */
export const bunListen: Listen = (target, accept): Listening => {
  const streams = new Map<BunSocket, BunStream>();
  // the server as a client names it, in stream errors (events come once `listener` is set)
  const where = (): DialTarget => listenerName(target, listener.port ?? 0);
  const listener = listenOn(target, {
    binaryType: "uint8array",
    open(s) {
      if (target.kind === "tcp") s.setNoDelay(true);
      accepted(accept, (handlers) => {
        const open = bunStream(s, {
          onData: handlers.onData,
          onClose: (error) => {
            streams.delete(s);
            handlers.onClose(error);
          },
        });
        streams.set(s, open);
        return open.stream;
      });
    },
    data(s, chunk) {
      streams.get(s)?.data(chunk);
    },
    drain(s) {
      streams.get(s)?.drain();
    },
    close(s, error) {
      streams.get(s)?.finish(error && streamError(where(), "read from", error));
    },
    error(s, error) {
      streams.get(s)?.finish(streamError(where(), "read from", error));
    },
  });
  return {
    port: listener.port ?? 0,
    close(): Promise<void> {
      listener.stop(); // idempotent; accepted sockets stay with their streams
      return Promise.resolve();
    },
  };
};

/** Serves HTTP with `Bun.serve`. */
export const bunServeHttp: ServeHttp = (port, handler): Listening => {
  let server: BunServer;
  try {
    server = bunServe({ hostname: LOOPBACK, port, fetch: handler });
  } catch (error) {
    throw listenError(`http://${LOOPBACK}:${port}/`, error);
  }
  let closed: Promise<void> | undefined;
  return {
    port: server.port,
    close(): Promise<void> {
      closed ??= server.stop(true);
      return closed;
    },
  };
};
