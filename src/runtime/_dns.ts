/**
 * What the Deno and Bun resolvers share: the server list, the time bound, the system lookup,
 * and how answers and failures become a list of addresses or one error. Each adapter only
 * asks one server for one record type (`deno_dns.ts`, `bun_dns.ts`).
 *
 * Which API does the job where (checked against dnsmasq on a loopback port, Deno 2.9, Bun 1.4;
 * `tests/dns_test.ts`):
 * - A chosen server, Deno: `Deno.resolveDns` with `nameServer: { ipAddr, port }` honours the
 *   port and cancels on `signal`. Deno's `node:dns` `Resolver` wraps the same op, but stops
 *   at the first server that times out (never asks the next one) and leaves the query running
 *   after its own timeout. Either way Deno reports a REFUSED answer as `NotFound`, so on Deno
 *   "refused" reads "no such host"; and Deno answers `localhost` itself without asking.
 * - A chosen server, Bun: `node:dns` `Resolver` (c-ares) honours `"ip:port"` and
 *   `"[ipv6]:port"`, `timeout` and `tries`, and tells NXDOMAIN, REFUSED and timeouts apart.
 *   Bun has no API of its own for this (`Bun.dns.lookup` asks the system's resolver only).
 * - The system's resolver, both: `node:dns` `lookup` is getaddrinfo (`/etc/hosts`, then DNS),
 *   the lookup a dial by name does. Deno has no getaddrinfo API of its own (`Deno.resolveDns`
 *   without a server reads resolv.conf itself); Deno's `lookup` reports any failure as
 *   "not found". Without a `timeout` option neither resolver is bounded (8 s and 23 s seen).
 *
 * @module
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { bareHost } from "./_errors.ts";

/** How long one server (or the system's resolver) may take to answer. */
export const DNS_TIMEOUT_MS = 2_000;

/** The reason given when a name has no A and no AAAA record. */
const NO_SUCH_HOST = "no such host";

/** One DNS server to ask. */
export interface DnsServer {
  /** Its IP address, without brackets. */
  readonly ip: string;
  /** Its UDP/TCP port. */
  readonly port: number;
  /** `ip:port`, or `[ip]:port` for IPv6: for messages and `node:dns` `setServers`. */
  readonly label: string;
}

/**
 * Asks `server` for the `type` records of `host`: the addresses, or a rejection with the
 * runtime's error; should stop when `signal` aborts (the answer is not awaited after that).
 */
export type DnsAsk = (
  host: string,
  type: "A" | "AAAA",
  server: DnsServer,
  signal: AbortSignal,
) => Promise<string[]>;

/**
 * Parses a DNS server: `"127.0.0.1:5353"`, `"[::1]:53"`, or a bare IP (port 53).
 *
 * @throws {Error} When `text` is not an IP address with an optional port.
 */
export function dnsServer(text: string): DnsServer {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text);
  const withPort = /^([^:]+):(\d{1,5})$/.exec(text);
  const [ip, port] = bracketed
    ? [bracketed[1] ?? "", bracketed[2]]
    : isIP(text)
    ? [text, undefined]
    : [withPort?.[1] ?? "", withPort?.[2]];
  const family = isIP(ip);
  const number = port === undefined ? 53 : Number(port);
  if (family === 0 || (bracketed && family !== 6) || number < 1 || number > 65535) {
    throw new Error(
      `Invalid DNS server "${text}": expected an IP address and an optional port, like ` +
        `"127.0.0.1:5353" or "[::1]:53"`,
    );
  }
  return { ip, port: number, label: family === 6 ? `[${ip}]:${number}` : `${ip}:${number}` };
}

/** The rejection of a lookup that took longer than `DNS_TIMEOUT_MS`. */
class DnsTimeout extends Error {}

/** Runs `work` with a signal and a promise that both fire after `DNS_TIMEOUT_MS`. */
async function bounded<T>(
  work: (signal: AbortSignal, deadline: Promise<never>) => Promise<T>,
): Promise<T> {
  const control = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new DnsTimeout(`timed out after ${DNS_TIMEOUT_MS} ms`);
      control.abort(error);
      reject(error);
    }, DNS_TIMEOUT_MS);
  });
  deadline.catch(() => {}); // raced by `work`, or by nothing once it settled
  try {
    return await work(control.signal, deadline);
  } finally {
    clearTimeout(timer);
  }
}

/** A short, lower-case reason for a failed lookup, from Deno, Bun and `node:dns` errors. */
function reason(error: unknown): string {
  if (error instanceof DnsTimeout) return error.message;
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  switch (typeof code === "string" ? code : error.name) {
    case "ENOTFOUND":
    case "ENODATA":
    case "EAI_NONAME":
    case "EAI_NODATA":
    case "NotFound":
      return NO_SUCH_HOST;
    case "EREFUSED":
      return "the server refused the query";
    case "ECONNREFUSED":
    case "ConnectionRefused":
      return "connection refused";
    case "ETIMEOUT":
    case "ETIMEDOUT":
    case "TimedOut":
    case "TimeoutError":
      return `timed out after ${DNS_TIMEOUT_MS} ms`;
    case "ESERVFAIL":
      return "server failure";
    case "EAI_AGAIN":
      return "temporary failure in name resolution";
  }
  return error.message;
}

