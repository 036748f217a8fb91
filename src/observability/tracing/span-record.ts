/**
 * Spans of the shipped tracing setup (issue 7): plain records instead of the OpenTelemetry
 * SDK's span objects. Measured (BENCHMARKS.md, "Cost of metrics and tracing"): at 1% sampling
 * the SDK's TracerProvider / SpanImpl path cost the broker about 10% of its throughput and the
 * OTLP exporter on the broker's thread another 5-10 points; a record costs a few fields, and
 * the export (conversion, serialisation, HTTP) runs elsewhere (export-worker.ts).
 *
 * A record carries exactly what an exporter needs: ids, parent, kind, epoch-ms times, status and
 * the attributes object it was started with (callers hand over a fresh object; undefined
 * values are dropped at conversion, readable-span.ts). Its data is structured-clone safe: the
 * only non-data member, the queue it goes to when it ends, is a private field (#), which
 * structuredClone / postMessage do not copy.
 */
import { monotonicClock } from '../../ports/clock.js';
import type { SpanAttributeValue, TraceSpanKind, TraceSpan } from '../../ports/tracer.js';
import { formatTraceparent } from './traceparent.js';

/** OpenTelemetry SpanKind numbers (@opentelemetry/api SpanKind), as exporters expect them. */
export const SPAN_KIND: Record<TraceSpanKind, number> = { internal: 0, server: 1, client: 2, producer: 3, consumer: 4 };
/** OpenTelemetry SpanStatusCode: UNSET 0, OK 1, ERROR 2. */
export const STATUS_ERROR = 2;

/** Where an ended record goes (span-batcher.ts). */
export interface SpanRecordSink {
  push(record: SpanRecord): void;
}

/** The structured-clone view of a SpanRecord: what crosses to the export worker. */
export interface SpanRecordData {
  readonly name: string;
  readonly kind: number;
  readonly traceId: string;
  readonly spanId: string;
  /** Absent for a root span. */
  readonly parentSpanId: string | undefined;
  /** The parent came from a peer (a `traceparent` in the message), not from this process. */
  readonly parentRemote: boolean;
  /** ms since the epoch, sub-ms precision. */
  readonly startMs: number;
  readonly endMs: number;
  readonly statusCode: number;
  readonly statusMessage: string | undefined;
  readonly attributes: Record<string, SpanAttributeValue | undefined>;
}

/**
 * ms since the epoch (fractional) as whole seconds and microseconds: an epoch time in ms as a
 * double resolves about 0.2 µs today, the digits below a microsecond are noise. Every
 * exporter's time conversion goes through this one (readable-span.ts, otlp-json.ts).
 */
export function splitEpochMs(ms: number): [seconds: number, micros: number] {
  const s = Math.floor(ms / 1000);
  return [s, Math.min(999_999, Math.max(0, Math.round((ms - s * 1000) * 1000)))];
}

export class SpanRecord implements TraceSpan, SpanRecordData {
  endMs = 0;
  statusCode = 0;
  statusMessage: string | undefined = undefined;
  readonly #sink: SpanRecordSink;
  #traceparent: string | undefined = undefined;

  constructor(
    sink: SpanRecordSink,
    readonly name: string,
    readonly kind: number,
    readonly traceId: string,
    readonly spanId: string,
    readonly parentSpanId: string | undefined,
    readonly parentRemote: boolean,
    readonly startMs: number,
    readonly attributes: Record<string, SpanAttributeValue | undefined>,
  ) {
    this.#sink = sink;
  }

  /** Every recorded span is sampled: flags 01 (W3C Trace Context 3.2.2.5). */
  get traceparent(): string {
    return (this.#traceparent ??= formatTraceparent({ traceId: this.traceId, spanId: this.spanId, flags: 1 }));
  }

  setAttribute(key: string, value: SpanAttributeValue): void {
    if (this.endMs === 0) this.attributes[key] = value;
  }

  fail(message: string): void {
    if (this.endMs !== 0) return;
    this.statusCode = STATUS_ERROR;
    this.statusMessage = message;
  }

  /** Ends the span once (later calls are ignored, as the SDK does) and queues it for export. */
  end(endTimeMs?: number): void {
    if (this.endMs !== 0) return;
    this.endMs = endTimeMs ?? monotonicClock.now(); // epoch ms, sub-ms precision
    this.#sink.push(this);
  }
}
