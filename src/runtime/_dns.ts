/**
 * Host-name resolution for balancing (placeholder until the DNS work lands: the system's
 * resolver only).
 *
 * @module
 */
import { lookup } from "node:dns/promises";

/** Every address of `host` from the system's resolver. */
export async function resolveHost(host: string): Promise<string[]> {
  const found = await lookup(host, { all: true });
  return found.sort((a, b) => a.family - b.family).map((a) => a.address);
}
