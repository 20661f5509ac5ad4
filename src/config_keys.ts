/**
 * The value rules behind {@link resolveConfig}: the known `THRIFTCLIENT_*` keys, parsers for
 * booleans and numbers, the pool settings, and messages that never show a secret.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { ConfigError } from "./errors.ts";

/** The prefix of every seed key. */
export const PREFIX = "THRIFTCLIENT_";

/** The longest delay a timer honours; larger values fire after 1 ms instead. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

const KNOWN = [
  "TRANSPORT",
  "PROTOCOL",
  "SSL_VALIDATE",
  "SSL_CA_CERTS",
  "SSL_SERVER_NAME",
  "SSL_CERT",
  "SSL_KEY",
  "BUFFERED",
  "ZLIB",
  "ALWAYS_CONNECT",
  "FRAMED",
  "TIMEOUT",
  "CONNECT_TIMEOUT",
  "SERVICE",
  "MAX_MESSAGE_SIZE",
  "INT64",
  "POOL",
  "POOL_MAX",
  "POOL_IDLE_TIMEOUT",
  "POOL_MAX_LIFETIME",
  "POOL_ACQUIRE_TIMEOUT",
  "POOL_PIPELINING",
  "DNS_REFRESH",
  "DNS_SERVERS",
  "IDEMPOTENT",
].map((key) => PREFIX + key);

/** Options of `pool: { ... }` (all optional). */
export interface PoolOptions {
  /** The most connections open at once. @default {10} */
  max?: number | undefined;
  /** Milliseconds an unused connection stays open before it is closed. @default {30000} */
  idleTimeout?: number | undefined;
  /** Milliseconds after which a connection is not reused. @default {Infinity} (no limit) */
  maxLifetime?: number | undefined;
  /** Milliseconds a call waits for a free connection before a `TimeoutError`. @default {10000} */
  acquireTimeout?: number | undefined;
  /**
   * Calls in flight on one connection before it takes no new scope: above 1, scopes share
   * connections (calls matched by sequence id); 1 leases each scope a connection of its own.
   * @default {1}
   */
  pipelining?: number | undefined;
}

/** The validated pool settings of an endpoint; present only when the pool is on. */
export interface PoolSettings {
  /** The most connections open at once. */
  readonly max: number;
  /** Milliseconds an unused connection stays open. */
  readonly idleTimeout: number;
  /** Milliseconds after which a connection is not reused; `Infinity` when not set. */
  readonly maxLifetime: number;
  /** Milliseconds a lease waits for a free connection. */
  readonly acquireTimeout: number;
  /** Calls in flight on a connection before it takes no new scope; 1 = exclusive leases. */
  readonly pipelining: number;
}

/** Hides a URL password, even one with `#`, `?`, `/` or `@` in it: `tcp://u:p@h` -> `tcp://u:***@h`. */
export function redact(value: string): string {
  // Up to the last "@": a password with reserved characters is not where the URL parser looks.
  return value.replace(/(\/\/[^/?#@:]*:).*@/s, "$1***@");
}

/** A value for a message: strings quoted and redacted. */
export function quoted(value: unknown): string {
  return typeof value === "string" ? `"${redact(value)}"` : String(value);
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + cost);
    }
    row = next;
  }
  return row[b.length]!;
}

/** The candidate nearest to `name`. */
function closest(name: string, candidates: readonly string[]): string {
  let best = "";
  let least = Infinity;
  for (const candidate of candidates) {
    const d = distance(name, candidate);
    if (d < least) [best, least] = [candidate, d];
  }
  return best;
}

const OPTIONS = [
  "transport",
  "protocol",
  "ssl",
  "buffered",
  "zlib",
  "alwaysConnect",
  "framed",
  "timeout",
  "connectTimeout",
  "service",
  "headers",
  "hooks",
  "maxMessageSize",
  "pool",
  "int64",
  "dns",
  "idempotent",
];

/**
 * Throws on a `THRIFTCLIENT_*` key nobody reads. Other keys are ignored (an environment has
 * many), except a non-string value under a near miss of an option name (`timout: 5`): an
 * environment only holds strings, so that is a mistyped option.
 */
export function checkKeys(config: Readonly<Record<string, unknown>>): void {
  for (const key of Object.keys(config)) {
    if (key.startsWith(PREFIX) && !KNOWN.includes(key)) {
      throw new ConfigError(
        `Unknown key "${key}": did you mean "${closest(key, KNOWN)}"?`,
      );
    }
    if (OPTIONS.includes(key) || typeof config[key] === "string") continue;
    const near = closest(key, OPTIONS);
    if (distance(key.toLowerCase(), near.toLowerCase()) <= 2) {
      throw new ConfigError(`Unknown option "${key}": did you mean "${near}"?`);
    }
  }
}

/** Throws on a field of a nested option object (`ssl`, `pool`) that is not one of `known`. */
export function checkFields(
  value: object,
  name: string,
  known: readonly string[],
): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    throw new ConfigError(
      `Unknown option "${name}.${key}": did you mean "${name}.${closest(key, known)}"?`,
    );
  }
}

