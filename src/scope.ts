/**
 * The request scope: which connection `thrift.client` uses inside `autoconnect` (and after
 * `connect()`), kept per async context so concurrent requests never share one by accident.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Caller } from "./connection_kit.ts";

const storage = new AsyncLocalStorage<Map<object, Caller>>();

/** Runs `fn` with `caller` as the connection of `owner` in this async context. */
export function runScoped<T>(owner: object, caller: Caller, fn: () => T): T {
  const scopes = new Map(storage.getStore());
  scopes.set(owner, caller);
  return storage.run(scopes, fn);
}

/** Makes `caller` the connection of `owner` for the rest of this async context. */
export function enterScope(owner: object, caller: Caller): void {
  const scopes = new Map(storage.getStore());
  scopes.set(owner, caller);
  storage.enterWith(scopes);
}

/** Removes `caller` as the connection of `owner`, if it still is. */
export function leaveScope(owner: object, caller: Caller): void {
  const scopes = storage.getStore();
  if (scopes?.get(owner) !== caller) return;
  const rest = new Map(scopes);
  rest.delete(owner);
  storage.enterWith(rest);
}

/** The connection of `owner` in this async context, if any. */
export function scoped(owner: object): Caller | undefined {
  return storage.getStore()?.get(owner);
}
