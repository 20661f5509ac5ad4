/**
 * The demo's embedded Thrift backend: `serve()` from `@x/thrift-client/testing` answering
 * the `Calculator` service of tests/idl/test.thrift on 127.0.0.1 and a free port.
 */
import { serve, type TestServer } from "../src/testing.ts";
import { Calculator, NotFound } from "../tests/gen/test.ts";

/** Starts the backend; `close()` stops it. */
export function startBackend(): TestServer {
  return serve(Calculator, {
    add: (a: number, b: number) => a + b,
    echoString: (s: string) => s,
    fail(message: string): never {
      throw new NotFound({ message, code: 404 });
    },
  });
}
