/**
 * Tracing as a port. The broker records spans (connect/auth, publish -> store -> deliver)
 * through this interface and never imports OpenTelemetry; the app hands it an
 * implementation (src/observability/tracing/) when tracing is configured, and the no-op
 * tracer otherwise.
 *
 * The hot path pays one boolean read when tracing is off: every call site checks
 * `tracer.enabled` first and allocates nothing when it is false.
 *
 * Sampling is decided by the caller with `sampled(id)` (a stable hash of the client /
 * device id against the configured ratio, so a sampled device is traced consistently);
 * errors are recorded whatever the sampling said (`startSpan` always records).
 */

export type SpanAttributeValue = string | number | boolean;

export interface TraceSpan {
  /** W3C Trace Context `traceparent` of this span (version 00), to carry to a peer. */
  readonly traceparent: string;
  setAttribute(key: string, value: SpanAttributeValue): void;
  /** Marks the span as failed (status ERROR) with a short message. */
  fail(message: string): void;
  /** Ends the span; `endTimeMs` is ms since the epoch (default: now). */
  end(endTimeMs?: number): void;
}

export type TraceSpanKind = 'server' | 'client' | 'internal' | 'producer' | 'consumer';

export interface SpanOptions {
  /** A local parent span, or a W3C `traceparent` received from a peer. */
  parent?: TraceSpan | string;
  /** ms since the epoch (default: now). */
  startTimeMs?: number;
  kind?: TraceSpanKind;
  attributes?: Record<string, SpanAttributeValue | undefined>;
}

export interface Tracer {
  /** False for the no-op tracer: callers skip every tracing step with this one check. */
  readonly enabled: boolean;
  /** Whether spans of this client / device are sampled (stable for a given id). */
  sampled(id: string): boolean;
  /** Starts a recording span (callers decide about sampling before calling). */
  startSpan(name: string, opts?: SpanOptions): TraceSpan;
  /** The span a message was published under, while the message lives (weakly held). */
  messageSpan(message: object): TraceSpan | undefined;
  setMessageSpan(message: object, span: TraceSpan | undefined): void;
}

const NOOP_SPAN: TraceSpan = {
  traceparent: '00-00000000000000000000000000000000-0000000000000000-00',
  setAttribute() {},
  fail() {},
  end() {},
};

/** Tracing off: nothing recorded, nothing allocated. */
export const noopTracer: Tracer = {
  enabled: false,
  sampled: () => false,
  startSpan: () => NOOP_SPAN,
  messageSpan: () => undefined,
  setMessageSpan() {},
};
