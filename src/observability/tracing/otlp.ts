/**
 * The shipped tracing setup: span records (record-tracer.ts) on the broker's thread, batched
 * (span-batcher.ts), each batch encoded as OTLP/HTTP JSON into a buffer of its own
 * (encoded-batch.ts) that is transferred to a worker thread which POSTs it to the collector
 * (export-worker.ts). No OpenTelemetry SDK object is made on this path and nothing of the
 * export but the encoding runs on the broker's event loop (BENCHMARKS.md, "Cost of metrics and tracing": the SDK's spans and exporter on the
 * broker's thread cost about 15-20% of its throughput at 1% sampling).
 *
 * Bounded: at most `maxQueueSize` spans wait or are being exported; past that spans are
 * dropped and counted, the broker never waits for a collector that is slow or gone.
 *
 * `recordTracing` is the same tracer in process, to any OpenTelemetry SDK SpanExporter (an
 * embedding application's own exporter, an in-memory exporter in tests).
 */
import { Worker } from 'node:worker_threads';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { HoldfastError } from '../../errors/index.js';
import type { Tracer } from '../../ports/tracer.js';
import type { ExportWorkerData, ExportWorkerIn, ExportWorkerOut } from './export-worker.js';
import { encodeBatch } from './encoded-batch.js';
import { toReadableSpan, type SpanResource, type SpanScope } from './readable-span.js';
import { RecordTracer } from './record-tracer.js';
import { SpanBatcher, type SpanExportStats } from './span-batcher.js';

export interface OtlpTracingOptions {
  /** OTLP/HTTP traces endpoint, e.g. http://collector:4318/v1/traces. */
  url: string;
  serviceName: string;
  serviceVersion: string;
  sampleRatio: number;
  /** Per export request. */
  timeoutMs: number;
  /** Spans waiting for export or being exported at most; more are dropped. */
  maxQueueSize: number;
  /** Request headers (default: from OTEL_EXPORTER_OTLP_TRACES_HEADERS or OTEL_EXPORTER_OTLP_HEADERS). */
  headers?: Record<string, string>;
  /**
   * The export worker stopped after it had started (an uncaught error in it, or it was killed):
   * from then on every span counts as failed. Called once; not called by shutdown().
   */
  onWorkerLost?: (reason: string) => void;
  /** The export worker's script (default: export-worker.js beside this module; tests give one that fails). */
  workerUrl?: URL;
}

/**
 * Spans per batch handed to the worker at most (a batch leaves as soon as this many have
 * ended). About 55 KB of JSON, encoded in one go on the broker's thread (about 0.3 ms at
 * 2 µs per span): a bound on that pause. The batch's buffer is transferred, so its size
 * costs the post nothing; the worker joins batches into requests of EXPORT_REQUEST_SPANS.
 */
export const EXPORT_BATCH_SPANS = 128;
/** Spans per OTLP request at most: the worker joins batches up to this (export-worker.ts). */
export const EXPORT_REQUEST_SPANS = 512;
/** Longest wait of an ended span for its batch to leave the broker's thread. */
export const EXPORT_DELAY_MS = 500;
/**
 * Longest wait of a batch in the worker for others to join its request (so a span reaches
 * the collector at most 2.5 s after it ended; the SDK's batch processor waits up to 5 s). An
 * export request costs the worker about a millisecond of CPU whatever its size (node:http on
 * code that is cold at a few requests a second): at 1% sampling most requests are small, and
 * their number is what the export costs (BENCHMARKS.md, "Cost of metrics and tracing").
 */
export const EXPORT_REQUEST_DELAY_MS = 2_000;
/** Attempts per batch when the collector answers 429/502/503/504 or cannot be reached. */
export const EXPORT_ATTEMPTS = 3;

export interface LoadedTracing {
  tracer: Tracer;
  /** Spans exported, failed, dropped, queued so far. */
  stats(): SpanExportStats;
  /** Exports what is queued (bounded by the exporter's timeout) and stops. */
  shutdown(): Promise<void>;
}

/**
 * OTLP exporter headers from the environment, as the OpenTelemetry SDKs read them
 * (OTEL_EXPORTER_OTLP_TRACES_HEADERS, else OTEL_EXPORTER_OTLP_HEADERS): `key=value` pairs
 * separated by commas, values percent-decoded. Malformed pairs are skipped.
 */
export function otlpHeadersFromEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const raw = env.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? env.OTEL_EXPORTER_OTLP_HEADERS ?? '';
  const out: Record<string, string> = {};
  for (const pair of raw.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const key = pair.slice(0, eq).trim();
    try {
      if (key !== '') out[key] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      // a malformed percent-escape: skipped, as the SDKs do
    }
  }
  return out;
}

