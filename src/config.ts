/**
 * Options and `THRIFTCLIENT_*` keys, checked once, turned into one validated {@link Endpoint}.
 *
 * @module
 */
import type { CallHook } from "./telemetry.ts";
import {
  checkFields,
  checkKeys,
  optionalString,
  parseBoolean,
  parseMillis,
  parsePositive,
  pem,
  type PoolOptions,
  type PoolSettings,
  PREFIX,
  quoted,
  readPool,
  redact,
} from "./config_keys.ts";
import { checkFamily, readDns, readIdempotent, transportList } from "./config_endpoints.ts";
import { ConfigError } from "./errors.ts";
import type { DialTarget, TlsSettings } from "./transport/byte_stream.ts";

export type { PoolOptions, PoolSettings } from "./config_keys.ts";
export { redact } from "./config_keys.ts";

/**
 * The protocol names accepted by `protocol` (any case): `HEADER` is THeader with binary messages
 * inside, `HEADER_COMPACT` THeader with compact ones.
 */
export type ProtocolName = "BINARY" | "COMPACT" | "JSON" | "HEADER" | "HEADER_COMPACT";

/** How each message itself is encoded (inside a THeader frame, for the THeader protocols). */
export type WireProtocol = "BINARY" | "COMPACT" | "JSON";

/** THeader framing (`HEADER`, `HEADER_COMPACT`), decided once. */
export interface HeaderSettings {
  /** Compress each frame's payload with the zlib transform (the `zlib` option). */
  readonly zlib: boolean;
}

/** TLS options, used by `tcps`, `unixs` and `https` only (ignored by other schemes). */
export interface SslOptions {
  /** Validate the server certificate and host name. @default {true} */
  validate?: boolean | undefined;
  /** Trusted CA certificates: a file path or PEM text. @default the system trust store */
  caCerts?: string | undefined;
  /** The name sent as SNI and checked in the certificate. @default the URL's host; `localhost` for `unixs` */
  serverName?: string | undefined;
  /** Client certificate for mutual TLS: a file path or PEM text. */
  cert?: string | undefined;
  /** Client private key for mutual TLS: a file path or PEM text. */
  key?: string | undefined;
}

/** What a `headers` function (and a hook) is told about the call. */
export interface CallInfo {
  /** The Thrift method name (without any multiplexing prefix). */
  readonly method: string;
  /** The IDL service name, or the multiplexed service name (`service`). */
  readonly service: string;
  /** The call's arguments. */
  readonly args: readonly unknown[];
  /** The endpoint URL, without credentials. */
  readonly endpoint: string;
  /** 1 for the first attempt of the call. */
  readonly attempt: number;
}

/** Extra call headers (HTTP headers, THeader info headers): fixed, or computed per call. */
export type HeadersOption = HeadersInit | ((call: CallInfo) => HeadersInit);