/** What one server said: addresses, or why not (`NO_SUCH_HOST` is an answer, not a failure). */
interface Answer {
  readonly addresses: string[];
  readonly reason: string;
  readonly cause?: unknown;
}

/** Asks one server for A and AAAA at once: one failing family does not hide the other. */
function askServer(host: string, server: DnsServer, ask: DnsAsk): Promise<Answer> {
  return bounded(async (signal, deadline) => {
    const [a, aaaa] = await Promise.allSettled(
      (["A", "AAAA"] as const).map((type) =>
        Promise.race([ask(host, type, server, signal), deadline])
      ),
    );
    const addresses: string[] = [];
    let failure: { reason: string; cause: unknown } | undefined;
    for (const result of [a, aaaa]) {
      if (result?.status === "fulfilled") addresses.push(...result.value);
      else if (result?.status === "rejected") {
        const why = reason(result.reason);
        if (why !== NO_SUCH_HOST || !failure) failure = { reason: why, cause: result.reason };
      }
    }
    return { addresses, reason: failure?.reason ?? NO_SUCH_HOST, cause: failure?.cause };
  });
}

/** IPv4 as four numbers, IPv6 as eight: the sort key of an address (a zone id is ignored). */
function key(address: string): number[] {
  if (isIP(address) === 4) return address.split(".").map(Number);
  const bare = address.replace(/%.*$/, "");
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(bare); // an IPv4-mapped tail
  const hex = tail
    ? bare.slice(0, tail.index) +
      [0, 2].map((i) => (Number(tail[i + 1]) * 256 + Number(tail[i + 2])).toString(16)).join(":")
    : bare;
  const [head = "", rest] = hex.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = rest === undefined || rest === "" ? [] : rest.split(":");
  const zeros = Array<string>(8 - left.length - right.length).fill("0");
  return [...left, ...zeros, ...right].map((group) => parseInt(group, 16));
}

function compare(x: string, y: string): number {
  const a = key(x);
  const b = key(y);
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The addresses in the contract's order: IPv4 first, each family ascending, no duplicates. */
export function ordered(addresses: Iterable<string>): string[] {
  const unique = [...new Set(addresses)];
  const v4 = unique.filter((a) => isIP(a) === 4).sort(compare);
  const v6 = unique.filter((a) => isIP(a) === 6).sort(compare);
  return [...v4, ...v6];
}

/** Resolves with getaddrinfo, bounded; `/etc/hosts` is read as by any dial by name. */
async function systemAddresses(host: string): Promise<string[]> {
  try {
    const found = await bounded((_signal, deadline) =>
      Promise.race([lookup(host, { all: true }), deadline])
    );
    const addresses = ordered(found.map((entry) => entry.address));
    if (addresses.length > 0) return addresses;
    throw new Error(NO_SUCH_HOST);
  } catch (error) {
    throw new Error(`Cannot resolve "${host}" with the system resolver: ${reason(error)}`, {
      cause: error,
    });
  }
}

/**
 * Resolves `host` as `Runtime.resolve` promises, asking each server through `ask` in order
 * until one answers: addresses, or "no such host" (the other servers are not asked then).
 * A server that fails (timeout, refusal) hands over to the next one.
 *
 * @param host A host name or an IP literal (IPv6 with or without brackets).
 * @param servers The DNS servers to ask, or `undefined` for the system's resolver.
 * @param ask How this runtime asks one server for one record type.
 * @returns Every address of `host`, IPv4 first.
 * @throws {Error} Naming the host and the servers, with the reason of each.
 */
export async function resolveWith(
  host: string,
  servers: readonly string[] | undefined,
  ask: DnsAsk,
): Promise<string[]> {
  const name = bareHost(host);
  if (isIP(name)) return [name];
  if (servers === undefined) return await systemAddresses(name);
  const asked = servers.map(dnsServer);
  if (asked.length === 0) throw new Error(`Cannot resolve "${name}": no DNS server given`);
  const failures: { server: DnsServer; answer: Answer }[] = [];
  for (const server of asked) {
    const answer = await askServer(name, server, ask);
    if (answer.addresses.length > 0) return ordered(answer.addresses);
    failures.push({ server, answer });
    if (answer.reason === NO_SUCH_HOST) break;
  }
  const reasons = new Set(failures.map((f) => f.answer.reason));
  const details = reasons.size === 1
    ? [...reasons].join("")
    : failures.map((f) => `${f.answer.reason} (${f.server.label})`).join("; ");
  const which = failures.length === 1 ? "DNS server" : "DNS servers";
  const labels = failures.map((f) => f.server.label).join(", ");
  throw new Error(`Cannot resolve "${name}" with ${which} ${labels}: ${details}`, {
    cause: failures.at(-1)?.answer.cause,
  });
}
