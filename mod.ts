/**
 * Call Apache Thrift services from Deno and Bun web apps, over tcp, tls, unix sockets or
 * HTTP, with the binary, compact or JSON protocol (or THeader around binary or compact),
 * using the client the Thrift compiler generated, typed by this package's generator
 * (`deno run -A jsr:@x/thrift-client/gen service.thrift --out gen`).
 *
 * @example Quick start
 * ```ts ignore
 * import { ThriftClient } from "@x/thrift-client";
 * import { Calculator } from "./gen/tutorial.ts";
 *
 * const thrift = new ThriftClient(Calculator.Client, {
 *   transport: "tcp://127.0.0.1:9090",
 *   pool: true,
 * });
 *
 * Deno.serve(thrift.autoconnect(async () => {
 *   return new Response(String(await thrift.client.add(1, 2)));
 * }));
 * ```
 *
 * @module
 */
export { ThriftClient } from "./src/client.ts";
export { Connection } from "./src/connection.ts";
export { jsonReplacer } from "./src/json_replacer.ts";
export type {
  Caller,
  CallOptions,
  CallRetries,
  SendOptions,
  ServiceClientClass,
} from "./src/connection_kit.ts";
export type { InfoHeaders } from "./src/protocol/header.ts";
export type { PoolStats } from "./src/pool.ts";
export type { EndpointStats } from "./src/balancer.ts";
export type { CallHook, HookCall } from "./src/telemetry.ts";
export type {
  CallInfo,
  EnvRecord,
  HeadersOption,
  PoolOptions,
  PoolSettings,
  ProtocolName,
  SeedKeys,
  SslOptions,
  ThriftClientConfig,
  ThriftClientOptions,
} from "./src/config.ts";
export {
  ClosedError,
  ConfigError,
  ConnectError,
  ProtocolError,
  ThriftClientError,
  TimeoutError,
  TransportError,
} from "./src/errors.ts";
export type { ThriftClientErrorCode } from "./src/errors.ts";