/** The camelCase options of `new ThriftClient(Client, options)`. */
export interface ThriftClientOptions {
  /**
   * The endpoint URL (tcp, tcps, unix, unixs, http or https), or a list of them to balance over
   * (all sockets, or all http(s)). @default {"tcp://localhost:9090"}
   */
  transport?: string | URL | readonly (string | URL)[] | undefined;
  /**
   * Resolve host names and balance over every address: `true`, or `{ refresh, servers }` (ms
   * between re-resolutions, 30000 by default; resolvers such as `"127.0.0.1:5353"`, the system's
   * by default). On by default with several URLs. @default {false}
   */
  dns?:
    | boolean
    | { refresh?: number | undefined; servers?: readonly string[] | undefined }
    | undefined;
  /**
   * Methods that may be sent again after a transport failure (on another endpoint): names, or a
   * predicate. Calls that never reached a server are retried whatever this says. @default {[]}
   */
  idempotent?: readonly string[] | ((method: string) => boolean) | undefined;
  /** `BINARY`, `COMPACT`, `JSON`, `HEADER` or `HEADER_COMPACT`, any case. @default {"BINARY"} */
  protocol?: string | undefined;
  /** TLS options for tcps, unixs and https. */
  ssl?: SslOptions | undefined;
  /** Accepted for parity with the seed; changes nothing on the wire. @default {false} */
  buffered?: boolean | undefined;
  /**
   * Compress socket transports like Apache's `TZlibTransport`; with THeader, compress each
   * frame's payload with its zlib transform instead. @default {false}
   */
  zlib?: boolean | undefined;
  /** Give each call outside a scope a connection of its own. @default {true} */
  alwaysConnect?: boolean | undefined;
  /** 4-byte length-prefixed frames (`TFramedTransport`); implied by THeader. @default {false} */
  framed?: boolean | undefined;
  /** Milliseconds from a call's write to its reply. @default {30000} */
  timeout?: number | undefined;
  /** Milliseconds to connect, including the TLS handshake. @default {10000} */
  connectTimeout?: number | undefined;
  /** The service name behind a multiplexed processor (`TMultiplexedProtocol`). */
  service?: string | undefined;
  /** Headers sent with every call: HTTP headers on http(s), info headers with THeader. */
  headers?: HeadersOption | undefined;
  /**
   * Around every call, first outermost: `(call, next) => next()`, seeing the method, the
   * arguments, the headers to send and, after `next()`, the reply's headers.
   */
  hooks?: readonly CallHook[] | undefined;
  /** The largest reply (or frame) accepted, in bytes. @default {16777216} */
  maxMessageSize?: number | undefined;
  /** Reuse connections: `true` for the defaults, or the pool's settings. @default {false} */
  pool?: boolean | PoolOptions | undefined;
  /**
   * How replies carry i64 values: node-int64 `Int64` objects, as the generated code expects,
   * or `bigint` (then type them with the generator's `--int64 bigint`). @default {"Int64"}
   */
  int64?: "Int64" | "bigint" | undefined;
}

/** Any `THRIFTCLIENT_*` key, as the environment spells them; unknown ones are a `ConfigError`. */
export interface SeedKeys {
  /** A seed key, such as `THRIFTCLIENT_TRANSPORT`; values are usually strings. */
  readonly [key: `THRIFTCLIENT_${string}`]: unknown;
}

/**
 * Camel-case options and/or `THRIFTCLIENT_*` keys; camelCase wins. Typos and wrong value
 * types in camelCase options fail to type-check.
 */
export type ThriftClientConfig = ThriftClientOptions & SeedKeys;

/**
 * A whole environment, such as `process.env` or `Deno.env.toObject()`: string values, of
 * which only the `THRIFTCLIENT_*` keys are read. A camelCase option name is not allowed here
 * (its value type would go unchecked): pass options as {@link ThriftClientConfig}.
 */
export type EnvRecord =
  & Readonly<Record<string, string | undefined>>
  & { readonly [K in keyof ThriftClientOptions]?: never };

/** Everything a connection needs, decided once at construction. */
export interface Endpoint {
  /** The URL without credentials, for messages. */
  readonly label: string;
  /** Where sockets go; absent for http(s). */
  readonly target?: DialTarget;
  /** The POST URL (without credentials) for http(s). */
  readonly httpUrl?: string;
  /** TLS for https (sockets carry it in `target`). */
  readonly httpTls?: TlsSettings;
  /** The `headers` option (URL credentials are `authorization`). */
  readonly headers?: HeadersOption;
  /** The `hooks` option. */
  readonly hooks: readonly CallHook[];
  /** Basic auth from the URL's credentials. */
  readonly authorization?: string;
  /** How messages are encoded (inside THeader frames when `header` is set). */
  readonly protocol: WireProtocol;
  /** THeader framing; absent for the other protocols. */
  readonly header?: HeaderSettings;
  /** Length-prefixed frames: `TFramedTransport`'s, or THeader's (then always true). */
  readonly framed: boolean;
  /** The `TZlibTransport` stream; false with THeader, whose zlib is `header.zlib`. */
  readonly zlib: boolean;
  readonly buffered: boolean;
  readonly alwaysConnect: boolean;
  readonly service?: string;
  readonly timeout: number;
  readonly connectTimeout: number;
  readonly maxMessageSize: number;
  /** What replies' i64 values become. */
  readonly int64: "Int64" | "bigint";
  /**
   * Every URL of the `transport` list, this endpoint's first; with more than one, or with
   * `dns`, the client balances over them (and over the addresses their host names resolve to).
   */
  readonly locations: readonly Location[];
  /** Host-name resolution for balancing: absent unless asked (`dns`) or several URLs. */
  readonly dns?: DnsSettings;
  /** Whether a call of this method may be sent again after a transport failure (`idempotent`). */
  readonly idempotent?: (method: string) => boolean;
  /** The pool settings; absent when the pool is off. */
  readonly pool?: PoolSettings;
}

