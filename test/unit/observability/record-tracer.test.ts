/**
 * The shipped tracer (issue 7): span records (span-record.ts, record-tracer.ts), their bounded
 * batching (span-batcher.ts) and their conversion to the SDK's ReadableSpan (readable-span.ts).
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { msToHrTime, toReadableSpan } from '../../../src/observability/tracing/readable-span.js';
import { RecordTracer } from '../../../src/observability/tracing/record-tracer.js';
import { recordTracing } from '../../../src/observability/tracing/otlp.js';
import { SpanBatcher } from '../../../src/observability/tracing/span-batcher.js';
import type { SpanRecord, SpanRecordSink } from '../../../src/observability/tracing/span-record.js';
import { parseTraceparent } from '../../../src/observability/tracing/traceparent.js';

const collect = (): SpanRecordSink & { ended: SpanRecord[] } => {
  const ended: SpanRecord[] = [];
  return { ended, push: (r) => ended.push(r) };
};
const resource = resourceFromAttributes({ 'service.name': 'test' });
const scope = { name: 'holdfast', version: '1.2.3' };

afterEach(() => vi.useRealTimers());

describe('RecordTracer: span records', () => {
  it('W3C Trace Context 3.2: a root span gets a new trace id, a sampled traceparent, and its children share trace and parent', () => {
    const sink = collect();
    const tracer = new RecordTracer(sink, { sampleRatio: 1 });
    const root = tracer.startSpan('mqtt publish', { kind: 'server' });
    const a = tracer.startSpan('mqtt deliver', { parent: root, kind: 'producer' });
    const b = tracer.startSpan('mqtt deliver', { parent: root, kind: 'producer' });
    const p = parseTraceparent(root.traceparent)!;
    expect(p.flags).toBe(1);
    for (const child of [a, b]) {
      const c = parseTraceparent(child.traceparent)!;
      expect(c.traceId).toBe(p.traceId);
      expect(c.spanId).not.toBe(p.spanId);
    }
    a.end();
    b.end();
    root.end();
    expect(sink.ended.map((r) => [r.name, r.parentSpanId])).toEqual([
      ['mqtt deliver', p.spanId],
      ['mqtt deliver', p.spanId],
      ['mqtt publish', undefined],
    ]);
    expect(new Set(sink.ended.map((r) => r.spanId)).size).toBe(3);
  });

  it('W3C Trace Context 3.2: a remote traceparent becomes a remote parent; a malformed one starts a new trace', () => {
    const sink = collect();
    const tracer = new RecordTracer(sink, { sampleRatio: 1 });
    const remote = tracer.startSpan('mqtt publish', { parent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });
    const fresh = tracer.startSpan('mqtt publish', { parent: '00-not-a-traceparent' });
    remote.end();
    fresh.end();
    const [r, f] = sink.ended;
    expect([r!.traceId, r!.parentSpanId, r!.parentRemote]).toEqual(['4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7', true]);
    expect(f!.parentSpanId).toBeUndefined();
    expect(f!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(f!.traceId).not.toBe(r!.traceId);
  });

  it('ends once; attributes and status are frozen at the end; the queued record clones without its sink', () => {
    const sink = collect();
    const tracer = new RecordTracer(sink, { sampleRatio: 1 });
    const span = tracer.startSpan('mqtt connect', { startTimeMs: 1_000, attributes: { 'mqtt.qos': 1 } });
    span.setAttribute('mqtt.reason_code', 0x87);
    span.fail('not authorized');
    span.end(1_250);
    span.end(9_999);
    span.setAttribute('late', true);
    span.fail('late');
    expect(sink.ended).toHaveLength(1);
    const r = sink.ended[0]!;
    expect([r.startMs, r.endMs, r.statusCode, r.statusMessage]).toEqual([1_000, 1_250, SpanStatusCode.ERROR, 'not authorized']);
    expect(r.attributes).toEqual({ 'mqtt.qos': 1, 'mqtt.reason_code': 0x87 });
    // What crosses to the export worker (postMessage uses the same algorithm): data only.
    const clone = structuredClone(r) as unknown as Record<string, unknown>;
    expect(Object.keys(clone).sort()).toEqual(
      ['attributes', 'endMs', 'kind', 'name', 'parentRemote', 'parentSpanId', 'spanId', 'startMs', 'statusCode', 'statusMessage', 'traceId'].sort(),
    );
  });

  it('samples by a hash of the device id, like OtelTracer: ratio 0 none, 1 all, 0.01 about 1%', () => {
    expect(new RecordTracer(collect(), { sampleRatio: 0 }).sampled('device-1')).toBe(false);
    expect(new RecordTracer(collect(), { sampleRatio: 1 }).sampled('device-1')).toBe(true);
    const t = new RecordTracer(collect(), { sampleRatio: 0.01 });
    let n = 0;
    for (let i = 0; i < 100_000; i++) if (t.sampled(`device-${i}`)) n++;
    expect(n).toBeGreaterThan(800);
    expect(n).toBeLessThan(1_200);
    expect(() => new RecordTracer(collect(), { sampleRatio: 2 })).toThrow(RangeError);
  });
});

describe('toReadableSpan: a record as the SDK exporters see it', () => {
  it('kinds, epoch-ms times as HrTime, parent context, status; undefined attributes dropped', () => {
    const sink = collect();
    const tracer = new RecordTracer(sink, { sampleRatio: 1 });
    const parent = tracer.startSpan('mqtt publish', { kind: 'server', startTimeMs: 1_700_000_000_123.456, attributes: { a: 'x', gone: undefined } });
    tracer.startSpan('mqtt deliver', { parent, kind: 'producer', startTimeMs: 1_700_000_000_200 }).end(1_700_000_000_201.5);
    parent.end(1_700_000_001_000);
    const [child, root] = sink.ended.map((r) => toReadableSpan(r, resource, scope));
    expect(root!.kind).toBe(SpanKind.SERVER);
    expect(child!.kind).toBe(SpanKind.PRODUCER);
    expect(root!.startTime).toEqual([1_700_000_000, 123_456_000]);
    expect(root!.attributes).toEqual({ a: 'x' });
    expect(root!.parentSpanContext).toBeUndefined();
    expect(child!.parentSpanContext).toEqual({ traceId: root!.spanContext().traceId, spanId: root!.spanContext().spanId, traceFlags: 1, isRemote: false });
    expect(child!.duration).toEqual([0, 1_500_000]);
    expect(child!.status).toEqual({ code: SpanStatusCode.UNSET });
    expect(child!.resource).toBe(resource);
    expect(child!.instrumentationScope).toEqual(scope);
    expect(msToHrTime(999.9999999)).toEqual([0, 999_999_000]);
  });
});

describe('SpanBatcher: bounded, never waits', () => {
  it('a full batch leaves at once; a partial one after delayMs', () => {
    vi.useFakeTimers();
    const batches: number[] = [];
    const b = new SpanBatcher({ maxSpans: 100, batchSpans: 3, delayMs: 200, send: (batch, done) => (batches.push(batch.length), done(true)) });
    const tracer = new RecordTracer(b, { sampleRatio: 1 });
    for (let i = 0; i < 4; i++) tracer.startSpan('s').end();
    expect(batches).toEqual([3]);
    vi.advanceTimersByTime(199);
    expect(batches).toEqual([3]);
    vi.advanceTimersByTime(1);
    expect(batches).toEqual([3, 1]);
    expect(b.stats()).toEqual({ queued: 0, exported: 4, failed: 0, dropped: 0 });
  });

  it('spans beyond maxSpans (queued + being exported) are dropped and counted; failures are counted; done counts once', () => {
    const pending: Array<(ok: boolean) => void> = [];
    let calls = 0;
    const b = new SpanBatcher({
      maxSpans: 5,
      batchSpans: 2,
      delayMs: 1_000_000,
      send: (_batch, done) => {
        calls++;
        if (calls === 3) throw new Error('exporter broke');
        pending.push(done);
      },
    });
    const tracer = new RecordTracer(b, { sampleRatio: 1 });
    for (let i = 0; i < 8; i++) tracer.startSpan('s').end();
    // 2 + 2 in flight, the 5th queued, 3 dropped: the exporter never answered.
    expect(b.stats()).toEqual({ queued: 5, exported: 0, failed: 0, dropped: 3 });
    pending[0]!(true);
    pending[0]!(false); // a second answer for the same batch is ignored
    pending[1]!(false);
    expect(b.stats()).toEqual({ queued: 1, exported: 2, failed: 2, dropped: 3 });
    tracer.startSpan('s').end(); // completes a batch of 2: send throws, counted as failed
    expect(b.stats()).toEqual({ queued: 0, exported: 2, failed: 4, dropped: 3 });
  });

  it('recordTracing exports to an SDK exporter in process', async () => {
    const exporter = new InMemorySpanExporter();
    const t = recordTracing(exporter, { sampleRatio: 1, resource, batchSpans: 2, delayMs: 0 });
    const parent = t.tracer.startSpan('mqtt publish');
    t.tracer.startSpan('mqtt deliver', { parent }).end();
    parent.end();
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['mqtt deliver', 'mqtt publish']);
    // The in-memory exporter answers on a timer.
    await vi.waitFor(() => expect(t.stats()).toEqual({ queued: 0, exported: 2, failed: 0, dropped: 0 }), { timeout: 5_000 });
    await t.shutdown();
  });
});
