/**
 * The handler the generated processor sees: it records each call, then runs the user's
 * method, which may return a value or a promise, or throw.
 *
 * The processor calls a method that has as many parameters as the IDL's arguments with those
 * arguments and reads its promise; any other method gets a node-style callback last. The
 * methods here take both forms, so the user's methods may declare any parameters.
 *
 * @module
 */

/** A call the test server received: the method and the arguments its handler got. */
export interface RecordedCall {
  /** The IDL method name. */
  readonly method: string;
  /** The arguments, as the handler got them (an `i64` is an `Int64`, a `binary` a `Buffer`). */
  readonly args: unknown[];
}

type Callback = (error: unknown, result?: unknown) => void;

/** Runs the user's method; what it throws that is not an `Error` becomes one. */
async function run(handler: object, method: string, args: unknown[]): Promise<unknown> {
  const fn: unknown = (handler as Record<string, unknown>)[method];
  if (typeof fn !== "function") {
    throw new Error(`Cannot call "${method}": the handler given to serve() has no such method`);
  }
  try {
    return await fn.apply(handler, args);
  } catch (error) {
    // Declared exceptions are Errors, written as they are; of anything else the processor
    // writes `error.message` (a string) into a TApplicationException.
    if (error instanceof Error) throw error;
    const message = (error as { message?: unknown } | null)?.message;
    throw new Error(typeof message === "string" ? message : String(error));
  }
}

/**
 * Returns the object to give to `new Processor(...)`: every method name it is asked for
 * records the call in `calls`, then calls `handler`'s method of that name.
 *
 * @param handler The user's methods.
 * @param calls Where calls are recorded, in the order they arrive.
 * @returns The processor's handler.
 */
export function recordingHandler(handler: object, calls: RecordedCall[]): object {
  const methods = new Map<string, (...args: unknown[]) => unknown>();
  const method = (name: string) => (...args: unknown[]): unknown => {
    const callback = typeof args.at(-1) === "function" ? args.pop() as Callback : undefined;
    calls.push({ method: name, args });
    const result = run(handler, name, args);
    if (callback === undefined) {
      result.catch(() => {}); // a oneway call's failure has no reply to go to
      return result;
    }
    // A value the reply cannot carry makes writing it throw: answer with that error instead.
    const answer = (error: unknown, value?: unknown): void => {
      try {
        callback(error, value);
      } catch (failure) {
        callback(failure instanceof Error ? failure : new Error(String(failure)));
      }
    };
    result.then((value) => answer(null, value), (error) => answer(error));
  };
  return new Proxy({}, {
    get(_target, name) {
      if (typeof name !== "string") return undefined;
      let fn = methods.get(name);
      if (!fn) methods.set(name, fn = method(name));
      return fn;
    },
  });
}
