/**
 * Issue 7, tracing of bridge calls: each batch a sink sends can become a client span
 * (`bridge <sink> send`). At sampling ratio 0 only failed batches are traced (errors always
 * are); at ratio 1 every batch is. A real webhook receiver answers 500, then 200.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { recordTracing } from '../../src/observability/tracing/otlp.js';
import { StoreClient } from '../helpers/store-clients.js';
import { sqliteAt, storeTempDir } from '../helpers/store-fixtures.js';
import { BridgesRig, startBridgedBroker, waitFor, WebhookServer } from './bridges-helpers.js';

const rig = new BridgesRig();
afterEach(() => rig.tearDown());

async function run(sampleRatio: number, exporter: InMemorySpanExporter): Promise<void> {
  rig.hook = new WebhookServer();
  await rig.hook.listen();
  let fail = true;
  rig.hook.respond = () => (fail ? 500 : 200);
  rig.dir = storeTempDir('holdfast-bridges-trace-');
  const tracing = recordTracing(exporter, { sampleRatio, resource: resourceFromAttributes({ 'service.name': 'test' }), batchSpans: 1, delayMs: 0 });
  rig.b = await startBridgedBroker({
    store: sqliteAt(rig.dir),
    tracer: tracing.tracer,
    bridges: {
      instanceId: 'trace',
      sinks: [{ name: 'hook', kind: 'http', http: { url: rig.hook.url }, retryBaseMs: 5, retryCapMs: 20, batchLingerMs: 0, breakerFailures: 1000 }],
      routes: [{ filter: 'dev/+/data', sink: 'hook' }],
    },
  });
  const { client } = await StoreClient.connect(rig.b.tb.port, 5, { clientId: 'd1' });
  rig.clients.push(client);
  const ack = await client.publishAcked({ topic: 'dev/d1/data', payload: Buffer.from('x'), qos: 1, retain: false, packetId: 1 });
  expect(ack.reasonCode ?? 0).toBe(0);
  await waitFor(() => rig.hook!.requests.length >= 1, 'a first (failing) request');
  fail = false;
  await waitFor(() => rig.b!.bridges.status().sinks[0]!.totals.acked === 1, 'the message delivered');
}

const sendSpans = (e: InMemorySpanExporter): ReadableSpan[] => e.getFinishedSpans().filter((s) => s.name === 'bridge hook send');

describe('tracing: bridge calls (issue 7)', () => {
  it('at ratio 0 a failed batch is traced as an error client span, a batch that went well is not', async () => {
    const exporter = new InMemorySpanExporter();
    await run(0, exporter);
    await waitFor(() => sendSpans(exporter).length >= 1, 'the error span');
    const spans = sendSpans(exporter);
    expect(spans.every((s) => s.status.code === SpanStatusCode.ERROR)).toBe(true);
    const s = spans[0]!;
    expect(s.kind).toBe(SpanKind.CLIENT);
    expect(s.attributes).toMatchObject({ 'holdfast.bridge.sink': 'hook', 'holdfast.bridge.kind': 'http', 'messaging.batch.message_count': 1, 'holdfast.bridge.failed_messages': 1 });
    expect(s.status.message).toMatch(/1 of 1 messages failed|HTTP 500/);
    // The failing attempts only: one per request answered 500.
    expect(spans.length).toBe(rig.hook!.requests.length - 1);
  });

  it('at ratio 1 every batch is traced: the failed ones as errors, the delivered one unset', async () => {
    const exporter = new InMemorySpanExporter();
    await run(1, exporter);
    await waitFor(() => sendSpans(exporter).length === rig.hook!.requests.length, 'a span per request');
    const spans = sendSpans(exporter);
    expect(spans.at(-1)!.status.code).toBe(SpanStatusCode.UNSET);
    expect(spans.at(-1)!.attributes['holdfast.bridge.failed_messages']).toBe(0);
    expect(spans.slice(0, -1).every((s) => s.status.code === SpanStatusCode.ERROR)).toBe(true);
  });
});
