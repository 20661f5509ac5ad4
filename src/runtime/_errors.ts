/**
 * Maps runtime errors (Deno.errors, Bun and `node:` codes) to this library's errors, once.
 *
 * @module
 */
import { ConnectError, TransportError } from "../errors.ts";
import type { DialTarget } from "../transport/byte_stream.ts";

/** TLS verification codes of OpenSSL / `node:tls` (Bun and `node:tls` use the same names). */
const TLS_CODE = /CERT|SELF_SIGNED|UNABLE_TO_|ALTNAME|HOSTNAME|TLS|SSL/;

/** A short, lower-case reason for a failed socket operation. */
function reason(error: unknown, kind: DialTarget["kind"]): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const key = typeof code === "string" ? code : error.name;
  switch (key) {
    case "ECONNREFUSED":
    case "ConnectionRefused":
      return "connection refused";
    case "ENOENT":
    case "NotFound":
      return kind === "unix" ? "no such socket file" : "host not found";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "host not found";
    case "ECONNRESET":
    case "ConnectionReset":
      return "connection reset by peer";
    case "EPIPE":
    case "BrokenPipe":
      return "broken pipe";
    case "ETIMEDOUT":
    case "TimedOut":
      return "timed out";
    case "EACCES":
    case "PermissionDenied":
      return "permission denied";
    case "EADDRINUSE":
    case "AddrInUse":
      return "address in use";
  }
  if (/failed to lookup address/i.test(error.message)) return "host not found"; // Deno DNS
  // Deno's rustls reports verification failures as InvalidData ("invalid peer certificate: ...").
  if (TLS_CODE.test(key) || /certificate/i.test(error.message)) {
    return `TLS validation failed: ${error.message}`;
  }
  return error.message;
}

/** The `ConnectError` for a dial that failed with `cause`. */
export function connectError(target: DialTarget, cause: unknown): ConnectError {
  return new ConnectError(
    `Cannot connect to "${target.label}": ${reason(cause, target.kind)}`,
    { cause },
  );
}

/** The `TransportError` for an open stream that failed while reading or writing. */
export function streamError(
  target: DialTarget,
  action: "read from" | "write to",
  cause: unknown,
): TransportError {
  return new TransportError(
    `Cannot ${action} "${target.label}": ${reason(cause, target.kind)}`,
    { cause },
  );
}

/** The error for a test server that cannot listen at `label` (a tcp, unix or http URL). */
export function listenError(label: string, cause: unknown): Error {
  const kind = label.startsWith("unix:") ? "unix" : "tcp";
  return new Error(`Cannot listen on "${label}": ${reason(cause, kind)}`, { cause });
}

/** A host without the brackets of an IPv6 literal (`[::1]` -> `::1`). */
export function bareHost(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}
