/**
 * Picks the runtime adapter, once. Both adapters are imported statically: each touches
 * `Deno` or `Bun` only inside its functions, so loading the other one is harmless.
 *
 * @module
 */
import type { Runtime } from "../transport/byte_stream.ts";
import { bunRuntime } from "./bun.ts";
import { denoRuntime } from "./deno.ts";

let detected: Runtime | undefined;

/**
 * Returns the adapter of the runtime this code runs on, detected on the first call.
 *
 * @returns The Deno or Bun implementation of the runtime shim.
 * @throws {Error} On any runtime other than Deno and Bun.
 *
 * @example Dial a stream
 * ```ts ignore
 * const stream = await runtime().dial(target, handlers, AbortSignal.timeout(5000));
 * ```
 */
export function runtime(): Runtime {
  if (detected) return detected;
  if ("Deno" in globalThis) detected = denoRuntime;
  else if ("Bun" in globalThis) detected = bunRuntime;
  else {
    throw new Error(
      "Cannot detect the runtime: @x/thrift-client runs on Deno and Bun only",
    );
  }
  return detected;
}