export async function loadOtlpTracing(opts: OtlpTracingOptions): Promise<LoadedTracing> {
  const data: ExportWorkerData = {
    url: opts.url,
    timeoutMs: opts.timeoutMs,
    resource: { attributes: { 'service.name': opts.serviceName, 'service.version': opts.serviceVersion }, scope: { name: 'holdfast', version: opts.serviceVersion } },
    headers: opts.headers ?? otlpHeadersFromEnv(process.env),
    userAgent: `holdfast/${opts.serviceVersion}`,
    attempts: EXPORT_ATTEMPTS,
    retryBaseMs: 1_000,
    // At most a quarter of the bound waits in the worker for others to join it.
    coalesceSpans: Math.max(EXPORT_BATCH_SPANS, Math.min(EXPORT_REQUEST_SPANS, Math.floor(opts.maxQueueSize / 4))),
    coalesceMs: EXPORT_REQUEST_DELAY_MS,
  };
  const worker = new Worker(opts.workerUrl ?? new URL('./export-worker.js', import.meta.url), { workerData: data });
  const pending = new Map<number, (ok: boolean) => void>();
  let closed: (() => void) | undefined;
  let gone = false;
  let stopping = false;
  let starting: { resolve: () => void; reject: (reason: string, cause?: unknown) => void } | undefined;
  const failAll = (reason: string): void => {
    if (!gone && !stopping && starting === undefined) opts.onWorkerLost?.(reason);
    gone = true;
    for (const done of pending.values()) done(false);
    pending.clear();
    closed?.();
  };
  // One set of listeners for the worker's whole life (removing the worker's listeners also
  // removes the ones that relay its port's messages: answers then never arrive).
  worker.on('message', (m: ExportWorkerOut) => {
    if (m.type === 'done') {
      pending.get(m.id)?.(m.ok);
      pending.delete(m.id);
    } else if (m.type === 'closed') closed?.();
    else starting?.resolve(); // ready
  });
  worker.on('error', (err) => {
    starting?.reject(err.message, err);
    failAll(err.message);
  });
  worker.on('exit', (code) => {
    starting?.reject(`the export worker exited with code ${code}`);
    failAll(`the export worker exited with code ${code}`);
  });
  await new Promise<void>((resolve, reject) => {
    starting = {
      resolve,
      reject: (reason, cause) => {
        void worker.terminate();
        reject(new HoldfastError('OBSERVABILITY_TRACING_UNAVAILABLE', `the trace export worker could not start: ${reason}`, { cause }));
      },
    };
  });
  starting = undefined;
  worker.unref(); // tracing never keeps the process alive

  let nextId = 0;
  const batcher = new SpanBatcher({
    maxSpans: opts.maxQueueSize,
    batchSpans: Math.min(EXPORT_BATCH_SPANS, opts.maxQueueSize),
    delayMs: EXPORT_DELAY_MS,
    send: (records, done) => {
      if (gone) return done(false);
      const id = ++nextId;
      pending.set(id, done);
      const batch = encodeBatch(records);
      const bytes = batch.bytes.buffer as ArrayBuffer;
      const msg: ExportWorkerIn = { type: 'batch', id, count: records.length, bytes, length: batch.length };
      worker.postMessage(msg, [bytes]); // moved, not copied: the batch is not used again
    },
  });
  return {
    tracer: new RecordTracer(batcher, { sampleRatio: opts.sampleRatio }),
    stats: () => batcher.stats(),
    shutdown: async () => {
      batcher.flush();
      stopping = true;
      if (gone) return;
      // The worker's exporter sends what it holds (each request bounded by timeoutMs) and stops.
      const stopped = new Promise<void>((resolve) => (closed = resolve));
      const msg: ExportWorkerIn = { type: 'shutdown' };
      worker.postMessage(msg);
      const deadline = setTimeout(() => closed?.(), opts.timeoutMs + 1_000);
      await stopped;
      clearTimeout(deadline);
      await worker.terminate();
    },
  };
}

export interface RecordTracingOptions {
  sampleRatio: number;
  /** ReadableSpan.resource of the exported spans (e.g. resourceFromAttributes from @opentelemetry/resources). */
  resource: SpanResource;
  scope?: SpanScope;
  maxQueueSize?: number;
  batchSpans?: number;
  delayMs?: number;
}

/** Span records exported in process to an SDK SpanExporter (tests, an embedding application). */
export function recordTracing(exporter: SpanExporter, opts: RecordTracingOptions): LoadedTracing {
  const scope = opts.scope ?? { name: 'holdfast' };
  const batcher = new SpanBatcher({
    maxSpans: opts.maxQueueSize ?? 2048,
    batchSpans: opts.batchSpans ?? EXPORT_BATCH_SPANS,
    delayMs: opts.delayMs ?? EXPORT_DELAY_MS,
    send: (batch, done) => exporter.export(batch.map((r) => toReadableSpan(r, opts.resource, scope)), (result) => done(result.code === 0)),
  });
  return {
    tracer: new RecordTracer(batcher, { sampleRatio: opts.sampleRatio }),
    stats: () => batcher.stats(),
    shutdown: async () => {
      batcher.flush();
      await exporter.shutdown();
    },
  };
}
