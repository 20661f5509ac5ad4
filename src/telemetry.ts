/**
 * Around every call, in one place: the `hooks` chain, the per-call headers, and the
 * OpenTelemetry CLIENT span and `rpc.client.call.duration` histogram (through
 * `@opentelemetry/api` only: the application registers an SDK, or Deno does with
 * `OTEL_DENO=true`). With no hooks, no headers and no SDK, a call goes straight through.
 *
 * @module
 */
import {
  type Attributes,
  context,
  createNoopMeter,
  type Histogram,
  type MeterProvider,
  metrics,
  propagation,
  ProxyTracerProvider,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  type Tracer,
  type TracerProvider,
} from "@opentelemetry/api";
import type { CallInfo, Endpoint, HeadersOption } from "./config.ts";
import { headerPairs, type InfoHeaders } from "./transport/channel.ts";
import type { CallOptions, SendOptions } from "./connection_kit.ts";
import { ThriftClientError } from "./errors.ts";

/** A call as a hook sees it. */
export interface HookCall extends CallInfo {
  /** Headers sent with the call (HTTP headers, THeader info headers): add to them before `next()`. */
  readonly headers: Headers;
  /** The headers of the reply (HTTP response, THeader), once `next()` has settled. */
  readonly replyHeaders: Headers | undefined;
}

/**
 * A hook around every call (onion order: the first is outermost). It returns `next()`'s
 * result, or another value, or throws; a hook that throws before `next()` sends nothing.
 */
export type CallHook = (call: HookCall, next: () => Promise<unknown>) => Promise<unknown>;

/** What the runner needs to know about the client, decided once. */
export interface TelemetrySettings {
  readonly hooks: readonly CallHook[];
  /** The `headers` option. */
  readonly headers?: HeadersOption | undefined;
  /** The IDL service name, or the multiplexed name. */
  readonly service: string;
  /** The endpoint: its URL without credentials, and where it points, as config decided. */
  readonly endpoint: Where;
}

/** What the runner reads of an endpoint. */
type Where = Pick<Endpoint, "label" | "target" | "httpUrl">;

/** Sends the call with these options (the caller's, plus headers and a reply-headers slot). */
export type Send = (options: SendOptions | undefined) => Promise<unknown>;

const SCOPE = "@x/thrift-client";
/** What the API hands out while no SDK is registered. */
const NOOP_TRACERS = new ProxyTracerProvider().getDelegate();
const NOOP_METER = createNoopMeter();
/** The RPC semantic conventions' advice for `rpc.client.call.duration`, in seconds. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

let tracerOf: { delegate?: TracerProvider; tracer: Tracer | undefined } = { tracer: undefined };
let histogramOf: { provider?: MeterProvider; histogram: Histogram | undefined } = {
  histogram: undefined,
};

/** The tracer of the registered SDK; undefined while none is (the call then makes no span). */
function activeTracer(): Tracer | undefined {
  const provider = trace.getTracerProvider();
  // Registering an SDK gives the API's proxy a delegate: the proxy itself stays the same.
  const delegate = provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider;
  if (delegate !== tracerOf.delegate) {
    tracerOf = {
      delegate,
      tracer: delegate === NOOP_TRACERS ? undefined : provider.getTracer(SCOPE),
    };
  }
  return tracerOf.tracer;
}

/** The duration histogram of the registered SDK; undefined while none is. */
function activeHistogram(): Histogram | undefined {
  const provider = metrics.getMeterProvider();
  if (provider !== histogramOf.provider) {
    const meter = provider.getMeter(SCOPE);
    const none = meter === NOOP_METER;
    histogramOf = {
      provider,
      histogram: none ? undefined : meter.createHistogram("rpc.client.call.duration", {
        unit: "s",
        description: "Duration of outbound Thrift calls",
        advice: { explicitBucketBoundaries: BUCKETS },
      }),
    };
  }
  return histogramOf.histogram;
}

/**
 * `error.type` of a failed call: a library error's code (`TIMEOUT`, `CONNECT`, ...), else
 * the error's name (a declared exception's IDL name, `TApplicationException`, `AbortError`).
 */
function errorType(error: unknown): string {
  if (error instanceof ThriftClientError) return error.code;
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === "string" && name !== "" ? name : "_OTHER";
}

/** Where the endpoint is, as span attributes (`server.*`, `network.transport`). */
function serverAttributes({ target, httpUrl }: Where): Attributes {
  if (target?.kind === "unix") {
    return { "server.address": target.path, "network.transport": "unix" };
  }
  if (target) {
    return {
      "server.address": target.host,
      "server.port": target.port,
      "network.transport": "tcp",
    };
  }
  const url = new URL(httpUrl!); // the socket's address is fetch's to decide: the URL's
  return {
    "server.address": url.hostname.replace(/^\[|\]$/g, ""),
    "server.port": url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80,
    "network.transport": "tcp",
  };
}

