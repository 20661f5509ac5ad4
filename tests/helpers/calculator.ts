/**
 * The test service's generated, typed modules (tests/gen, made from tests/idl/test.thrift by
 * `deno task gen`), under the names the tests use.
 */
import type { Int64 } from "../gen/_runtime.ts";
import { NotFound, Point as PointClass } from "../gen/test.ts";
import { Nested as NestedClass } from "../gen/test.ts";
import type { ServiceClientClass } from "../../mod.ts";

export { Int64 } from "../gen/_runtime.ts";
export { Calculator, Greeter } from "../gen/test.ts";
export type {
  CalculatorClient,
  CalculatorHandler,
  GreeterClient,
  GreeterHandler,
  Nested,
  Point,
} from "../gen/test.ts";

/** An i64 as npm `thrift` reads and writes it (node-int64). */
export type I64 = Int64;

/** A generated service module: its client class and its processor (for servers). */
export interface Service<C> {
  /** The client class. */
  Client: ServiceClientClass<C>;
  /** The processor class (whatever handler it serves). */
  Processor: new (handler: never) => unknown;
}

/** The generated struct and exception classes. */
export const types: {
  NotFound: typeof NotFound;
  Nested: typeof NestedClass;
  Point: typeof PointClass;
} = { NotFound, Nested: NestedClass, Point: PointClass };
