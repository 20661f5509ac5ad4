/** Open file descriptors of this process (Linux `/proc/self/fd`), for leak checks. */
import { readdirSync } from "node:fs";
import { until } from "./within.ts";

/** How many file descriptors this process has open. */
export function openFds(): number {
  return readdirSync("/proc/self/fd").length;
}

/** Runs `fn`, then waits until the process has no more descriptors open than before it. */
export async function withoutFdLeak(fn: () => Promise<void>): Promise<void> {
  const before = openFds();
  await fn();
  await until(`descriptors are back to ${before} (now ${openFds()})`, () => openFds() <= before);
}
