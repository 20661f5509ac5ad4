/**
 * `ThriftClient`: options become an endpoint once; it hands out connections (`connect()`,
 * `autoconnect()`, the shared `transport`) and a `client` that picks the right one per call.
 *
 * @module
 */
import process from "node:process";
import { checkServiceClient } from "./_service_class.ts";
import {
  type Endpoint,
  type EnvRecord,
  type ProtocolName,
  resolveConfig,
  type ThriftClientConfig,
} from "./config.ts";
import { type Connection, newConnection } from "./connection.ts";
import type {
  Caller,
  CallOptions,
  ConnectionHooks,
  ConnectionKit,
  SendOptions,
  ServiceClientClass,
} from "./connection_kit.ts";
import { ClosedError } from "./errors.ts";
import { Pool, type PoolStats } from "./pool.ts";
import { readingProtocol, writingProtocol } from "./protocol.ts";
import { abortOn, RequestWatch } from "./request_watch.ts";
import { checkHttpReply } from "./http_reply_check.ts";
import { Balancer, type EndpointState, type EndpointStats } from "./balancer.ts";
import { Retrier } from "./retries.ts";
import { RetryBudget } from "./retry_budget.ts";
import { runtime } from "./runtime/detect.ts";
import { CallRunner } from "./telemetry.ts";
import { channelOpener } from "./transport/open_channel.ts";
import { enterScope, leaveScope, runScoped, scoped } from "./scope.ts";

const SKIPPED = /^(constructor|seqid|new_seqid|send_.*|recv_.*)$/;

/** What a facade's methods call through. */
interface Facade {
  readonly caller: Caller;
  readonly options: CallOptions | undefined;
}

/**
 * Builds, once per client class, a factory of objects whose methods go through a caller,
 * each call through the runner (hooks, headers, telemetry) when anything observes it.
 */
function facadeFor(
  ServiceClient: ServiceClientClass<unknown>,
  runner: CallRunner,
): (caller: Caller, options?: CallOptions) => unknown {
  const proto: Record<string, unknown> = {};
  for (
    let p = ServiceClient.prototype;
    p && p !== Object.prototype;
    p = Object.getPrototypeOf(p)
  ) {
    for (const name of Object.getOwnPropertyNames(p)) {
      if (SKIPPED.test(name) || name in proto) continue;
      const generated: unknown = Object.getOwnPropertyDescriptor(p, name)?.value;
      if (typeof generated !== "function") continue;
      const oneway = typeof (p as Record<string, unknown>)[`recv_${name}`] !== "function";
      proto[name] = withArity(function (this: Facade, ...args: unknown[]) {
        const { caller, options } = this;
        const { retries } = caller;
        if (!retries && !runner.observes(options)) return caller.call(name, args, options);
        const attempt = (n: number, sent: SendOptions | undefined) =>
          runner.observes(sent)
            ? runner.run(name, args, sent, (o) => caller.call(name, args, o), n)
            : caller.call(name, args, sent);
        return retries ? retries.run(name, oneway, options, attempt) : attempt(1, options);
      }, generated.length);
    }
  }
  return (caller, options) => Object.assign(Object.create(proto), { caller, options });
}

/**
 * A Thrift service client for web apps: configure once, then call `thrift.client.method()`
 * inside `autoconnect`, on a `connect()` connection, or per call.
 *
 * @example Calling a service from Deno.serve
 * ```ts ignore
 * import { ThriftClient } from "@x/thrift-client";
 * import { Calculator } from "./gen/tutorial.ts";
 *
 * const thrift = new ThriftClient(Calculator.Client, { transport: "tcp://127.0.0.1:9090" });
 * Deno.serve(thrift.autoconnect(async () => new Response(String(await thrift.client.add(1, 2)))));
 * ```
 */
