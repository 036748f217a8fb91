// Throughput cost of metrics scrapes and of tracing at 1% sampling on the publish -> deliver
// path, in process and without sockets (Connection + Channel over a fake wire, like
// connect-path.mjs): `npm run build && node bench/micro/observability-cost.mjs`.
//
// 1,000 MQTT 5 publishers (distinct client ids, so that 1% sampling by id hash picks ~10
// devices) publish QoS 1 to bench/<i>/x; one MQTT 5 subscriber on bench/+/x gets QoS 0
// copies. Each configuration runs DURATION_MS, in rounds interleaved REPEAT times. Reported:
// the median CPU time of this process (user + system) per delivered message, the
// throughput it implies (1 / CPU per message), and the median over rounds of each
// configuration's throughput relative to the baseline of the same round: on a shared
// machine wall-clock rates swing with other processes, CPU per message much less.
//   baseline      tracing off, nobody scrapes
//   scrape-200ms  baseline + a /metrics render (MetricsExporter.text()) every 200 ms (Prometheus
//                 scrapes every 15 s by default: this is 75 times as often)
//   trace-0%      tracing on at ratio 0 (the enabled checks, nothing sampled)
//   trace-1%      tracing on at ratio 0.01, spans batched to an exporter that discards them
//   trace-1%-otlp tracing on at ratio 0.01 with the shipped OTLP/HTTP exporter (loadOtlpTracing,
//                 default queue and batching) to a collector stand-in on 127.0.0.1 (a child
//                 process that reads and discards each request)
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { MemoryStore } from '../../dist/adapters/persistence/memory/index.js';
import { Broker } from '../../dist/broker/broker.js';
import { DEFAULT_BROKER_CONFIG } from '../../dist/broker/config.js';
import { Connection } from '../../dist/broker/transport/connection.js';
import { encode } from '../../dist/codec/mqtt/index.js';
import { silentLogger } from '../../dist/observability/logger.js';
import { registerBrokerMetrics } from '../../dist/observability/metrics/broker-metrics.js';
import { MetricsExporter } from '../../dist/observability/metrics/metrics-exporter.js';
import { spawn } from 'node:child_process';
import { OtelTracer } from '../../dist/observability/tracing/otel-tracer.js';
import { loadOtlpTracing } from '../../dist/observability/tracing/otlp.js';

const PUBLISHERS = Number(process.env.PUBLISHERS ?? 1000);
const DURATION_MS = Number(process.env.DURATION_MS ?? 2000);
const REPEAT = Number(process.env.REPEAT ?? 5);
const PER_ROUND = 4; // messages per publisher between two event-loop turns

let exported = 0;
const discard = { export: (spans, cb) => { exported += spans.length; cb({ code: 0 }); }, shutdown: async () => {}, forceFlush: async () => {} };
const provider = new BasicTracerProvider({
  spanProcessors: [new BatchSpanProcessor(discard, {
    maxQueueSize: Number(process.env.QUEUE ?? 2048),
    maxExportBatchSize: Math.min(512, Number(process.env.QUEUE ?? 2048)),
    scheduledDelayMillis: Number(process.env.DELAY_MS ?? 2000),
  })],
});

const wire = () => ({ remoteAddress: '127.0.0.1:1', listener: 'mqtt', certificate: undefined, write(_b, cb) { cb?.(); }, bufferedBytes: () => 0, pause() {}, resume() {}, end() {}, destroy() {} });
const turn = () => new Promise((r) => setImmediate(r));

