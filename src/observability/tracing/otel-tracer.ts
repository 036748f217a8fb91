/**
 * The Tracer port (src/ports/tracer.ts) over the OpenTelemetry API. The API package is a
 * dependency; an SDK (a TracerProvider with an exporter) is only loaded when tracing is
 * configured (otlp.ts), or handed in by a test (an in-memory exporter).
 *
 * Parents are passed explicitly (no context manager, no AsyncLocalStorage): a local
 * parent span, or a remote `traceparent` turned into a non-recording span context.
 * Sampling is decided by holdfast (hash of the device id, errors always): give the SDK an
 * always-on sampler.
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer as ApiTracer,
  type TracerProvider,
} from '@opentelemetry/api';
import type { SpanAttributeValue, SpanOptions, TraceSpan, TraceSpanKind, Tracer } from '../../ports/tracer.js';
import { hashRatioSampler } from './sampling.js';
import { formatTraceparent, parseTraceparent } from './traceparent.js';

const KINDS: Record<TraceSpanKind, SpanKind> = {
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  internal: SpanKind.INTERNAL,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
};

class OtelSpan implements TraceSpan {
  private tp: string | undefined;
  constructor(readonly span: Span) {}

  get traceparent(): string {
    if (this.tp === undefined) {
      const c = this.span.spanContext();
      this.tp = formatTraceparent({ traceId: c.traceId, spanId: c.spanId, flags: c.traceFlags });
    }
    return this.tp;
  }

  setAttribute(key: string, value: SpanAttributeValue): void {
    this.span.setAttribute(key, value);
  }

  fail(message: string): void {
    this.span.setStatus({ code: SpanStatusCode.ERROR, message });
  }

  end(endTimeMs?: number): void {
    this.span.end(endTimeMs === undefined ? undefined : new Date(endTimeMs));
  }
}

function attributesOf(a: SpanOptions['attributes']): Attributes | undefined {
  if (a === undefined) return undefined;
  const out: Attributes = {};
  for (const k in a) {
    const v = a[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

export interface OtelTracerOptions {
  /** Fraction of devices (by a hash of their id) whose spans are recorded; errors always are. */
  sampleRatio: number;
  /** Instrumentation scope name. */
  name?: string;
  version?: string;
}

export class OtelTracer implements Tracer {
  readonly enabled = true;
  readonly sampled: (id: string) => boolean;
  private readonly tracer: ApiTracer;
  private readonly byMessage = new WeakMap<object, TraceSpan>();

  constructor(provider: TracerProvider, opts: OtelTracerOptions) {
    this.tracer = provider.getTracer(opts.name ?? 'holdfast', opts.version);
    this.sampled = hashRatioSampler(opts.sampleRatio);
  }

  startSpan(name: string, opts: SpanOptions = {}): TraceSpan {
    const span = this.tracer.startSpan(
      name,
      {
        kind: KINDS[opts.kind ?? 'internal'],
        ...(opts.startTimeMs !== undefined ? { startTime: new Date(opts.startTimeMs) } : {}),
        attributes: attributesOf(opts.attributes),
      },
      this.parentContext(opts.parent),
    );
    return new OtelSpan(span);
  }

  messageSpan(message: object): TraceSpan | undefined {
    return this.byMessage.get(message);
  }

  setMessageSpan(message: object, span: TraceSpan): void {
    this.byMessage.set(message, span);
  }

  private parentContext(parent: SpanOptions['parent']): Context {
    if (parent === undefined) return ROOT_CONTEXT;
    if (typeof parent !== 'string') {
      return parent instanceof OtelSpan ? trace.setSpan(ROOT_CONTEXT, parent.span) : ROOT_CONTEXT;
    }
    const f = parseTraceparent(parent);
    if (f === undefined) return ROOT_CONTEXT; // a malformed traceparent starts a new trace
    return trace.setSpanContext(ROOT_CONTEXT, { traceId: f.traceId, spanId: f.spanId, traceFlags: f.flags & 1, isRemote: true });
  }
}