export class ThriftClient<C> {
  /** The binary protocol (`TBinaryProtocol`), the default. */
  static readonly BINARY: "BINARY" & ProtocolName = "BINARY";
  /** The compact protocol (`TCompactProtocol`). */
  static readonly COMPACT: "COMPACT" & ProtocolName = "COMPACT";
  /** The JSON protocol (`TJSONProtocol`). */
  static readonly JSON: "JSON" & ProtocolName = "JSON";
  /** THeader frames (`THeaderProtocol`) around binary messages, over sockets. */
  static readonly HEADER: "HEADER" & ProtocolName = "HEADER";
  /** THeader frames (`THeaderProtocol`) around compact messages, over sockets. */
  static readonly HEADER_COMPACT: "HEADER_COMPACT" & ProtocolName = "HEADER_COMPACT";

  /** The generated client; each call goes to the connection in scope (see the README). */
  readonly client: C;
  /** The shared connection for manual `open()` / `close()`. */
  readonly transport: Connection<C>;
  /** Whether calls outside any scope get a connection of their own. */
  readonly alwaysConnect: boolean;
  /** The endpoint URL, without credentials. */
  readonly url: string;
  readonly #kit: ConnectionKit;
  readonly #open = new Set<Connection<C>>();
  readonly #pool: Pool | undefined;
  readonly #balancer: Balancer | undefined;
  readonly #retries: Retrier | undefined;
  readonly #requests = new RequestWatch();

  /**
   * Configures a client; nothing is contacted until the first call or `open()`.
   *
   * @param ServiceClient The generated client class (`Calculator.Client`).
   * @param config camelCase options and/or `THRIFTCLIENT_*` keys; camelCase wins.
   * @throws {ConfigError} when an option or key is invalid; nothing is contacted here.
   */
  constructor(ServiceClient: ServiceClientClass<C>, config?: ThriftClientConfig);
  /**
   * Configures a client from an environment record (`process.env`, `Deno.env.toObject()`).
   *
   * @param ServiceClient The generated client class (`Calculator.Client`).
   * @param env String values; only the `THRIFTCLIENT_*` keys are read.
   * @throws {ConfigError} when a key is unknown or invalid.
   */
  constructor(ServiceClient: ServiceClientClass<C>, env: EnvRecord);
  constructor(
    ServiceClient: ServiceClientClass<C>,
    config: ThriftClientConfig | EnvRecord = {},
  ) {
    checkServiceClient(ServiceClient);
    const endpoint: Endpoint = resolveConfig(config);
    const shared = {
      ServiceClient,
      writer: writingProtocol(endpoint.protocol, endpoint.service),
      reader: readingProtocol(endpoint.protocol, endpoint.int64),
      facade: facadeFor(
        ServiceClient,
        new CallRunner({
          hooks: endpoint.hooks,
          headers: endpoint.headers,
          service: endpoint.service ?? ServiceClient.name.replace(/Client$/, ""),
          endpoint,
        }),
      ),
      budget: new RetryBudget(),
    };
    const openerFor = (at: Endpoint) =>
      channelOpener(at, runtime(), (message, body) => checkHttpReply(at, message, body));
    /** The kit of one endpoint: its opener and its pool. */
    const kitFor = (at: Endpoint): ConnectionKit => {
      const open = openerFor(at);
      const pool = at.pool && at.target ? new Pool(at.pool, open, at.label) : undefined;
      return { ...shared, endpoint: at, open, pool };
    };
    if (endpoint.locations.length > 1 || endpoint.dns) {
      // Connections pick an endpoint (and its kit) when they open: this kit has no pool.
      this.#balancer = new Balancer(endpoint, kitFor, runtime());
      this.#kit = { ...shared, endpoint, open: openerFor(endpoint), balancer: this.#balancer };
    } else {
      this.#kit = kitFor(endpoint);
    }
    this.#pool = this.#kit.pool;
    this.#retries = this.#balancer || endpoint.idempotent
      ? new Retrier(
        shared.budget,
        endpoint.idempotent ?? (() => false),
        () => Math.max(2, this.#balancer?.size ?? 1),
        endpoint.timeout,
      )
      : undefined;
    this.alwaysConnect = endpoint.alwaysConnect;
    this.url = endpoint.label;
    this.transport = newConnection<C>(this.#kit);
    this.client = this.#kit.facade({
      call: (method, args, options) => this.#route(method, args, options),
      retries: this.#retries,
    }) as C;
  }