/** One call's state as its hooks see it. */
class Call implements HookCall {
  readonly headers: Headers;
  replyHeaders: Headers | undefined = undefined;
  constructor(
    readonly method: string,
    readonly service: string,
    readonly args: readonly unknown[],
    readonly endpoint: string,
    readonly attempt: number,
  ) {
    this.headers = new Headers();
  }
}

/** Runs each call through hooks, headers and telemetry; built once per `ThriftClient`. */
export class CallRunner {
  readonly #settings: TelemetrySettings;
  readonly #attributes: Attributes;
  /** Hooks or a `headers` option: every call is observed. */
  readonly #observed: boolean;

  /** @param settings the hooks, the `headers` option and the names the client knows */
  constructor(settings: TelemetrySettings) {
    this.#settings = settings;
    this.#observed = settings.hooks.length > 0 || settings.headers !== undefined;
    this.#attributes = {
      "rpc.system.name": "apache_thrift",
      "rpc.system": "apache_thrift",
      ...serverAttributes(settings.endpoint),
    };
  }

  /** False when nothing would see the call: no hooks, no headers, no SDK registered. */
  observes(options: CallOptions | undefined): boolean {
    return this.#observed || options?.headers !== undefined || activeTracer() !== undefined ||
      activeHistogram() !== undefined;
  }

  /** Runs one call through the span, the hooks (first outermost) and the headers. */
  run(
    method: string,
    args: unknown[],
    options: CallOptions | undefined,
    send: Send,
    attempt = 1,
  ): Promise<unknown> {
    const { hooks, headers, service, endpoint } = this.#settings;
    const tracer = activeTracer();
    const histogram = activeHistogram();
    const call = new Call(method, service, args, endpoint.label, attempt);
    try {
      setAll(call.headers, typeof headers === "function" ? headers(call) : headers);
      setAll(call.headers, options?.headers);
    } catch (error) {
      return Promise.reject(error); // a bad header: the call rejects, nothing is sent
    }
    const name = `${service}/${method}`;
    const started = performance.now();
    const span: Span | undefined = tracer?.startSpan(name, {
      kind: SpanKind.CLIENT,
      attributes: { ...this.#attributes, "rpc.method": name },
    });
    const scope = span ? trace.setSpan(context.active(), span) : undefined;
    const terminal = (): Promise<unknown> => {
      if (scope) propagation.inject(scope, call.headers, HEADERS_SETTER);
      return send({
        ...options,
        headers: call.headers,
        onReplyHeaders: (headers) => call.replyHeaders = replyHeaders(headers),
      });
    };
    const chain = hooks.reduceRight<() => Promise<unknown>>(
      (next, hook) => () => {
        try {
          return Promise.resolve(hook(call, next));
        } catch (error) {
          return Promise.reject(error);
        }
      },
      terminal,
    );
    const result = scope ? context.with(scope, chain) : chain();
    if (!span && !histogram) return result;
    const finish = (error?: unknown) => {
      const type = error === undefined ? undefined : errorType(error);
      if (span) {
        if (type !== undefined) {
          span.setAttribute("error.type", type);
          span.setStatus({
            code: SpanStatusCode.ERROR,
            message: String((error as Error)?.message ?? error),
          });
        }
        span.end();
      }
      histogram?.record((performance.now() - started) / 1000, {
        "rpc.system.name": "apache_thrift",
        "rpc.method": name,
        ...(type === undefined ? {} : { "error.type": type }),
      });
    };
    return result.then((value) => {
      finish();
      return value;
    }, (error) => {
      finish(error);
      throw error;
    });
  }
}

/** Sets each of `source`'s headers on `target` (the later wins); throws on an invalid one. */
function setAll(target: Headers, source: InfoHeaders | HeadersInit | undefined): void {
  if (!source) return;
  for (const [name, value] of headerPairs(source as InfoHeaders)) target.set(name, value);
}

/**
 * A reply's headers as hooks see them, a `Headers`; an info header a `Headers` cannot hold
 * (a value outside Latin-1, a name that is not a token) is left out.
 */
function replyHeaders(received: ReadonlyMap<string, string>): Headers {
  const headers = new Headers();
  for (const [name, value] of received) {
    try {
      headers.append(name, value);
    } catch {
      // not representable as an HTTP header
    }
  }
  return headers;
}

const HEADERS_SETTER = {
  set(carrier: Headers, key: string, value: string): void {
    carrier.set(key, value);
  },
};
