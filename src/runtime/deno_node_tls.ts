/**
 * TLS sockets on `node:tls`, for the Deno adapter only. Deno's own `Deno.connectTls` cannot
 * skip validation, run over a unix socket, check a server name other than the host dialed,
 * or release a socket whose handshake is aborted (its `close()` waits for the handshake to
 * finish: with a stalled peer, forever). `node:tls` in Deno does all four.
 *
 * @module
 */
import { isIP } from "node:net";
import * as tls from "node:tls";
import type {
  ByteStream,
  DialTarget,
  StreamHandlers,
  TlsSettings,
} from "../transport/byte_stream.ts";
import { bareHost, connectError, streamError } from "./_errors.ts";

/** The TLS options shared by sockets and https requests: trust, client cert, name checked. */
export function tlsOptions(settings: TlsSettings): tls.ConnectionOptions {
  const name = bareHost(settings.serverName);
  return {
    ca: settings.ca,
    cert: settings.cert,
    key: settings.key,
    rejectUnauthorized: settings.validate,
    servername: isIP(name) ? undefined : name, // SNI carries host names only
    checkServerIdentity: (_host, cert) => tls.checkServerIdentity(name, cert),
  };
}

/** Opens a TLS stream with `node:tls`; resolves after the handshake and validation. */
export function dialNodeTls(
  target: DialTarget,
  handlers: StreamHandlers,
  signal: AbortSignal,
): Promise<ByteStream> {
  const settings = target.tls as TlsSettings;
  const where = target.kind === "unix"
    ? { path: target.path }
    : { host: bareHost(target.host), port: target.port };
  let socket: tls.TLSSocket;
  try {
    socket = tls.connect({ ...where, ...tlsOptions(settings) });
  } catch (error) { // bad PEM text, for one
    return Promise.reject(connectError(target, error));
  }
  let open = false;
  let closed = false;
  let ending = false;
  const { promise: gone, resolve: markGone } = Promise.withResolvers<void>();
  const finish = (error?: Error): void => {
    if (closed) return;
    closed = true;
    socket.destroy();
    handlers.onClose(error);
    markGone();
  };
  const stream: ByteStream = {
    write(bytes: Uint8Array): void {
      if (!closed && !ending && bytes.length > 0) socket.write(bytes.slice());
    },
    close(): void {
      finish();
    },
    unref: () => void socket.unref(),
    ref: () => void socket.ref(),
    end(): Promise<void> {
      if (!ending && !closed) {
        ending = true;
        socket.end(() => finish()); // after everything written is flushed
      }
      return gone;
    },
  };
  socket.on("data", (chunk: Uint8Array) => {
    if (closed) return;
    try {
      handlers.onData(chunk);
    } catch (error) { // as in the other adapters, a throwing receiver ends the stream
      finish(streamError(target, "read from", error));
    }
  });
  return new Promise<ByteStream>((resolve, reject) => {
    const fail = (error: unknown): void => {
      signal.removeEventListener("abort", onAbort);
      socket.destroy();
      reject(connectError(target, error));
    };
    const onAbort = (): void => {
      socket.destroy();
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("secureConnect", () => {
      if (settings.validate && !socket.authorized) {
        return fail(socket.authorizationError);
      }
      signal.removeEventListener("abort", onAbort);
      if (target.kind === "tcp") socket.setNoDelay(true);
      open = true;
      resolve(stream);
    });
    socket.on("error", (error: Error) => {
      if (!open) fail(error);
      else finish(streamError(target, "read from", error));
    });
    socket.on("close", () => {
      if (!open) fail(new Error("connection closed during the TLS handshake"));
      else finish(); // A clean EOF is not an error here; the core knows whether a call was pending.
    });
  });
}
