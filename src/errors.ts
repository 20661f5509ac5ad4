/**
 * The errors this library throws: one base class, one subclass per kind of failure.
 *
 * Service exceptions declared in the IDL and `TApplicationException` are not wrapped: they
 * reach the caller as the generated code and npm `thrift` build them.
 *
 * @module
 */

/** A stable, machine-readable error kind. */
export type ThriftClientErrorCode =
  | "CONFIG"
  | "CONNECT"
  | "TRANSPORT"
  | "CLOSED"
  | "TIMEOUT"
  | "PROTOCOL";

/** The base class of every error this library raises. */
export class ThriftClientError extends Error {
  /** The kind of failure, stable across versions. */
  readonly code: ThriftClientErrorCode;

  /**
   * Creates the error.
   *
   * @param message What happened and where (URLs never include credentials).
   * @param options The standard `cause`.
   * @param code The kind of failure.
   */
  constructor(
    message: string,
    options?: ErrorOptions,
    code: ThriftClientErrorCode = "TRANSPORT",
  ) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Invalid options or `THRIFTCLIENT_*` values; thrown synchronously by the constructor. */
export class ConfigError extends ThriftClientError {
  /**
   * Creates the error.
   *
   * @param message Names the key and the offending value.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options, "CONFIG");
  }
}

/** The connection could not be made: refused, no such socket, TLS validation, or connect timeout. */
export class ConnectError extends ThriftClientError {
  /**
   * Creates the error.
   *
   * @param message Names the endpoint and the reason.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options, "CONNECT");
  }
}

/** The byte stream failed after it was open (reset, EOF mid-call) or HTTP answered non-2xx. */
export class TransportError extends ThriftClientError {
  /** The HTTP status, for an HTTP transport that answered with a non-2xx status. */
  readonly status?: number;

  /**
   * Creates the error.
   *
   * @param message Names the endpoint and the reason.
   * @param options The standard `cause`, plus the HTTP `status` when there is one.
   */
  constructor(message: string, options?: ErrorOptions & { status?: number }) {
    super(message, options, "TRANSPORT");
    if (options?.status !== undefined) this.status = options.status;
  }
}

/** The connection was closed (by `close()`, dispose, or the client) while a call needed it. */
export class ClosedError extends ThriftClientError {
  /**
   * Creates the error.
   *
   * @param message Names the endpoint.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options, "CLOSED");
  }
}

/**
 * A call got no reply within `timeout` ms (or waited too long for a pooled connection). A
 * connect that exceeds `connectTimeout` is a {@link ConnectError} (with this as its `cause`).
 */
export class TimeoutError extends ThriftClientError {
  /**
   * Creates the error.
   *
   * @param message Names the endpoint, the phase and the limit.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options, "TIMEOUT");
  }
}

/** The peer sent bytes that are not a valid reply: bad frame size, unknown sequence id, garbage. */
export class ProtocolError extends ThriftClientError {
  /**
   * Creates the error.
   *
   * @param message Names the endpoint and what was wrong.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options, "PROTOCOL");
  }
}

const UNNAMED = "Invalid reply: ";

/**
 * An error met while reading a reply, as a `ProtocolError` that names the endpoint: the
 * protocols do not know it. Other library errors pass unchanged.
 *
 * @param error What reading threw.
 * @param label The endpoint, without credentials.
 * @returns The error to reject calls with.
 */
export function invalidReply(error: unknown, label: string): ThriftClientError {
  if (error instanceof ProtocolError && error.message.startsWith(UNNAMED)) {
    const what = error.message.slice(UNNAMED.length);
    return new ProtocolError(`Invalid reply from "${label}": ${what}`, { cause: error });
  }
  if (error instanceof ThriftClientError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new ProtocolError(`Invalid reply from "${label}": ${reason}`, { cause: error });
}

/** The error for a reply that must be larger than `limit` bytes (`maxMessageSize`). */
export function replyTooLarge(label: string, limit: number): ProtocolError {
  return new ProtocolError(`Reply from "${label}" exceeds the ${limit} byte limit`);
}

/** The error for a reply whose bytes end before its message does. */
export function truncatedReply(label: string): ProtocolError {
  return new ProtocolError(`Truncated reply from "${label}"`);
}

/** Text from the server as one line of printable text, at most 200 characters. */
export function printable(text: string): string {
  return text.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\s\uFFFD]+/gu, " ").trim().slice(0, 200);
}
