/**
 * Typed handles on the generated test service (tests/gen, from tests/idl/test.thrift): the
 * generated `.d.ts` files name npm `thrift` types that the package does not ship.
 */
import type { Buffer } from "node:buffer";
import Int64Module from "node-int64";
import type { ServiceClientClass } from "../../mod.ts";
import CalculatorModule from "../gen/Calculator.js";
import GreeterModule from "../gen/Greeter.js";
import typesModule from "../gen/test_types.js";

/** An i64 as npm `thrift` reads and writes it (node-int64). */
export interface I64 {
  toOctetString(): string;
  toNumber(allowImprecise?: boolean): number;
}

/** node-int64's class, the one the generated code uses. */
export const Int64 = Int64Module as unknown as new (
  value: number | string,
  low?: number,
) => I64;

/** A point. */
export interface Point {
  x: number;
  y: number;
}

/** The struct with containers. */
export interface Nested {
  name: string;
  id: I64;
  blob: Buffer;
  points: Point[];
  counts: Map<string, number> | Record<string, number>;
  tags: string[] | Set<string>;
  origin?: Point | null;
}

/** The generated Calculator client's methods. */
export interface CalculatorClient {
  add(a: number, b: number): Promise<number>;
  echoString(s: string): Promise<string>;
  echoI64(v: I64): Promise<I64>;
  echoBinary(b: Buffer): Promise<Buffer>;
  echoNested(n: unknown): Promise<Nested>;
  fail(message: string): Promise<void>;
  crash(): Promise<void>;
  sleep(ms: number): Promise<number>;
  notify(message: string): Promise<void>;
  notified(): Promise<string[]>;
  header(name: string): Promise<string>;
}

/** The generated Greeter client's methods. */
export interface GreeterClient {
  greet(name: string): Promise<string>;
}

/** A generated service module: its client class and its processor (for servers). */
export interface Service<C> {
  Client: ServiceClientClass<C>;
  Processor: new (handler: object) => unknown;
}

/** The generated Calculator module. */
export const Calculator = CalculatorModule as unknown as Service<CalculatorClient>;

/** The generated Greeter module. */
export const Greeter = GreeterModule as unknown as Service<GreeterClient>;

/** The generated struct and exception classes. */
export const types = typesModule as unknown as {
  NotFound: new (args: { message?: string; code?: number }) => Error & {
    message: string;
    code: number;
  };
  Nested: new (args: Partial<Nested>) => Nested;
  Point: new (args: Point) => Point;
};
