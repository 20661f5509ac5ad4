/**
 * What the Deno and Bun listeners share: the loopback address, how a listener is named in
 * messages (as a client would name the server), and handing accepted streams over.
 *
 * @module
 */
import type { ByteStream, DialTarget, StreamHandlers } from "../transport/byte_stream.ts";
import type { Accept, ListenTarget } from "../transport/listener.ts";

/** The only address the test server listens on. */
export const LOOPBACK = "127.0.0.1";

/** The listener as a dial target: its URL as `label`, for stream and listen errors. */
export function listenerName(target: ListenTarget, port: number): DialTarget {
  return target.kind === "unix"
    ? { kind: "unix", path: target.path, label: `unix:${target.path}` }
    : {
      kind: "tcp",
      host: target.host ?? LOOPBACK,
      port,
      label: `tcp://${target.host ?? LOOPBACK}:${port}`,
    };
}

/**
 * Hands the stream of an accepted connection to `accept`: `open` wraps the connection with
 * handlers that pass its events on to those `accept` returns (no event comes before then).
 */
export function accepted(accept: Accept, open: (handlers: StreamHandlers) => ByteStream): void {
  const forward: StreamHandlers = {
    onData: (chunk) => handlers.onData(chunk),
    onClose: (error) => handlers.onClose(error),
  };
  const handlers = accept(open(forward));
}