  /**
   * The pool's counters (open, idle, leased, waiting, created, discarded, timeouts), or
   * undefined when the pool is off (or the transport is http(s), which uses fetch's own
   * keep-alive).
   */
  get pool(): PoolStats | undefined {
    if (!this.#balancer) return this.#pool?.stats;
    const all = this.#balancer.stats.map((s) => s.pool).filter((p) => p !== undefined);
    if (all.length === 0) return undefined;
    const sum = (key: keyof PoolStats) => all.reduce((n, p) => n + p[key], 0);
    return {
      open: sum("open"),
      idle: sum("idle"),
      leased: sum("leased"),
      waiting: sum("waiting"),
      created: sum("created"),
      discarded: sum("discarded"),
      timeouts: sum("timeouts"),
      inFlight: sum("inFlight"),
      shared: sum("shared"),
    };
  }

  /**
   * Each endpoint with several of them (a `transport` list, or `dns`): its URL (without
   * credentials; the address when resolved from a name), state, connections in use, failures,
   * ejection, pool counters. Undefined with one URL and no `dns`.
   */
  get endpoints(): EndpointStats[] | undefined {
    return this.#balancer?.stats;
  }

  /**
   * A client for one call with its own deadline or signal, on the connection in scope.
   *
   * @param options `timeout` wins over the scope's; aborting `signal` rejects the call with
   *   `signal.reason`; `headers` go with the call (HTTP headers, THeader info headers).
   * @returns An object whose `client` makes calls with these options.
   *
   * @example A shorter deadline for one call
   * ```ts ignore
   * const sum = await thrift.with({ timeout: 200 }).client.add(1, 2);
   * ```
   */
  with(options: CallOptions): { readonly client: C } {
    return {
      client: this.#kit.facade(
        { call: (m, a, o) => this.#route(m, a, o), retries: this.#retries },
        options,
      ) as C,
    };
  }

  /**
   * A client configured from the `THRIFTCLIENT_*` environment variables.
   *
   * @param ServiceClient The generated client class.
   * @param options camelCase options that override the environment.
   * @returns The configured client.
   * @throws {ConfigError} when a variable is invalid, or a `THRIFTCLIENT_*` name is unknown.
   */
  static fromEnv<C>(
    ServiceClient: ServiceClientClass<C>,
    options?: ThriftClientConfig,
  ): ThriftClient<C> {
    const env: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (key.startsWith("THRIFTCLIENT_")) env[key] = value;
    }
    return new ThriftClient(ServiceClient, { ...env, ...options });
  }

