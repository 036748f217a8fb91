/**
 * Tracing with an OTLP/HTTP exporter, loaded only when configured: the OpenTelemetry SDK
 * and exporter are optional dependencies, imported dynamically here and nowhere else, so
 * an install without them runs (and an install with them pays nothing) while tracing is off.
 *
 * Spans leave through a BatchSpanProcessor with a bounded queue: when the collector is
 * slow or gone, spans are dropped (the SDK counts them), the broker never waits.
 *
 * Batches are small and leave often (`EXPORT_BATCH_SPANS`, `EXPORT_DELAY_MS`): a span
 * waiting in the queue is a large SDK object that every young-generation collection copies,
 * and promotes to the old generation once it has survived two (BENCHMARKS.md, "Cost of
 * metrics and tracing"; bench/micro/tracing-span-cost.mjs).
 */
import { HoldfastError } from '../../errors/index.js';
import type { Tracer } from '../../ports/tracer.js';
import { PooledIdGenerator } from './id-generator.js';
import { OtelTracer } from './otel-tracer.js';

export interface OtlpTracingOptions {
  /** OTLP/HTTP traces endpoint, e.g. http://collector:4318/v1/traces. */
  url: string;
  serviceName: string;
  serviceVersion: string;
  sampleRatio: number;
  /** Per export request. */
  timeoutMs: number;
  /** Spans kept waiting for export at most; more are dropped. */
  maxQueueSize: number;
}

/** Spans per export request at most (an export starts as soon as this many are queued). */
export const EXPORT_BATCH_SPANS = 128;
/** Longest wait of a queued span for its export when fewer than a batch are queued. */
export const EXPORT_DELAY_MS = 200;

export interface LoadedTracing {
  tracer: Tracer;
  /** Exports what is queued (bounded by the exporter's timeout) and stops. */
  shutdown(): Promise<void>;
}

export async function loadOtlpTracing(opts: OtlpTracingOptions): Promise<LoadedTracing> {
  let sdk: typeof import('@opentelemetry/sdk-trace-base');
  let otlp: typeof import('@opentelemetry/exporter-trace-otlp-http');
  let resources: typeof import('@opentelemetry/resources');
  try {
    [sdk, otlp, resources] = await Promise.all([
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
    ]);
  } catch (err) {
    throw new HoldfastError(
      'OBSERVABILITY_TRACING_UNAVAILABLE',
      'observability.tracing.otlpUrl is set but the OpenTelemetry SDK is not installed: install the optional dependencies ' +
        '@opentelemetry/sdk-trace-base, @opentelemetry/exporter-trace-otlp-http and @opentelemetry/resources',
      { cause: err },
    );
  }
  const exporter = new otlp.OTLPTraceExporter({ url: opts.url, timeoutMillis: opts.timeoutMs });
  const provider = new sdk.BasicTracerProvider({
    sampler: new sdk.AlwaysOnSampler(),
    idGenerator: new PooledIdGenerator(),
    resource: resources.resourceFromAttributes({ 'service.name': opts.serviceName, 'service.version': opts.serviceVersion }),
    spanProcessors: [
      new sdk.BatchSpanProcessor(exporter, {
        maxQueueSize: opts.maxQueueSize,
        maxExportBatchSize: Math.min(EXPORT_BATCH_SPANS, opts.maxQueueSize),
        scheduledDelayMillis: EXPORT_DELAY_MS,
        exportTimeoutMillis: opts.timeoutMs,
      }),
    ],
  });
  return {
    tracer: new OtelTracer(provider, { sampleRatio: opts.sampleRatio, version: opts.serviceVersion }),
    shutdown: () => provider.shutdown(),
  };
}
