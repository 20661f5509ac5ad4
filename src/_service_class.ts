/**
 * Recognises the generated client class by its shape, so that passing the module, the
 * Processor or anything else fails at construction with a message that says what to pass.
 *
 * @module
 */
import { ConfigError } from "./errors.ts";

const EXPECTED = "expected the generated client class, such as Calculator.Client";

/** Every own method name along a prototype chain, Object.prototype excluded. */
function methodNames(proto: unknown): string[] {
  const names: string[] = [];
  for (
    let p = proto;
    p && typeof p === "object" && p !== Object.prototype;
    p = Object.getPrototypeOf(p)
  ) {
    names.push(...Object.getOwnPropertyNames(p));
  }
  return names;
}

function isClientClass(names: readonly string[]): boolean {
  if (names.includes("new_seqid") && names.includes("seqid")) return true;
  return names.some((name) => name.startsWith("send_") && names.includes("recv_" + name.slice(5)));
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === "function") {
    const names = methodNames((value as { prototype?: unknown }).prototype);
    const label = value.name ? `"${value.name}"` : "an anonymous function";
    if (names.some((name) => name.startsWith("process_"))) {
      return `a Processor class (${label}, it serves calls; the client class makes them)`;
    }
    return `a function (${label}) with no send_/recv_ method pairs`;
  }
  if (typeof value === "object") {
    const keys = Object.keys(value);
    if (keys.includes("Client")) {
      const parts = ["Client", "Processor"].filter((key) => keys.includes(key));
      return `the generated module (an object with ${
        parts.map((key) => `"${key}"`).join(" and ")
      })`;
    }
    const shown = keys.slice(0, 5).map((key) => `"${key}"`).join(", ");
    return keys.length === 0 ? "an empty object" : `an object with keys ${shown}`;
  }
  return `a ${typeof value}`;
}

/**
 * Throws unless `value` looks like a generated service client class (send_/recv_ pairs, or
 * `seqid`/`new_seqid`, on its prototype).
 *
 * @throws {ConfigError} naming what was passed and what is expected.
 */
export function checkServiceClient(value: unknown): void {
  if (
    typeof value === "function" &&
    isClientClass(methodNames((value as { prototype?: unknown }).prototype))
  ) return;
  throw new ConfigError(`Invalid service client: got ${describe(value)}; ${EXPECTED}`);
}