const DEFAULT_TRANSPORT = "tcp://localhost:9090";
/** Each protocol name, and how its messages are encoded. */
const WIRE: Readonly<Record<ProtocolName, WireProtocol>> = {
  BINARY: "BINARY",
  COMPACT: "COMPACT",
  JSON: "JSON",
  HEADER: "BINARY",
  HEADER_COMPACT: "COMPACT",
};

function seed(config: Readonly<Record<string, unknown>>, key: string): unknown {
  return config[PREFIX + key];
}

/** The camelCase option if present (not undefined), else the seed key's value. */
function pick(
  config: Readonly<Record<string, unknown>>,
  option: unknown,
  key: string,
  optionName: string,
): { value: unknown; name: string } {
  if (option !== undefined) return { value: option, name: optionName };
  return { value: seed(config, key), name: PREFIX + key };
}

/**
 * Reads a protocol name, any case; `undefined` is the default, BINARY.
 *
 * @throws {ConfigError} naming the option `name` and the value when it is not a protocol.
 */
export function parseProtocol(value: unknown, name: string): ProtocolName {
  if (value === undefined) return "BINARY";
  const word = typeof value === "string" ? value.trim().toUpperCase() : "";
  if (Object.hasOwn(WIRE, word)) return word as ProtocolName;
  throw new ConfigError(
    `Unknown ${name} ${quoted(value)}: expected BINARY, COMPACT, JSON, HEADER or HEADER_COMPACT`,
  );
}

function parseInt64(value: unknown, name: string): "Int64" | "bigint" {
  if (value === undefined) return "Int64";
  const word = typeof value === "string" ? value.trim().toLowerCase() : "";
  if (word === "int64") return "Int64";
  if (word === "bigint") return "bigint";
  throw new ConfigError(`Unknown ${name} ${quoted(value)}: expected Int64 or bigint`);
}

interface Tls {
  validate: boolean;
  ca?: string | undefined;
  serverName?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
}

function readTls(
  config: Readonly<Record<string, unknown>>,
  ssl: SslOptions,
): Tls {
  checkFields(ssl, "ssl", ["validate", "caCerts", "serverName", "cert", "key"]);
  const at = (option: unknown, key: string, name: string) => pick(config, option, key, name);
  const validate = at(ssl.validate, "SSL_VALIDATE", "ssl.validate");
  const ca = at(ssl.caCerts, "SSL_CA_CERTS", "ssl.caCerts");
  const serverName = at(ssl.serverName, "SSL_SERVER_NAME", "ssl.serverName");
  const cert = at(ssl.cert, "SSL_CERT", "ssl.cert");
  const key = at(ssl.key, "SSL_KEY", "ssl.key");
  return {
    validate: parseBoolean(validate.value, validate.name, true),
    ca: pem(ca.value, ca.name),
    serverName: optionalString(serverName.value, serverName.name),
    cert: pem(cert.value, cert.name),
    key: pem(key.value, key.name),
  };
}

function tlsFor(tls: Tls, host: string): TlsSettings {
  return {
    validate: tls.validate,
    serverName: tls.serverName ?? host,
    ...(tls.ca ? { ca: tls.ca } : {}),
    ...(tls.cert ? { cert: tls.cert } : {}),
    ...(tls.key ? { key: tls.key } : {}),
  };
}

/** Where one URL of the `transport` list points, decided once. */
export interface Location {
  /** The URL without credentials. */
  readonly label: string;
  /** Where sockets go; absent for http(s). */
  readonly target?: DialTarget;
  /** The POST URL (without credentials) for http(s). */
  readonly httpUrl?: string;
  /** TLS for https. */
  readonly httpTls?: TlsSettings;
  /** Basic auth from the URL's credentials. */
  readonly authorization?: string;
}

