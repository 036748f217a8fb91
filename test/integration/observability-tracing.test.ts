/**
 * Tracing end to end (issue 7): an in-memory OpenTelemetry exporter behind the Tracer port;
 * a QoS 1 publish from one MQTT 5 client to another yields connect spans, a publish span,
 * a store-commit span and a deliver span with the expected parent links, and the
 * subscriber receives a `traceparent` that continues the trace. Errors are traced even
 * at a sampling ratio of 0.
 */
import { SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { connectAsync, type IPublishPacket, type MqttClient } from 'mqtt';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { RunningHoldfast } from '../../src/app/main.js';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { Tracer } from '../../src/ports/tracer.js';
import { OtelTracer } from '../../src/observability/tracing/otel-tracer.js';
import { recordTracing } from '../../src/observability/tracing/otlp.js';
import { parseTraceparent } from '../../src/observability/tracing/traceparent.js';
import { removeDataDirs, startApp, until } from './observability-helpers.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
let app: RunningHoldfast | undefined;
const clients: MqttClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true).catch(() => undefined);
  await app?.stop();
  app = undefined;
  exporter.reset();
});
afterAll(async () => {
  removeDataDirs();
  await provider.shutdown();
});

async function client(url: string, clientId: string, opts: Record<string, unknown> = {}): Promise<MqttClient> {
  const c = await connectAsync(url, { protocolVersion: 5, clientId, reconnectPeriod: 0, connectTimeout: 5_000, ...opts });
  clients.push(c);
  return c;
}

const spans = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === name);
const attr = (s: ReadableSpan, k: string) => s.attributes[k];
const nextMessage = (c: MqttClient) => new Promise<IPublishPacket>((resolve) => c.once('message', (_t, _p, packet) => resolve(packet)));

// Both implementations of the Tracer port: the OpenTelemetry SDK's spans (an embedding
// application's TracerProvider) and the shipped span records (otlp.ts), each span exported at once.
const resource = resourceFromAttributes({ 'service.name': 'holdfast-test' });
const TRACERS: Array<[string, (sampleRatio: number) => Tracer]> = [
  ['OtelTracer over an SDK TracerProvider', (sampleRatio) => new OtelTracer(provider, { sampleRatio })],
  ['span records (the shipped tracer)', (sampleRatio) => recordTracing(exporter, { sampleRatio, resource, batchSpans: 1, delayMs: 0 }).tracer],
];

