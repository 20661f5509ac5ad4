/**
 * What a connection is made of and how it is called: the contracts between `ThriftClient`,
 * its connections and the generated client.
 *
 * @module
 */
import type { Balancer, EndpointState } from "./balancer.ts";
import type { RetryBudget } from "./retry_budget.ts";
import type { ProtocolClass } from "./_thrift.ts";
import type { Endpoint } from "./config.ts";
import type { Pool } from "./pool.ts";
import type { InfoHeaders } from "./protocol/header.ts";
import type { ChannelOpener } from "./transport/open_channel.ts";

/** A generated Thrift client class, as `thrift --gen js:node,es6` writes it. */
export type ServiceClientClass<C> = new (output: never, pClass: never) => C;

/** Per-call options: `thrift.with({ timeout, signal, headers }).client.method()`. */
export interface CallOptions {
  /** Milliseconds from this call's write to its reply; wins over the scope's `timeout`. */
  readonly timeout?: number | undefined;
  /** Aborting it rejects this call with `signal.reason` (the late reply is skipped). */
  readonly signal?: AbortSignal | undefined;
  /**
   * Headers sent with this call: HTTP request headers on http(s), info headers in its THeader
   * frame (`protocol: "HEADER"` or `"HEADER_COMPACT"`); other protocols carry none.
   */
  readonly headers?: InfoHeaders | undefined;
}

/**
 * What `Connection.call` takes for one call besides its arguments: its {@link CallOptions},
 * and where its reply's headers go.
 */
export interface SendOptions extends CallOptions {
  /**
   * Told the headers of this call's reply (the HTTP response's, names in lower case, or the
   * THeader reply's info headers), just before the call settles with that reply; if it
   * throws, the call rejects with what it threw.
   */
  readonly onReplyHeaders?: ((headers: ReadonlyMap<string, string>) => void) | undefined;
  /**
   * With several endpoints: the endpoints this call's attempts used so far (filled by the
   * client's retries; a new connection avoids them while others remain).
   */
  readonly tried?: Set<unknown> | undefined;
}

/** Something that runs a named client method. */
export interface Caller {
  /** Runs `method(...args)` on a generated client and returns its promise. */
  call(method: string, args: unknown[], options?: CallOptions): Promise<unknown>;
  /** Sends a failed call again when it is safe (the client's own callers, not a connection's). */
  readonly retries?: CallRetries | undefined;
}

/** Runs a call's attempts: again after a failure when it is safe. */
export interface CallRetries {
  /**
   * Runs `attempt` (1, 2, ...) until it succeeds or its failure may not be retried.
   *
   * @param method The method called.
   * @param oneway A oneway method (never sent twice).
   * @param options The call's options.
   * @param attempt One attempt, with its number and options.
   * @returns What the successful attempt resolved with.
   */
  run(
    method: string,
    oneway: boolean,
    options: CallOptions | undefined,
    attempt: (n: number, options: SendOptions | undefined) => Promise<unknown>,
  ): Promise<unknown>;
}

/** How a connection is made and what it tells its owner. */
export interface ConnectionHooks {
  /** The default `timeout` of each call (the scope's); the endpoint's when absent. */
  readonly timeout?: number | undefined;
  /** Lease the channel from the kit's pool instead of opening one of its own. */
  readonly pooled?: boolean;
  /** Called each time the connection starts opening. */
  readonly opened?: () => void;
  /** Called each time the connection ends up closed. */
  readonly closed?: () => void;
  /**
   * With several endpoints: the endpoints a call already tried (the connection avoids them
   * while others remain, and adds the one it picks).
   */
  readonly tried?: Set<EndpointState> | undefined;
}

/** The shared, per-endpoint pieces every connection of one ThriftClient uses. */
export interface ConnectionKit {
  readonly endpoint: Endpoint;
  /** Opens a channel to the endpoint (the pool opens its sockets with it too). */
  readonly open: ChannelOpener;
  readonly ServiceClient: ServiceClientClass<unknown>;
  /** The protocol class the generated client writes with. */
  readonly writer: ProtocolClass;
  /** The protocol class replies are read with. */
  readonly reader: ProtocolClass;
  /** Builds the typed facade whose methods go through a caller (with its call options). */
  readonly facade: (caller: Caller, options?: CallOptions) => unknown;
  /** The pool that pooled connections lease from, when the pool is on (sockets only). */
  readonly pool?: Pool | undefined;
  /** With several endpoints: picks each new connection's endpoint (and its kit). */
  readonly balancer?: Balancer | undefined;
  /** Bounds the retries of the client's calls and connects. */
  readonly budget?: RetryBudget | undefined;
}