/** How host names are resolved for balancing. */
export interface DnsSettings {
  /** Milliseconds between re-resolutions. */
  readonly refresh: number;
  /** Resolvers (`"127.0.0.1:5353"`); the system's when absent. */
  readonly servers?: readonly string[];
}

function parseUrl(text: string): URL {
  try {
    return new URL(text);
  } catch {
    // The URL parser's own error quotes the input, password included: it is not kept.
    const hint = /^[a-z][a-z0-9+.-]*:/i.test(text)
      ? "not a valid URL"
      : "no scheme (expected tcp://, tcps://, unix:, unixs:, http:// or https://)";
    throw new ConfigError(`Invalid transport "${redact(text)}": ${hint}`);
  }
}

function withoutCredentials(url: URL): string {
  const copy = new URL(url.href);
  copy.username = "";
  copy.password = "";
  return copy.href;
}

/** The URL's host without the brackets of an IPv6 literal. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1");
}

function socketLocation(url: URL, text: string, tls: Tls): Location {
  const secure = url.protocol === "tcps:";
  const host = hostOf(url);
  if (host === "") {
    throw new ConfigError(`Invalid transport "${redact(text)}": no host`);
  }
  const port = url.port === "" ? 9090 : Number(url.port);
  if (port === 0) {
    throw new ConfigError(`Invalid transport "${redact(text)}": port 0`);
  }
  const label = `${url.protocol}//${url.host}`.replace(/:(\d+)$/, "") +
    `:${port}`;
  return {
    label,
    target: {
      kind: "tcp",
      host,
      port,
      label,
      ...(secure ? { tls: tlsFor(tls, host) } : {}),
    },
  };
}

function unixLocation(url: URL, text: string, tls: Tls): Location {
  if (url.host !== "") {
    throw new ConfigError(
      `Invalid transport "${
        redact(text)
      }": a unix URL has no host part; use unix:///abs/path, unix:/abs/path or unix:./relative/path`,
    );
  }
  let path = url.pathname;
  try {
    path = decodeURIComponent(path);
  } catch { /* keep a path with a stray % as written */ }
  if (path === "" || path === "/") {
    throw new ConfigError(
      `Invalid transport "${redact(text)}": no socket path`,
    );
  }
  const label = `${url.protocol}${path}`;
  const secure = url.protocol === "unixs:";
  return {
    label,
    target: {
      kind: "unix",
      path,
      label,
      ...(secure ? { tls: tlsFor(tls, "localhost") } : {}),
    },
  };
}

function httpLocation(url: URL, tls: Tls): Location {
  const label = withoutCredentials(url).replace(/#.*$/, "");
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  const secure = url.protocol === "https:";
  return {
    label,
    httpUrl: label,
    ...(secure ? { httpTls: tlsFor(tls, hostOf(url)) } : {}),
    ...(user || password ? { authorization: "Basic " + btoa(`${user}:${password}`) } : {}),
  };
}

function locate(value: unknown, name: string, tls: Tls): Location {
  if (value === undefined) value = DEFAULT_TRANSPORT;
  if (value instanceof URL) value = value.href;
  if (typeof value !== "string" || value.trim() === "") {
    throw new ConfigError(
      `Invalid ${name} ${quoted(value)}: expected a URL such as "${DEFAULT_TRANSPORT}"`,
    );
  }
  const text = value.trim();
  const url = parseUrl(text);
  switch (url.protocol) {
    case "tcp:":
    case "tcps:":
      return socketLocation(url, text, tls);
    case "unix:":
    case "unixs:":
      return unixLocation(url, text, tls);
    case "http:":
    case "https:":
      return httpLocation(url, tls);
    default:
      throw new ConfigError(
        `Unknown transport scheme "${url.protocol}" in "${
          redact(text)
        }": expected tcp, tcps, unix, unixs, http or https`,
      );
  }
}

function readHooks(value: unknown): readonly CallHook[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((hook) => typeof hook !== "function")) {
    throw new ConfigError(
      `Invalid hooks ${quoted(value)}: expected an array of functions (call, next) => next()`,
    );
  }
  return [...value];
}

/**
 * Validates options and seed keys (camelCase wins) into an {@link Endpoint}.
 *
 * @throws {ConfigError} for any invalid value, naming the key and the value.
 */
