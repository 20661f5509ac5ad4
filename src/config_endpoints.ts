/**
 * The options of several endpoints, decided once: the `transport` list, `dns` and
 * `idempotent` (and their `THRIFTCLIENT_*` keys).
 *
 * @module
 */
import { checkFields, parseMillis, PREFIX, quoted } from "./config_keys.ts";
import type { DnsSettings, Location } from "./config.ts";
import { ConfigError } from "./errors.ts";

/**
 * The `transport` value as a list: an array, or a comma-separated `THRIFTCLIENT_TRANSPORT`
 * (a camelCase string is one URL: an HTTP query may hold commas).
 */
export function transportList(value: unknown, name: string): unknown[] {
  if (Array.isArray(value)) {
    if (value.length === 0) {
      throw new ConfigError(`Invalid ${name} []: expected at least one URL`);
    }
    return value;
  }
  if (typeof value === "string" && name.startsWith(PREFIX) && value.includes(",")) {
    return value.split(",").map((part) => part.trim());
  }
  return [value];
}

/** Several URLs must all be sockets (tcp, tcps, unix, unixs) or all HTTP (http, https). */
export function checkFamily(locations: readonly Location[], name: string): void {
  const http = locations.filter((l) => l.httpUrl !== undefined).length;
  if (http > 0 && http < locations.length) {
    throw new ConfigError(
      `Invalid ${name}: ${
        locations.map((l) => `"${l.label}"`).join(", ")
      } mix HTTP and socket URLs; a list is all sockets or all http(s)`,
    );
  }
}

/** `dns` / `THRIFTCLIENT_DNS_*`: on when given, or when there are several URLs. */
export function readDns(
  option: unknown,
  raw: Readonly<Record<string, unknown>>,
  several: boolean,
): DnsSettings | undefined {
  const fields = typeof option === "object" && option !== null
    ? option as { refresh?: unknown; servers?: unknown }
    : {};
  if (typeof option === "object" && option !== null) {
    checkFields(option, "dns", ["refresh", "servers"]);
  } else if (option !== undefined && typeof option !== "boolean") {
    throw new ConfigError(
      `Invalid dns ${quoted(option)}: expected true, false or { refresh, servers }`,
    );
  }
  const refreshKey = raw[PREFIX + "DNS_REFRESH"];
  const serversKey = raw[PREFIX + "DNS_SERVERS"];
  const asked = option === true || typeof option === "object" || refreshKey !== undefined ||
    serversKey !== undefined;
  if (option === false || !(asked || several)) return undefined;
  const refresh = fields.refresh !== undefined
    ? parseMillis(fields.refresh, "dns.refresh", 30_000)
    : parseMillis(refreshKey, PREFIX + "DNS_REFRESH", 30_000);
  const servers = fields.servers !== undefined
    ? serverList(fields.servers, "dns.servers")
    : serversKey !== undefined
    ? serverList(String(serversKey).split(",").map((s) => s.trim()), PREFIX + "DNS_SERVERS")
    : undefined;
  return servers ? { refresh, servers } : { refresh };
}

function serverList(value: unknown, name: string): readonly string[] {
  const ok = Array.isArray(value) && value.length > 0 &&
    value.every((s) =>
      typeof s === "string" && /^(\[[0-9a-fA-F:.]+\]|[0-9.]+|[0-9a-fA-F:]+)(:\d+)?$/.test(s)
    );
  if (!ok) {
    throw new ConfigError(
      `Invalid ${name} ${quoted(value)}: expected resolver addresses such as ["127.0.0.1:5353"]`,
    );
  }
  return value as string[];
}

/** `idempotent` / `THRIFTCLIENT_IDEMPOTENT`: method names, or a predicate. */
export function readIdempotent(
  option: unknown,
  raw: Readonly<Record<string, unknown>>,
): ((method: string) => boolean) | undefined {
  if (typeof option === "function") return (method) => Boolean(option(method));
  const key = raw[PREFIX + "IDEMPOTENT"];
  if (option === undefined && key === undefined) return undefined;
  const names = option !== undefined
    ? option
    : String(key).split(",").map((s) => s.trim()).filter(Boolean);
  if (!Array.isArray(names) || names.some((n) => typeof n !== "string")) {
    throw new ConfigError(
      `Invalid idempotent ${
        quoted(option)
      }: expected method names or a function (method) => boolean`,
    );
  }
  const set = new Set<string>(names);
  return (method) => set.has(method);
}
