// CPU cost of the tracing work of one sampled message, in isolation (no broker): a publish
// span remembered on the message, one deliver span under it with its traceparent, both
// ended, spans batched to an exporter that discards them. `npm run build && node
// bench/micro/tracing-span-cost.mjs`. Messages stay alive for a while (2,000 of them, as
// inflight and queued messages do), which matters for how the span is attached to them.
//   sdk-default   OtelTracer over a BasicTracerProvider with the SDK's ids, batches of 512
//   sdk-pooled    OtelTracer with the pooled ids, batches of 128 every 200 ms (the OTLP setup before
//                 span records)
//   records       the shipped tracer: span records (record-tracer.ts) batched and each batch
//                 encoded as OTLP JSON into a buffer as otlp.ts does (encoded-batch.ts); the
//                 buffer discarded (no worker, no HTTP)
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { PooledIdGenerator } from '../../dist/observability/tracing/id-generator.js';
import { OtelTracer } from '../../dist/observability/tracing/otel-tracer.js';
import { EXPORT_BATCH_SPANS, EXPORT_DELAY_MS } from '../../dist/observability/tracing/otlp.js';
import { encodeBatch } from '../../dist/observability/tracing/encoded-batch.js';
import { RecordTracer } from '../../dist/observability/tracing/record-tracer.js';
import { SpanBatcher } from '../../dist/observability/tracing/span-batcher.js';

const N = Number(process.env.N ?? 100_000);
const REPEAT = Number(process.env.REPEAT ?? 7);
const discard = { export: (_s, cb) => cb({ code: 0 }), shutdown: async () => {}, forceFlush: async () => {} };
const provider = (batch, delayMs, ids) =>
  new BasicTracerProvider({
    ...(ids ? { idGenerator: new PooledIdGenerator() } : {}),
    spanProcessors: [new BatchSpanProcessor(discard, { maxQueueSize: 2048, maxExportBatchSize: batch, scheduledDelayMillis: delayMs })],
  });
const VARIANTS = {
  'sdk-default': () => new OtelTracer(provider(512, 1000, false), { sampleRatio: 1 }),
  'sdk-pooled': () => new OtelTracer(provider(128, 200, true), { sampleRatio: 1 }),
  records: () =>
    new RecordTracer(
      new SpanBatcher({ maxSpans: 2048, batchSpans: EXPORT_BATCH_SPANS, delayMs: EXPORT_DELAY_MS, send: (batch, done) => { sink = encodeBatch(batch).length; done(true); } }),
      { sampleRatio: 1 },
    ),
};

let sink;
const live = [];
function oneMessage(tracer, i) {
  const msg = { id: i, topic: 'bench/1/x', payload: null, qos: 1, retain: false, properties: undefined, expiresAt: 0, publisherId: 'device-1', createdAt: 0 };
  live.push(msg);
  if (live.length > 2000) live.shift();
  const publish = tracer.startSpan('mqtt publish', { kind: 'server', attributes: { 'messaging.system': 'mqtt', 'messaging.destination.name': msg.topic, 'messaging.client_id': 'device-1', 'mqtt.qos': 1 } });
  tracer.setMessageSpan(msg, publish);
  const deliver = tracer.startSpan('mqtt deliver', { parent: tracer.messageSpan(msg), kind: 'producer', attributes: { 'messaging.client_id': 'sub', 'mqtt.qos': 0 } });
  sink = deliver.traceparent;
  deliver.end();
  publish.setAttribute('holdfast.matched_sessions', 1);
  publish.end();
}
const turn = () => new Promise((r) => setImmediate(r));
const results = {};
for (let r = 0; r < REPEAT; r++) {
  for (const [name, make] of Object.entries(VARIANTS)) {
    const tracer = make();
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < N; i++) {
      oneMessage(tracer, i);
      if (i % 64 === 63) await turn();
    }
    const cpu = process.cpuUsage(cpu0);
    (results[name] ??= []).push((cpu.user + cpu.system) / N);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`${N} sampled messages x ${REPEAT} interleaved runs, node ${process.version} (${sink.length})`);
for (const [name, xs] of Object.entries(results)) {
  console.log(`${name.padEnd(12)} ${median(xs).toFixed(2)} µs CPU per sampled message (median)   runs: ${xs.map((x) => x.toFixed(2)).join(' ')}`);
}
