/**
 * DNS for the Deno adapter: `Deno.resolveDns` asks a chosen server (its `node:dns` `Resolver`
 * wraps the same op, less well: see `_dns.ts`); the system's resolver is `node:dns` `lookup`.
 *
 * @module
 */
import type { Resolve } from "../transport/byte_stream.ts";
import { type DnsAsk, resolveWith } from "./_dns.ts";

const ask: DnsAsk = (host, type, server, signal) =>
  Deno.resolveDns(host, type, { nameServer: { ipAddr: server.ip, port: server.port }, signal });

/** Resolves with the system's resolver, or asks the given servers with `Deno.resolveDns`. */
export const denoResolve: Resolve = (host, servers) => resolveWith(host, servers, ask);
