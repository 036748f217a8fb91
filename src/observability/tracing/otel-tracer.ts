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
import { attachMessageSpan, messageSpanOf } from './message-span.js';
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
  private ctx: Context | undefined;
  constructor(readonly span: Span) {}

  /** The context that makes this span a parent: built once, shared by all its children (one per copy). */
  get context(): Context {
    return (this.ctx ??= trace.setSpan(ROOT_CONTEXT, this.span));
  }

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
    // A number is ms since the epoch to the SDK (TimeInput): no Date needed.
    this.span.end(endTimeMs);
  }
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

  constructor(provider: TracerProvider, opts: OtelTracerOptions) {
    this.tracer = provider.getTracer(opts.name ?? 'holdfast', opts.version);
    this.sampled = hashRatioSampler(opts.sampleRatio);
  }

  startSpan(name: string, opts: SpanOptions = {}): TraceSpan {
    // The attributes are handed over as they are: the SDK copies them (sanitizeAttributes) and
    // skips undefined values itself. A start time is ms since the epoch (a TimeInput).
    const span = this.tracer.startSpan(
      name,
      { kind: KINDS[opts.kind ?? 'internal'], startTime: opts.startTimeMs, attributes: opts.attributes as Attributes | undefined },
      this.parentContext(opts.parent),
    );
    return new OtelSpan(span);
  }

  // On the message itself (message-span.ts).
  messageSpan(message: object): TraceSpan | undefined {
    return messageSpanOf(message);
  }

  setMessageSpan(message: object, span: TraceSpan | undefined): void {
    attachMessageSpan(message, span);
  }

  private parentContext(parent: SpanOptions['parent']): Context {
    if (parent === undefined) return ROOT_CONTEXT;
    if (typeof parent !== 'string') {
      return parent instanceof OtelSpan ? parent.context : ROOT_CONTEXT;
    }
    const f = parseTraceparent(parent);
    if (f === undefined) return ROOT_CONTEXT; // a malformed traceparent starts a new trace
    return trace.setSpanContext(ROOT_CONTEXT, { traceId: f.traceId, spanId: f.spanId, traceFlags: f.flags & 1, isRemote: true });
  }
}
