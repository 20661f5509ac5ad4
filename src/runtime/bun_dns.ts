/**
 * DNS for the Bun adapter: `node:dns` `Resolver` (c-ares) asks a chosen server, since Bun has
 * no API of its own for one; the system's resolver is `node:dns` `lookup` (see `_dns.ts`).
 *
 * @module
 */
import { Resolver } from "node:dns/promises";
import type { Resolve } from "../transport/byte_stream.ts";
import { DNS_TIMEOUT_MS, type DnsAsk, resolveWith } from "./_dns.ts";

const ask: DnsAsk = async (host, type, server, signal) => {
  // One try: the next server, not the same one again, is what a failure hands over to.
  const resolver = new Resolver({ timeout: DNS_TIMEOUT_MS, tries: 1 });
  resolver.setServers([server.label]);
  const cancel = (): void => resolver.cancel();
  signal.addEventListener("abort", cancel, { once: true });
  try {
    return type === "A" ? await resolver.resolve4(host) : await resolver.resolve6(host);
  } finally {
    signal.removeEventListener("abort", cancel);
  }
};

/** Resolves with the system's resolver, or asks the given servers with `node:dns`. */
export const bunResolve: Resolve = (host, servers) => resolveWith(host, servers, ask);