export function resolveConfig(
  config: ThriftClientConfig | EnvRecord = {},
): Endpoint {
  if (config === null || typeof config !== "object") {
    throw new ConfigError(
      `Invalid options ${quoted(config)}: expected an object`,
    );
  }
  const raw = config as Readonly<Record<string, unknown>>;
  checkKeys(raw);
  const options = config as ThriftClientOptions;
  const at = (option: unknown, key: string, name: string) => pick(raw, option, key, name);
  const ssl = options.ssl ?? {};
  const transport = "transport" in options && options.transport !== undefined
    ? { value: options.transport as unknown, name: "transport" }
    : { value: seed(raw, "TRANSPORT"), name: PREFIX + "TRANSPORT" };
  const tls = readTls(raw, ssl);
  const locations = transportList(transport.value, transport.name)
    .map((value) => locate(value, transport.name, tls));
  const location = locations[0]!;
  checkFamily(locations, transport.name);
  const protocol = at(options.protocol, "PROTOCOL", "protocol");
  const zlib = at(options.zlib, "ZLIB", "zlib");
  const framed = at(options.framed, "FRAMED", "framed");
  const buffered = at(options.buffered, "BUFFERED", "buffered");
  const always = at(options.alwaysConnect, "ALWAYS_CONNECT", "alwaysConnect");
  const timeout = at(options.timeout, "TIMEOUT", "timeout");
  const connectTimeout = at(
    options.connectTimeout,
    "CONNECT_TIMEOUT",
    "connectTimeout",
  );
  const maxSize = at(
    options.maxMessageSize,
    "MAX_MESSAGE_SIZE",
    "maxMessageSize",
  );
  const service = at(options.service, "SERVICE", "service");
  const int64 = at(options.int64, "INT64", "int64");
  const protocolName = parseProtocol(protocol.value, protocol.name);
  const zlibOn = parseBoolean(zlib.value, zlib.name, false);
  const framedOn = parseBoolean(framed.value, framed.name, false);
  // THeader is a framing of its own: `framed` is implied, `zlib` becomes its transform.
  const header = protocolName.startsWith("HEADER") ? { zlib: zlibOn } : undefined;
  const endpoint: Endpoint = {
    ...location,
    protocol: WIRE[protocolName],
    ...(header ? { header } : {}),
    zlib: header ? false : zlibOn,
    framed: header ? true : framedOn,
    buffered: parseBoolean(buffered.value, buffered.name, false),
    alwaysConnect: parseBoolean(always.value, always.name, true),
    timeout: parseMillis(timeout.value, timeout.name, 30_000),
    connectTimeout: parseMillis(
      connectTimeout.value,
      connectTimeout.name,
      10_000,
    ),
    maxMessageSize: parsePositive(maxSize.value, maxSize.name, 16 * 1024 * 1024),
    int64: parseInt64(int64.value, int64.name),
    ...(options.headers ? { headers: options.headers } : {}),
    hooks: readHooks(options.hooks),
    locations,
  };
  const idempotent = readIdempotent(options.idempotent, raw);
  if (idempotent) {
    (endpoint as { idempotent?: (method: string) => boolean }).idempotent = idempotent;
  }
  const dns = readDns(options.dns, raw, locations.length > 1);
  if (dns) (endpoint as { dns?: DnsSettings }).dns = dns;
  const pool = readPool(options.pool, at);
  if (pool) (endpoint as { pool?: PoolSettings }).pool = pool;
  const name = optionalString(service.value, service.name);
  if (name) (endpoint as { service?: string }).service = name;
  if (header && endpoint.httpUrl) {
    throw new ConfigError(
      `Invalid ${protocol.name} "${protocolName}" with transport "${location.label}": THeader works over tcp and unix sockets only (Apache's HTTP servers do not offer it: python3-thrift's THeaderProtocol supports no HTTP server, and C++ THttpServer answers it only when built for it)`,
    );
  }
  if (endpoint.zlib && endpoint.httpUrl) {
    throw new ConfigError(
      `Invalid ${zlib.name} with transport "${location.label}": zlib works over tcp and unix sockets only, no Thrift HTTP server speaks it`,
    );
  }
  return endpoint;
}
