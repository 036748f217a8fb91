/**
 * The Tracer port (src/ports/tracer.ts) over span records (span-record.ts): the shipped
 * tracing setup (otlp.ts). Same contract as OtelTracer (the port over any OpenTelemetry
 * TracerProvider, for an embedding application that brings its own SDK): sampling by a hash
 * of the device id decided by the caller, errors always recorded, explicit parents (a local
 * span or a remote W3C `traceparent`), the span of a message carried on the message.
 */
import { monotonicClock } from '../../ports/clock.js';
import type { SpanOptions, TraceSpan, Tracer } from '../../ports/tracer.js';
import { PooledIdGenerator } from './id-generator.js';
import { attachMessageSpan, messageSpanOf } from './message-span.js';
import { hashRatioSampler } from './sampling.js';
import { SPAN_KIND, SpanRecord, type SpanRecordSink } from './span-record.js';
import { parseTraceparent } from './traceparent.js';

export interface RecordTracerOptions {
  /** Fraction of devices (by a hash of their id) whose spans are recorded; errors always are. */
  sampleRatio: number;
}

export class RecordTracer implements Tracer {
  readonly enabled = true;
  readonly sampled: (id: string) => boolean;
  private readonly ids = new PooledIdGenerator();

  constructor(
    private readonly sink: SpanRecordSink,
    opts: RecordTracerOptions,
  ) {
    this.sampled = hashRatioSampler(opts.sampleRatio);
  }

  startSpan(name: string, opts: SpanOptions = {}): TraceSpan {
    const parent = opts.parent;
    let traceId: string | undefined;
    let parentSpanId: string | undefined;
    let remote = false;
    if (parent instanceof SpanRecord) {
      traceId = parent.traceId;
      parentSpanId = parent.spanId;
    } else if (typeof parent === 'string') {
      // A malformed traceparent starts a new trace (W3C Trace Context 4.3).
      const f = parseTraceparent(parent);
      if (f !== undefined) {
        traceId = f.traceId;
        parentSpanId = f.spanId;
        remote = true;
      }
    }
    return new SpanRecord(
      this.sink,
      name,
      SPAN_KIND[opts.kind ?? 'internal'],
      traceId ?? this.ids.generateTraceId(),
      this.ids.generateSpanId(),
      parentSpanId,
      remote,
      opts.startTimeMs ?? monotonicClock.now(),
      opts.attributes ?? {},
    );
  }

  // On the message itself (message-span.ts).
  messageSpan(message: object): TraceSpan | undefined {
    return messageSpanOf(message);
  }

  setMessageSpan(message: object, span: TraceSpan | undefined): void {
    attachMessageSpan(message, span);
  }
}