/** `true`/`false`, `1`/`0`, or the words true, yes, on, false, no, off (any case). */
export function parseBoolean(
  value: unknown,
  name: string,
  fallback: boolean,
): boolean {
  if (value === undefined) return fallback;
  if (typeof value === "boolean") return value;
  if (typeof value === "number" && (value === 0 || value === 1)) {
    return value === 1;
  }
  if (typeof value === "string") {
    const word = value.trim().toLowerCase();
    if (["true", "1", "yes", "on"].includes(word)) return true;
    if (["false", "0", "no", "off"].includes(word)) return false;
  }
  throw new ConfigError(
    `Invalid ${name} ${quoted(value)}: expected true or false`,
  );
}

function toNumber(value: unknown): unknown {
  return typeof value === "string" && value.trim() !== "" ? Number(value) : value;
}

/** A positive finite number (a string from the environment is converted). */
export function parsePositive(
  value: unknown,
  name: string,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  const n = toNumber(value);
  if (typeof n === "number" && Number.isFinite(n) && n > 0) return n;
  throw new ConfigError(
    `Invalid ${name} ${quoted(value)}: expected a positive finite number`,
  );
}

/** Milliseconds for a timer: positive and at most 2^31-1 (timers clamp larger delays to 1 ms). */
export function parseMillis(
  value: unknown,
  name: string,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  const n = parsePositive(value, name, fallback);
  if (n <= MAX_TIMER_MS) return n;
  throw new ConfigError(
    `Invalid ${name} ${quoted(value)}: at most ${MAX_TIMER_MS} ms (2^31-1, about 24.8 days)`,
  );
}

function parseCount(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = toNumber(value);
  if (typeof n === "number" && Number.isSafeInteger(n) && n > 0) return n;
  throw new ConfigError(
    `Invalid ${name} ${quoted(value)}: expected a positive integer`,
  );
}

type Pick = (option: unknown, key: string, name: string) => {
  value: unknown;
  name: string;
};

const POOL_FIELDS = ["max", "idleTimeout", "maxLifetime", "acquireTimeout", "pipelining"];

/**
 * `pool` and the `THRIFTCLIENT_POOL*` keys (camelCase wins, field by field) -> the settings,
 * or undefined when the pool is off. Values are validated even when it is off.
 */
export function readPool(option: unknown, at: Pick): PoolSettings | undefined {
  const fields: PoolOptions = typeof option === "object" && option !== null ? option : {};
  if (typeof option === "object" && option !== null) {
    checkFields(option, "pool", POOL_FIELDS);
  }
  const on = at(
    typeof option === "object" && option !== null ? true : option,
    "POOL",
    "pool",
  );
  const max = at(fields.max, "POOL_MAX", "pool.max");
  const idle = at(fields.idleTimeout, "POOL_IDLE_TIMEOUT", "pool.idleTimeout");
  const life = at(fields.maxLifetime, "POOL_MAX_LIFETIME", "pool.maxLifetime");
  const wait = at(
    fields.acquireTimeout,
    "POOL_ACQUIRE_TIMEOUT",
    "pool.acquireTimeout",
  );
  const pipelining = at(fields.pipelining, "POOL_PIPELINING", "pool.pipelining");
  const settings: PoolSettings = {
    max: parseCount(max.value, max.name, 10),
    idleTimeout: parseMillis(idle.value, idle.name, 30_000),
    // An explicit Infinity means no limit, like leaving it out: no timer is set for it.
    maxLifetime: life.value === Infinity ? Infinity : parseMillis(life.value, life.name, Infinity),
    acquireTimeout: parseMillis(wait.value, wait.name, 10_000),
    pipelining: parseCount(pipelining.value, pipelining.name, 1),
  };
  return parseBoolean(on.value, on.name, false) ? settings : undefined;
}

/**
 * Whether a value that failed to read may be shown: printable, no whitespace, and with a dot
 * (a file name), which bare base64 or hex key material never has.
 */
function showable(value: string): boolean {
  return value.length <= 1024 && /^[!-~]+$/.test(value) && !/[+={}"']/.test(value) &&
    value.includes(".");
}

/** A file path or PEM text -> PEM text; an unreadable path is a ConfigError. */
export function pem(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") {
    const kind = value?.constructor?.name ?? typeof value;
    throw new ConfigError(
      `Invalid ${name}: expected a file path or PEM text, got ${kind} (value not shown)`,
    );
  }
  if (value.includes("-----BEGIN")) return value;
  try {
    return readFileSync(value, "utf8");
  } catch (error) {
    if (showable(value)) {
      throw new ConfigError(
        `Cannot read ${name} "${value}": ${(error as Error).message}`,
        { cause: error },
      );
    }
    // The value may be key material: neither it nor the fs error (which repeats it) is kept.
    const code = (error as { code?: unknown }).code;
    throw new ConfigError(
      `Cannot read ${name}: not PEM text and not a readable file path (${
        typeof code === "string" ? code + "; " : ""
      }value not shown)`,
    );
  }
}

/** A non-empty string, or undefined when absent. */
export function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value === "string") return value;
  throw new ConfigError(`Invalid ${name} ${quoted(value)}: expected a string`);
}
