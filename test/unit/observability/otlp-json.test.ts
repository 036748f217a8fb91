/**
 * The shipped OTLP/HTTP JSON encoding (otlp-json.ts) against the OpenTelemetry SDK's own
 * (JsonTraceSerializer from @opentelemetry/otlp-transformer, what the SDK's OTLP/HTTP exporter
 * sends) for the same spans: identical once parsed. Spans are encoded the way the export
 * path does it, into an EncodedBatch (started small here, so that it has to grow).
 */
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { describe, expect, it } from 'vitest';
import { EncodedBatch } from '../../../src/observability/tracing/encoded-batch.js';
import { encodeRequest } from '../../../src/observability/tracing/otlp-json.js';
import { otlpHeadersFromEnv } from '../../../src/observability/tracing/otlp.js';
import { toReadableSpan } from '../../../src/observability/tracing/readable-span.js';
import { RecordTracer } from '../../../src/observability/tracing/record-tracer.js';
import type { SpanRecord } from '../../../src/observability/tracing/span-record.js';

/** The protobuf JSON mapping lets a writer leave out fields at their default value (0, empty list, unset status). */
function withoutDefaults(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutDefaults);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === 0 && k.startsWith('dropped')) continue;
    if (Array.isArray(x) && x.length === 0 && (k === 'events' || k === 'links')) continue;
    if (k === 'status' && JSON.stringify(x) === '{"code":0}') continue;
    out[k] = withoutDefaults(x);
  }
  return out;
}

/** The spans through an EncodedBatch of `capacity` bytes, as the export path encodes them. */
function encodeSpans(records: readonly SpanRecord[], capacity = 64): string {
  const batch = new EncodedBatch(capacity);
  for (const r of records) batch.add(r);
  return batch.bytes.toString('utf8', 0, batch.length);
}

describe('OTLP/HTTP JSON encoding', () => {
  it('OTLP JSON Protobuf Encoding: the SDK serializer request less default-valued fields, for roots, local and remote parents, errors, every attribute type', () => {
    const ended: SpanRecord[] = [];
    const tracer = new RecordTracer({ push: (r) => ended.push(r) }, { sampleRatio: 1 });
    const root = tracer.startSpan('mqtt publish', {
      kind: 'server',
      startTimeMs: 1_764_160_000_123.457,
      attributes: { 'messaging.destination.name': 'plant/"line 1"/temp\\x\n', 'mqtt.qos': 1, ratio: 0.25, retained: false, big: 2 ** 40, gone: undefined },
    });
    tracer.startSpan('mqtt deliver', { parent: root, kind: 'producer' }).end();
    const remote = tracer.startSpan('mqtt publish', { parent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', kind: 'server' });
    remote.fail('store commit failed: "disk" full');
    remote.end();
    tracer.startSpan('holdfast authenticate', { kind: 'internal', attributes: { 'é ✓': 'ünïcødé 🚀' } }).end();
    tracer.startSpan('GET /api/devices', { kind: 'client' }).end();
    tracer.startSpan('x', { kind: 'consumer' }).end();
    root.end(1_764_160_000_200);

    const attributes = { 'service.name': 'holdfast', 'service.version': '9.9.9' };
    const scope = { name: 'holdfast', version: '9.9.9' };
    const ours = JSON.parse(encodeRequest({ attributes, scope }, encodeSpans(ended)));
    const resource = resourceFromAttributes(attributes);
    const sdk = JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(ended.map((r) => toReadableSpan(r, resource, scope)))));
    expect(ours).toEqual(withoutDefaults(sdk));
    // What was left out is really at its default in every span.
    for (const span of sdk.resourceSpans[0].scopeSpans[0].spans) {
      expect(span).toMatchObject({ droppedAttributesCount: 0, events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0 });
    }
    expect(ours.resourceSpans[0].scopeSpans[0].spans).toHaveLength(6);
  });

  it('an empty batch is a valid request with no spans', () => {
    const body = JSON.parse(encodeRequest({ attributes: { 'service.name': 'h' }, scope: { name: 'holdfast' } }, encodeSpans([])));
    expect(body.resourceSpans[0].scopeSpans[0]).toEqual({ scope: { name: 'holdfast' }, spans: [] });
  });

  it('exporter headers from OTEL_EXPORTER_OTLP_TRACES_HEADERS, else OTEL_EXPORTER_OTLP_HEADERS; values percent-decoded, bad pairs skipped', () => {
    expect(otlpHeadersFromEnv({ OTEL_EXPORTER_OTLP_HEADERS: 'api-key=abc%20def, x-tenant = t1,broken,=nokey,bad=%E0%A4%A' })).toEqual({ 'api-key': 'abc def', 'x-tenant': 't1' });
    expect(otlpHeadersFromEnv({ OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'a=1', OTEL_EXPORTER_OTLP_HEADERS: 'b=2' })).toEqual({ a: '1' });
    expect(otlpHeadersFromEnv({})).toEqual({});
  });
});