  #route(method: string, args: unknown[], options?: SendOptions): Promise<unknown> {
    const inScope = scoped(this) as Connection<C> | undefined;
    if (inScope && inScope.state !== "closed") {
      return inScope.call(method, args, options);
    }
    const state = this.transport.state;
    if (state === "open" || state === "opening" || state === "closing") {
      return this.transport.call(method, args, options);
    }
    if (!this.alwaysConnect) {
      return Promise.reject(
        new ClosedError(
          `Cannot call "${method}" on "${this.url}": the transport is not open (alwaysConnect is false: call \`await thrift.transport.open()\`, or use connect() or autoconnect())`,
        ),
      );
    }
    const tried = options?.tried as Set<EndpointState> | undefined;
    const connection = this.#newConnection(undefined, undefined, tried);
    const result = connection.call(method, args, options);
    result.then(() => connection.end(), () => connection.end());
    return result;
  }

  #newConnection(
    timeout?: number,
    onClosed?: () => void,
    tried?: Set<EndpointState>,
  ): Connection<C> {
    const hooks: ConnectionHooks = {
      timeout,
      tried,
      pooled: true,
      opened: () => this.#open.add(connection),
      closed: () => {
        this.#open.delete(connection);
        onClosed?.();
      },
    };
    const connection: Connection<C> = newConnection<C>(this.#kit, hooks);
    return connection;
  }

  /**
   * Returns a connection at once; it starts opening now and calls wait for it. Until it is
   * closed, `thrift.client` in this async context uses it too.
   *
   * @param options `signal`: aborting it closes the connection, and the calls in flight
   *   reject with `signal.reason`; `timeout`: the default deadline of each call on it.
   * @returns The connection (leased from the pool when it is on: `end()` gives it back,
   *   `close()` discards it).
   *
   * @example Scoped connection
   * ```ts ignore
   * { using conn = thrift.connect(); await conn.client.add(1, 2); } // closed here
   * ```
   */
  connect(
    options?: { signal?: AbortSignal | undefined; timeout?: number | undefined },
  ): Connection<C> {
    let unlink = () => {};
    const connection: Connection<C> = this.#newConnection(options?.timeout, () => {
      unlink();
      leaveScope(this, connection);
    });
    unlink = abortOn(options?.signal, connection);
    if (connection.state === "idle") connection.open().catch(() => {}); // errors reach the calls
    enterScope(this, connection);
    return connection;
  }

  /**
   * Wraps a request handler: a connection opens before it runs (a dead backend fails before
   * the handler) and is released when it settles; inside, `thrift.client` uses it.
   *
   * @param handler A `Request -> Response` handler (Deno.serve, Bun.serve's fetch, ...).
   * @param options `timeout`: the default deadline of each call the handler makes;
   *   `lazy`: open the connection at the handler's first call instead of before it runs
   *   (routes without calls never touch the backend; a dead backend fails that call).
   * @returns A handler with the same parameters, declaring at least one (so Deno.serve
   *   passes the `Request`, whose signal cancels the calls when the client goes away).
   */
  autoconnect<A extends unknown[], R>(
    handler: (...args: A) => R,
    options: { timeout?: number; lazy?: boolean } = {},
  ): (...args: A) => Promise<Awaited<R>> {
    const run = (thisArg: unknown, args: A) =>
      this.#withConnection(handler, thisArg, args, options);
    const wrapped = function (this: unknown, ...args: A): Promise<Awaited<R>> {
      return run(this, args);
    };
    return withArity(wrapped, Math.max(1, handler.length));
  }

  async #withConnection<A extends unknown[], R>(
    handler: (...args: A) => R,
    thisArg: unknown,
    args: A,
    { timeout, lazy }: { timeout?: number; lazy?: boolean },
  ): Promise<Awaited<R>> {
    const connection = this.#newConnection(timeout);
    // The client going away aborts the calls in flight, but only while the handler runs:
    // Deno's legacy `request.signal` also aborts after every successful response.
    const request = args[0] instanceof Request ? args[0] : undefined;
    let unwatch = () => {};
    try {
      if (!lazy) await connection.open(); // else the first call opens it
      if (request) unwatch = this.#requests.watch(request, connection);
      return await runScoped(this, connection, () => handler.apply(thisArg, args));
    } finally {
      unwatch();
      void connection.end();
    }
  }

  /**
   * Closes the shared transport, every connection this client opened and the pool's idle
   * connections, at once; calls in flight reject. A later call opens anew.
   */
  close(): Promise<void> {
    for (const connection of this.#open) void connection.close();
    this.#pool?.closeIdle();
    this.#balancer?.closeIdle();
    return this.transport.close();
  }

  /**
   * Refuses new leases, waits for calls in flight (each bounded by its deadline), then closes
   * everything (see `close()`). A later call opens anew.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    const ending = Promise.all([...this.#open, this.transport].map((c) => c.end()));
    const pools = this.#balancer ? this.#balancer.kits.map((k) => k.pool) : [this.#pool];
    const draining = pools.filter((p) => p !== undefined).map((p) => p.drain(ending));
    await (draining.length > 0 ? Promise.all(draining) : ending);
    this.#balancer?.closeIdle(); // and stops re-resolving names
  }
}

/** Gives a wrapper the declared parameter count of the function it wraps. */
function withArity<F extends (...args: never[]) => unknown>(
  fn: F,
  length: number,
): F {
  Object.defineProperty(fn, "length", { value: length });
  return fn;
}
