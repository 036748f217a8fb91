/**
 * The OpenTelemetry side of the Tracer port (issue 7), on its cheap paths: the pooled id
 * generator, the span a message carries (a symbol property, not a WeakMap), attributes
 * handed to the SDK without a copy, and times in ms since the epoch.
 */
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';
import { PooledIdGenerator } from '../../../src/observability/tracing/id-generator.js';
import { OtelTracer } from '../../../src/observability/tracing/otel-tracer.js';
import { parseTraceparent } from '../../../src/observability/tracing/traceparent.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ idGenerator: new PooledIdGenerator(), spanProcessors: [new SimpleSpanProcessor(exporter)] });
afterAll(() => provider.shutdown());

describe('PooledIdGenerator', () => {
  it('W3C Trace Context 3.2.2.3/3.2.2.4: 32 and 16 lowercase hex characters, never all zero, distinct', () => {
    const g = new PooledIdGenerator();
    const seen = new Set<string>();
    // More than one pool (4 KiB) of bytes, so that refills are exercised.
    for (let i = 0; i < 1_000; i++) {
      const t = g.generateTraceId();
      const s = g.generateSpanId();
      expect(t).toMatch(/^[0-9a-f]{32}$/);
      expect(s).toMatch(/^[0-9a-f]{16}$/);
      expect(/^0+$/.test(t) || /^0+$/.test(s)).toBe(false);
      seen.add(t);
      seen.add(s);
    }
    expect(seen.size).toBe(2_000);
  });
});

describe('OtelTracer', () => {
  it('keeps the span of a message on the message itself, invisible to JSON and structuredClone', () => {
    const tracer = new OtelTracer(provider, { sampleRatio: 1 });
    const msg = { id: 1, topic: 'a/b' };
    expect(tracer.messageSpan(msg)).toBeUndefined();
    const span = tracer.startSpan('mqtt publish');
    tracer.setMessageSpan(msg, span);
    expect(tracer.messageSpan(msg)).toBe(span);
    expect(JSON.stringify(msg)).toBe('{"id":1,"topic":"a/b"}');
    expect(Object.keys(msg)).toEqual(['id', 'topic']);
    expect(tracer.messageSpan(structuredClone(msg))).toBeUndefined();
    span.end();
  });

  it('children of one local parent share its trace and parent id; undefined attributes are dropped; epoch-ms times', () => {
    exporter.reset();
    const tracer = new OtelTracer(provider, { sampleRatio: 1 });
    const start = Date.now() - 50;
    const parent = tracer.startSpan('mqtt publish', { kind: 'server', startTimeMs: start, attributes: { 'mqtt.qos': 1, 'messaging.client_id': undefined } });
    const a = tracer.startSpan('mqtt deliver', { parent, kind: 'producer' });
    const b = tracer.startSpan('mqtt deliver', { parent, kind: 'producer' });
    a.end();
    const endB = Date.now() + 20;
    b.end(endB);
    parent.end(start + 30);
    const [sa, sb, sp] = exporter.getFinishedSpans();
    const p = parseTraceparent(parent.traceparent)!;
    expect(sp!.spanContext().spanId).toBe(p.spanId);
    for (const s of [sa!, sb!]) {
      expect(s.spanContext().traceId).toBe(p.traceId);
      expect(s.parentSpanContext?.spanId).toBe(p.spanId);
    }
    expect(sp!.attributes).toEqual({ 'mqtt.qos': 1 });
    const ms = (t: [number, number]) => t[0] * 1000 + t[1] / 1e6;
    expect(ms(sp!.startTime)).toBeCloseTo(start, 0);
    expect(ms(sp!.endTime)).toBeCloseTo(start + 30, 0);
    expect(ms(sb!.endTime)).toBeCloseTo(endB, 0);
  });
});