describe.each(TRACERS)('tracing: publish -> store -> deliver across two clients (%s)', (_name, makeTracer) => {
  it('MQTT5 3.3.2.3.7 a traced publish reaches a v5 subscriber with a traceparent whose parent is the deliver span', async () => {
    app = await startApp({}, { tracer: makeTracer(1) });
    const mqttUrl = `mqtt://127.0.0.1:${app.addresses.mqtt}`;
    // A persistent subscriber: its copy is written to the store, so the PUBACK waits for a commit.
    const sub = await client(mqttUrl, 'sensor-sub', { clean: false, properties: { sessionExpiryInterval: 300 } });
    await sub.subscribeAsync('plant/line1/temp', { qos: 1 });
    const pub = await client(mqttUrl, 'sensor-pub');
    const received = nextMessage(sub);
    await pub.publishAsync('plant/line1/temp', '21.5', { qos: 1 });
    const msg = await received;

    const publish = await until(() => spans('mqtt publish').find((s) => attr(s, 'messaging.client_id') === 'sensor-pub'), 'the publish span');
    const store = await until(() => spans('holdfast store commit')[0], 'the store span');
    const deliver = await until(() => spans('mqtt deliver')[0], 'the deliver span');
    const traceId = publish.spanContext().traceId;
    // publish is the root here (the publisher sent no traceparent); store and deliver are its children.
    expect(publish.parentSpanContext).toBeUndefined();
    expect(store.spanContext().traceId).toBe(traceId);
    expect(store.parentSpanContext?.spanId).toBe(publish.spanContext().spanId);
    expect(deliver.spanContext().traceId).toBe(traceId);
    expect(deliver.parentSpanContext?.spanId).toBe(publish.spanContext().spanId);
    expect(attr(deliver, 'messaging.client_id')).toBe('sensor-sub');
    expect(attr(publish, 'messaging.destination.name')).toBe('plant/line1/temp');
    expect(attr(store, 'holdfast.store')).toBe('sqlite');
    // The subscriber continues the trace from the deliver span.
    const tp = (msg.properties?.userProperties as Record<string, string> | undefined)?.traceparent;
    expect(tp).toBeDefined();
    const f = parseTraceparent(tp!)!;
    expect(f.traceId).toBe(traceId);
    expect(f.spanId).toBe(deliver.spanContext().spanId);
    expect(f.flags & 1).toBe(1);
    // Connect spans, one per client, ended with success.
    const connects = spans('mqtt connect');
    expect(connects.map((s) => attr(s, 'messaging.client_id')).sort()).toEqual(['sensor-pub', 'sensor-sub']);
    expect(connects.every((s) => s.status.code !== SpanStatusCode.ERROR && attr(s, 'mqtt.reason_code') === 0)).toBe(true);
  });

  it('MQTT-3.3.2-17 a traceparent from the publisher is forwarded unaltered and parents the broker spans', async () => {
    app = await startApp({}, { tracer: makeTracer(1) });
    const mqttUrl = `mqtt://127.0.0.1:${app.addresses.mqtt}`;
    const sub = await client(mqttUrl, 'app-sub');
    await sub.subscribeAsync('cmd/#', { qos: 1 });
    const pub = await client(mqttUrl, 'app-pub');
    const upstream = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const received = nextMessage(sub);
    await pub.publishAsync('cmd/reboot', 'now', { qos: 1, properties: { userProperties: { traceparent: upstream, other: 'x' } } });
    const msg = await received;
    const publish = await until(() => spans('mqtt publish')[0], 'the publish span');
    expect(publish.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(publish.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    const deliver = await until(() => spans('mqtt deliver')[0], 'the deliver span');
    expect(deliver.parentSpanContext?.spanId).toBe(publish.spanContext().spanId);
    expect(msg.properties?.userProperties).toEqual({ traceparent: upstream, other: 'x' });
  });

  it('at sampling ratio 0 normal traffic records nothing, but a refused CONNECT and a refused PUBLISH are traced as errors', async () => {
    app = await startApp({ mqtt: { maxClientIdLength: 23 } }, { tracer: makeTracer(0) });
    const mqttUrl = `mqtt://127.0.0.1:${app.addresses.mqtt}`;
    const sub = await client(mqttUrl, 'quiet-sub');
    await sub.subscribeAsync('a/b', { qos: 1 });
    const pub = await client(mqttUrl, 'quiet-pub');
    const received = nextMessage(sub);
    await pub.publishAsync('a/b', 'x', { qos: 1 });
    await received;
    // Clients may not publish to $SYS: refused like an ACL denial (v5 PUBACK 0x87).
    await pub.publishAsync('$SYS/broker/fake', 'x', { qos: 1 }).catch(() => undefined);
    const refusedPublish = await until(() => spans('mqtt publish')[0], 'the refused publish span');
    expect(refusedPublish.status.code).toBe(SpanStatusCode.ERROR);
    expect(attr(refusedPublish, 'mqtt.reason_code')).toBe(0x87);
    // A client id over the limit: CONNACK 0x85 (MQTT5 3.1.3.1).
    await expect(client(mqttUrl, 'x'.repeat(40))).rejects.toThrow();
    const refusedConnect = await until(() => spans('mqtt connect')[0], 'the refused connect span');
    expect(refusedConnect.status.code).toBe(SpanStatusCode.ERROR);
    expect(exporter.getFinishedSpans().map((s) => s.name).sort()).toEqual(['mqtt connect', 'mqtt publish']);
  });
});
