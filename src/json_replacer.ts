/**
 * `jsonReplacer`: makes Thrift replies JSON-safe, as proto3's JSON mapping does for the same
 * kinds of value.
 *
 * @module
 */
import { Buffer } from "node:buffer";

/**
 * A replacer for `JSON.stringify(reply, jsonReplacer)`: an `i64` (node-int64's `Int64` from
 * any copy of the package, or a `bigint`) becomes its exact decimal string, a `binary`
 * (`Buffer` or any `Uint8Array`) its base64 text, and a `double` that JSON cannot hold
 * `"NaN"`, `"Infinity"` or `"-Infinity"`, as proto3's JSON mapping writes them. Everything else
 * is left to `JSON.stringify`.
 *
 * @param key The property being written (`JSON.stringify` passes it).
 * @param value Its value, after `toJSON`.
 * @returns The JSON-safe value.
 *
 * @example A route that answers a Thrift reply as JSON
 * ```ts ignore
 * import { jsonReplacer } from "@x/thrift-client";
 *
 * const user = await thrift.client.getUser(id); // { id: Int64, avatar: Buffer, ... }
 * return new Response(JSON.stringify(user, jsonReplacer), {
 *   headers: { "content-type": "application/json" },
 * });
 * ```
 */
export function jsonReplacer(this: unknown, key: string, value: unknown): unknown {
  // `Buffer#toJSON` has already run: the holder still has the original value.
  const original = (this as Record<string, unknown> | null)?.[key] ?? value;
  switch (typeof original) {
    case "bigint":
      return original.toString();
    case "number":
      return Number.isFinite(original) ? original : String(original);
    case "object":
      if (original instanceof Uint8Array) {
        return Buffer.from(original.buffer, original.byteOffset, original.byteLength)
          .toString("base64");
      }
      return int64Text(original) ?? value;
    default:
      return value;
  }
}

/** The exact decimal text of a node-int64 `Int64` (recognized by shape), else undefined. */
function int64Text(value: object | null): string | undefined {
  if (value === null) return undefined;
  const { buffer, offset } = value as { buffer?: unknown; offset?: unknown };
  if (
    !(buffer instanceof Uint8Array) || typeof offset !== "number" ||
    buffer.length < offset + 8 ||
    typeof (value as { toOctetString?: unknown }).toOctetString !== "function"
  ) return undefined;
  return new DataView(buffer.buffer, buffer.byteOffset + offset, 8).getBigInt64(0).toString();
}
