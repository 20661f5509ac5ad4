/**
 * Recognises the generated client class by its shape, so that passing the module, the
 * Processor or anything else fails at construction with a message that says what to pass;
 * and reads what a typed module records on that class (the arguments IDL defaults fill).
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

/**
 * Where a typed module (written by `./gen`) records, on a generated client class, the
 * methods whose trailing arguments have IDL defaults: `{ byId: 1 }` means `byId` needs 1.
 */
const MIN_ARGS = Symbol.for("@x/thrift-client/minArgs");

/**
 * How many arguments `method` needs at least: the typed module's record along the class
 * chain (a method is recorded by the class that declares it), else `arity`.
 *
 * @param ServiceClient the generated client class
 * @param method a method of it
 * @param arity the method's declared parameter count
 * @returns the arguments the call must pass (the generated code fills IDL defaults)
 */
export function minArgs(ServiceClient: unknown, method: string, arity: number): number {
  for (let c = ServiceClient; typeof c === "function"; c = Object.getPrototypeOf(c)) {
    const own = Object.getOwnPropertyDescriptor(c, MIN_ARGS)?.value;
    if (own && Object.hasOwn(own, method)) return own[method];
  }
  return arity;
}
