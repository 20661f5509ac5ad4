/**
 * Registers the official OpenTelemetry SDK for a test (tracer provider with an in-memory
 * exporter, a meter provider with a reader we collect on demand, the AsyncLocalStorage context
 * manager, the W3C propagator) and unregisters all of it on dispose, so other tests in the
 * same process (Bun runs every file in one) see no SDK.
 */
import { context, metrics, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
} from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";

/** A reader that collects only when asked. */
class OnDemandReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

/** The registered SDK of one test. */
export interface TestSdk {
  /** The spans ended so far. */
  spans(): ReadableSpan[];
  /** The data points of a histogram by name, as collected now. */
  histogram(name: string): Promise<DataPoint<Histogram>[]>;
  /** Unregisters everything. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Registers the SDK globally until the returned object is disposed. */
export function registerSdk(): TestSdk {
  const exporter = new InMemorySpanExporter();
  const tracers = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const reader = new OnDemandReader();
  const meters = new MeterProvider({ readers: [reader] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(tracers);
  metrics.setGlobalMeterProvider(meters);
  return {
    spans: () => exporter.getFinishedSpans(),
    async histogram(name) {
      const { resourceMetrics } = await reader.collect();
      const found = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics)
        .filter((m) => m.descriptor.name === name);
      return found.flatMap((m) => m.dataPoints as DataPoint<Histogram>[]);
    },
    async [Symbol.asyncDispose]() {
      trace.disable();
      metrics.disable();
      propagation.disable();
      context.disable();
      await tracers.shutdown();
      await meters.shutdown();
    },
  };
}