// The collector stand-in runs in its own process, so that its CPU is not charged to the broker.
const sink = spawn(process.execPath, ['-e', `
  const s = require('node:http').createServer((q, r) => { q.resume(); q.on('end', () => r.end('{}')); });
  s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));
`], { stdio: ['ignore', 'pipe', 'inherit'] });
const sinkPort = await new Promise((resolve) => sink.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
const otlp = await loadOtlpTracing({ url: `http://127.0.0.1:${sinkPort}/v1/traces`, serviceName: 'bench', serviceVersion: 'bench', sampleRatio: 0.01, timeoutMs: 10_000, maxQueueSize: 2048 });

async function run(config) {
  const tracer = config.otlp ? otlp.tracer : config.ratio === undefined ? undefined : new OtelTracer(provider, { sampleRatio: config.ratio });
  const broker = new Broker(structuredClone(DEFAULT_BROKER_CONFIG), { store: new MemoryStore(), logger: silentLogger(), ...(tracer ? { tracer } : {}) });
  await broker.start();
  const metrics = new MetricsExporter({ version: 'bench' });
  registerBrokerMetrics(metrics.registry, broker);
  const connect = (clientId) => {
    const c = new Connection(broker);
    c.start(wire());
    c.onData(encode({ type: 1, protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId, properties: {} }, 5));
    return c;
  };
  const sub = connect('bench-sub');
  sub.onData(encode({ type: 8, packetId: 1, subscriptions: [{ topic: 'bench/+/x', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 }], properties: {} }, 5));
  const pubs = [];
  const payload = Buffer.alloc(64, 7);
  for (let i = 0; i < PUBLISHERS; i++) {
    const c = connect(`device-${i}`);
    pubs.push([c, encode({ type: 3, topic: `bench/${i}/x`, payload, qos: 1, retain: false, dup: false, packetId: 1, properties: {} }, 5)]);
  }
  await turn();
  let scrapes = 0;
  let scrapeMs = 0;
  const timer = config.scrapeMs ? setInterval(async () => {
    const t0 = performance.now();
    await metrics.text();
    scrapeMs += performance.now() - t0;
    scrapes++;
  }, config.scrapeMs) : undefined;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  const delivered0 = broker.stats.messagesDelivered;
  while (performance.now() - start < DURATION_MS) {
    for (let k = 0; k < PER_ROUND; k++) for (const [c, bytes] of pubs) c.onData(bytes);
    await turn();
  }
  const cpu = process.cpuUsage(cpu0);
  if (timer) clearInterval(timer);
  const delivered = broker.stats.messagesDelivered - delivered0;
  const rate = delivered / ((cpu.user + cpu.system) / 1e6); // messages per CPU-second
  await broker.close();
  return { rate, scrapeMs: scrapes ? scrapeMs / scrapes : 0 };
}

const CONFIGS = [
  { name: 'baseline' },
  { name: 'scrape-200ms', scrapeMs: 200 },
  { name: 'trace-0%', ratio: 0 },
  { name: 'trace-1%', ratio: 0.01 },
  { name: 'trace-1%-otlp', otlp: true },
  ...(process.env.TRACE_ALL ? [{ name: 'trace-100%', ratio: 1 }] : []),
];
const results = Object.fromEntries(CONFIGS.map((c) => [c.name, []]));
const scrapeCost = [];
for (const c of CONFIGS) await run({ ...c, name: `warm-up ${c.name}` });
for (let r = 0; r < REPEAT; r++) {
  for (const c of CONFIGS) {
    const x = await run(c);
    results[c.name].push(x.rate);
    if (c.scrapeMs) scrapeCost.push(x.scrapeMs);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`publishers ${PUBLISHERS}, ${DURATION_MS} ms x ${REPEAT} interleaved runs, node ${process.version}`);
for (const c of CONFIGS) {
  const m = median(results[c.name]);
  // Each round ran every configuration back to back: the median of the per-round ratios
  // cancels the slow drifts of a shared machine better than a ratio of medians.
  const ratios = results[c.name].map((x, i) => x / results.baseline[i]);
  const delta = c.name === 'baseline' ? '' : `${((median(ratios) - 1) * 100).toFixed(1)}% vs baseline`;
  console.log(`${c.name.padEnd(13)} ${(1e6 / m).toFixed(3)} µs CPU/msg = ${Math.round(m).toLocaleString('en-US').padStart(9)} msg per CPU-s  ${delta.padEnd(20)} runs: ${results[c.name].map((x) => Math.round(x / 1000) + 'k').join(' ')}`);
}
console.log(`one /metrics render with ${PUBLISHERS + 1} sessions: ${median(scrapeCost).toFixed(2)} ms (median); spans exported: ${exported}`);
await provider.shutdown();
await otlp.shutdown();
sink.kill();
