/**
 * Tracing with an OTLP/HTTP exporter, loaded only when configured: the OpenTelemetry SDK
 * and exporter are optional dependencies, imported dynamically here and nowhere else, so
 * an install without them runs (and an install with them pays nothing) while tracing is off.
 *
 * Spans leave through a BatchSpanProcessor with a bounded queue: when the collector is
 * slow or gone, spans are dropped (the SDK counts them), the broker never waits.
 */
import { HoldfastError } from '../../errors/index.js';
import type { Tracer } from '../../ports/tracer.js';
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
    resource: resources.resourceFromAttributes({ 'service.name': opts.serviceName, 'service.version': opts.serviceVersion }),
    spanProcessors: [
      new sdk.BatchSpanProcessor(exporter, {
        maxQueueSize: opts.maxQueueSize,
        maxExportBatchSize: Math.min(512, opts.maxQueueSize),
        scheduledDelayMillis: 1_000,
        exportTimeoutMillis: opts.timeoutMs,
      }),
    ],
  });
  return {
    tracer: new OtelTracer(provider, { sampleRatio: opts.sampleRatio, version: opts.serviceVersion }),
    shutdown: () => provider.shutdown(),
  };
}
