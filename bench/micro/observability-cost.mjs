// Throughput cost of metrics scrapes and of tracing at 1% sampling on the publish -> deliver
// path (issue 7, target: under 5% each; tracing is also measured over TCP, A/B in one process:
// observability-sockets.mjs), in process and without sockets (Connection + Channel
// over a fake wire, like connect-path.mjs): `npm run build && node bench/micro/observability-cost.mjs`.
// `npm run bench` runs it as the `observability` scenario (bench/lib/observability.mjs).
//
// 1,000 MQTT 5 publishers (client ids device-0 ... device-999; 1% sampling by id hash picks 8
// of them) publish QoS 1 to bench/<i>/x; one MQTT 5 subscriber on bench/+/x gets QoS 0 copies.
// Without sockets the broker's own work per message (a few µs) is the whole denominator: with
// sockets it is larger and the same tracing work a smaller share.
//
// Every run of a configuration is a fresh process (a broker with tracing makes the code paths
// it shares with the baseline polymorphic: in one process the configurations would pollute
// each other's JIT state), WARMUP_MS of load and then DURATION_MS measured. The configurations
// of a round run at the same time (pin the whole thing to one core with taskset: they share
// it, and whatever else the machine does meanwhile), REPEAT rounds. Measured per run: CPU time
// of the whole process (every thread: the export worker's, and the kernel's work for its
// loopback TCP, too) per delivered message, and of the event-loop thread alone
// (/proc/self/task/<pid>/stat, 10 ms ticks): the broker's throughput is bound by its event
// loop while another core is free. Reported: medians, and the median over rounds of each
// configuration's throughput (messages per CPU-second) relative to the baseline's in the
// same round.
//   baseline       tracing off, nobody scrapes
//   scrape-1s      baseline + a /metrics render (MetricsExporter.text()) every second (Prometheus
//                  scrapes every 15 s by default: this is 15 times as often)
//   trace-0%       tracing on at ratio 0 (the enabled checks, nothing sampled)
//   trace-1%-otlp  the shipped tracing (loadOtlpTracing: span records, export worker, OTLP/HTTP
//                  JSON) at ratio 0.01 to a collector stand-in on 127.0.0.1 (a separate process
//                  that parses each request and counts its spans)
//   trace-1%-sdk   (SDK=1) OtelTracer over the OpenTelemetry SDK (BasicTracerProvider,
//                  BatchSpanProcessor) at ratio 0.01 to an exporter that discards the spans
// Output: a table, and with JSON=1 one JSON line with every run (bench/lib/observability.mjs).
// Experiments: OBS_EXTRA='[...]' adds configurations, e.g. {"name":"idle-worker","idleWorker":true}
// (an idle worker thread, no tracer), {"name":"import-only","importOnly":true} (the tracing modules
// loaded, no tracer), {"name":"rec-noop-0%","recNoop":true,"ratio":0} (the record tracer at ratio 0,
// no export), {"name":"sdk","sdk":true,"ratio":0.01} (as SDK=1), {"name":"q8192","otlp":true,"ratio":0.01,"maxq":8192}
// (another maxQueuedSpans; the default 2048 allows requests of 512 spans, 8192 of 2048),
// {"name":"encode-only","encodeOnly":true,"ratio":0.01} (the record tracer, batches encoded as otlp.ts does, each
// batch discarded: no worker, no HTTP), {"name":"worker-no-tracer","otlp":true,"ratio":0,"noTracer":true} (tracing loaded, export worker
// running, the broker without the tracer).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runJsonChild } from '../lib/child-json.mjs';
import { startCollectorStandIn } from '../lib/otlp-collector.mjs';

const PUBLISHERS = Number(process.env.PUBLISHERS ?? 1000);
const DURATION_MS = Number(process.env.DURATION_MS ?? 2000);
const WARMUP_MS = Number(process.env.WARMUP_MS ?? 1000);
const REPEAT = Number(process.env.REPEAT ?? 7);
const PER_ROUND = 4; // messages per publisher between two event-loop turns

const CONFIGS = [
  { name: 'baseline' },
  { name: 'scrape-1s', scrapeMs: 1000 },
  { name: 'trace-0%', otlp: true, ratio: 0 },
  { name: 'trace-1%-otlp', otlp: true, ratio: 0.01 },
  ...(process.env.SDK ? [{ name: 'trace-1%-sdk', sdk: true, ratio: 0.01 }] : []),
  // Experiments: OBS_EXTRA='[{"name":"x","idleWorker":true}]' (a config object as above).
  ...JSON.parse(process.env.OBS_EXTRA ?? '[]'),
];

const self = fileURLToPath(import.meta.url);
if (process.env.OBS_COST_CONFIG) await child(JSON.parse(process.env.OBS_COST_CONFIG));
else await parent();

/** CPU seconds of one thread of this process (the event loop's task id is the pid). */
function threadCpuS(tid = process.pid) {
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return 0; // the thread is gone
  }
}
function mainThreadCpuS() {
  return threadCpuS();
}
function threadIds() {
  return new Set(readdirSync('/proc/self/task'));
}

async function child(config) {
  const dist = new URL('../../dist/', import.meta.url);
  const imp = (p) => import(new URL(p, dist).href);
  const [{ MemoryStore }, { Broker }, { DEFAULT_BROKER_CONFIG }, { Connection }, { encode }, { silentLogger }, { registerBrokerMetrics }, { MetricsExporter }] = await Promise.all([
    imp('adapters/persistence/memory/index.js'),
    imp('broker/broker.js'),
    imp('broker/config.js'),
    imp('broker/transport/connection.js'),
    imp('codec/mqtt/index.js'),
    imp('observability/logger.js'),
    imp('observability/metrics/broker-metrics.js'),
    imp('observability/metrics/metrics-exporter.js'),
  ]);
  let tracing;
  let spans = () => 0;
  if (config.importOnly) await imp('observability/tracing/otlp.js');
  if (config.recNoop) {
    const { RecordTracer } = await imp('observability/tracing/record-tracer.js');
    tracing = { tracer: new RecordTracer({ push() {} }, { sampleRatio: config.ratio ?? 0 }), shutdown: async () => {} };
  }
  if (config.encodeOnly) {
    // The record tracer, batches encoded as otlp.ts does (encoded-batch.ts), each batch discarded: no worker, no HTTP.
    const [{ RecordTracer }, { SpanBatcher }, { encodeBatch }, { EXPORT_BATCH_SPANS, EXPORT_DELAY_MS }] = await Promise.all([
      imp('observability/tracing/record-tracer.js'),
      imp('observability/tracing/span-batcher.js'),
      imp('observability/tracing/encoded-batch.js'),
      imp('observability/tracing/otlp.js'),
    ]);
    const batcher = new SpanBatcher({ maxSpans: 2048, batchSpans: EXPORT_BATCH_SPANS, delayMs: EXPORT_DELAY_MS, send: (records, done) => (encodeBatch(records), done(true)) });
    tracing = { tracer: new RecordTracer(batcher, { sampleRatio: config.ratio ?? 0 }), shutdown: async () => {} };
    spans = () => batcher.stats().exported + batcher.stats().queued;
  }
  if (config.idleWorker) {
    const { Worker } = await import('node:worker_threads');
    const w = new Worker('require("node:worker_threads").parentPort.postMessage("ready"); setInterval(() => {}, 1000);', { eval: true });
    if (config.idleWorker === 'listen') {
      w.on('message', () => {});
      await new Promise((r) => w.once('message', r));
    }
    w.unref();
  }
  let exportThreads = [];
  if (config.otlp) {
    const { loadOtlpTracing } = await imp('observability/tracing/otlp.js');
    const before = threadIds();
    tracing = await loadOtlpTracing({ url: process.env.OBS_COST_COLLECTOR, serviceName: 'bench', serviceVersion: 'bench', sampleRatio: config.ratio, timeoutMs: 10_000, maxQueueSize: config.maxq ?? 2048 });
    spans = () => tracing.stats().exported + tracing.stats().queued;
    exportThreads = [...threadIds()].filter((t) => !before.has(t)); // the export worker's thread(s)
  } else if (config.sdk) {
    const { BasicTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
    const { OtelTracer } = await imp('observability/tracing/otel-tracer.js');
    let n = 0;
    const discard = { export: (s, cb) => ((n += s.length), cb({ code: 0 })), shutdown: async () => {}, forceFlush: async () => {} };
    const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(discard, { maxQueueSize: 2048, maxExportBatchSize: 512 })] });
    tracing = { tracer: new OtelTracer(provider, { sampleRatio: config.ratio }), shutdown: () => provider.shutdown() };
    spans = () => n;
  }
  const wire = () => ({ remoteAddress: '127.0.0.1:1', listener: 'mqtt', certificate: undefined, write(_b, cb) { cb?.(); }, bufferedBytes: () => 0, pause() {}, resume() {}, end() {}, destroy() {} });
  const turn = () => new Promise((r) => setImmediate(r));
  // noTracer: the tracing is loaded (export worker and all) but the broker does not get it.
  const brokerTracer = tracing && !config.noTracer ? { tracer: tracing.tracer } : {};
  const broker = new Broker(structuredClone(DEFAULT_BROKER_CONFIG), { store: new MemoryStore(), logger: silentLogger(), ...brokerTracer });
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
    pubs.push([connect(`device-${i}`), encode({ type: 3, topic: `bench/${i}/x`, payload, qos: 1, retain: false, dup: false, packetId: 1, properties: {} }, 5)]);
  }
  let scrapes = 0;
  let scrapeMs = 0;
  const timer = config.scrapeMs
    ? setInterval(async () => {
        const t0 = performance.now();
        await metrics.text();
        scrapeMs += performance.now() - t0;
        scrapes++;
      }, config.scrapeMs)
    : undefined;
  const load = async (ms) => {
    const start = performance.now();
    while (performance.now() - start < ms) {
      for (let k = 0; k < PER_ROUND; k++) for (const [c, bytes] of pubs) c.onData(bytes);
      await turn();
    }
  };
  await load(WARMUP_MS);
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpuS();
  const worker0 = exportThreads.reduce((a, t) => a + threadCpuS(t), 0);
  const delivered0 = broker.stats.messagesDelivered;
  const spans0 = spans();
  await load(DURATION_MS);
  const cpu = process.cpuUsage(cpu0);
  const mainS = mainThreadCpuS() - main0;
  const workerS = exportThreads.reduce((a, t) => a + threadCpuS(t), 0) - worker0;
  const delivered = broker.stats.messagesDelivered - delivered0;
  const spanCount = spans() - spans0;
  if (timer) clearInterval(timer);
  await broker.close();
  await tracing?.shutdown();
  const stats = tracing?.stats?.();
  process.stdout.write(
    `${JSON.stringify({
      config: config.name,
      delivered,
      cpu_s: (cpu.user + cpu.system) / 1e6,
      main_cpu_s: mainS,
      export_worker_cpu_s: workerS,
      spans: spanCount,
      scrape_ms: scrapes ? scrapeMs / scrapes : null,
      export: stats ?? null,
    })}\n`,
  );
  process.exit(0);
}

async function parent() {
  const collector = await startCollectorStandIn();
  const runs = [];
  const runOne = async (c) => {
    const { result, error } = await runJsonChild(process.execPath, [self], { env: { ...process.env, OBS_COST_CONFIG: JSON.stringify(c), OBS_COST_COLLECTOR: collector.url } });
    if (error) throw new Error(`${c.name} run failed (${error})`);
    return result;
  };
  try {
    for (let r = 0; r < REPEAT; r++) {
      // All configurations of a round run at the same time, on the same core(s) (taskset the
      // parent): they share whatever the machine does meanwhile, which a shared machine's
      // drifts (±30% between minutes here) would otherwise put between them. The start order
      // rotates from round to round.
      const order = CONFIGS.map((_, i) => CONFIGS[(i + r) % CONFIGS.length]);
      const results = await Promise.all(order.map(runOne));
      for (const x of results) runs.push({ round: r, ...x });
    }
  } finally {
    const received = await collector.spans().catch(() => 'unknown');
    collector.stop();
    summarize(runs, received);
  }
}

function summarize(runs, collectorSpans) {
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rate = (x) => x.delivered / x.cpu_s;
  const mainRate = (x) => x.delivered / x.main_cpu_s;
  const base = new Map(runs.filter((x) => x.config === 'baseline').map((x) => [x.round, x]));
  const zero = new Map(runs.filter((x) => x.config === 'trace-0%').map((x) => [x.round, x]));
  const summary = CONFIGS.map((c) => {
    const xs = runs.filter((x) => x.config === c.name);
    const vs = (f) => (c.name === 'baseline' ? null : median(xs.map((x) => f(x) / f(base.get(x.round)) - 1)));
    // Against tracing on at ratio 0 (same modules, same export worker, nothing sampled): the
    // cost of the sampling itself, for the tracing configurations.
    const vs0 = (f) => (!c.otlp || c.name === 'trace-0%' || !zero.size ? null : median(xs.map((x) => f(x) / f(zero.get(x.round)) - 1)));
    return {
      config: c.name,
      runs: xs.length,
      us_cpu_per_msg: 1e6 / median(xs.map(rate)),
      us_main_cpu_per_msg: 1e6 / median(xs.map(mainRate)),
      us_export_worker_cpu_per_msg: median(xs.map((x) => (1e6 * (x.export_worker_cpu_s ?? 0)) / x.delivered)),
      vs_baseline: vs(rate),
      main_vs_baseline: vs(mainRate),
      vs_ratio0: vs0(rate),
      main_vs_ratio0: vs0(mainRate),
      traced_spans_per_1000_msgs: (1000 * xs.reduce((a, x) => a + x.spans, 0)) / xs.reduce((a, x) => a + x.delivered, 0),
      scrape_ms: c.scrapeMs ? median(xs.map((x) => x.scrape_ms)) : null,
    };
  });
  const meta = { publishers: PUBLISHERS, duration_ms: DURATION_MS, warmup_ms: WARMUP_MS, repeat: REPEAT, node: process.version, collector_spans: collectorSpans };
  if (process.env.JSON) {
    process.stdout.write(`${JSON.stringify({ meta, summary, runs })}\n`);
    return;
  }
  const pct = (v) => (v === null ? '' : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}%`);
  console.log(`publishers ${PUBLISHERS}, a fresh process per run: ${WARMUP_MS} ms warm-up + ${DURATION_MS} ms measured, ${REPEAT} rounds of concurrent runs, node ${process.version}`);
  console.log('config          µs CPU/msg  vs base   event-loop µs/msg  vs base   spans/1000 msgs');
  for (const s of summary) {
    console.log(
      `${s.config.padEnd(15)} ${s.us_cpu_per_msg.toFixed(3).padStart(10)}  ${pct(s.vs_baseline).padStart(7)}   ${s.us_main_cpu_per_msg.toFixed(3).padStart(17)}  ${pct(s.main_vs_baseline).padStart(7)}   ${s.traced_spans_per_1000_msgs.toFixed(1)}`,
    );
  }
  const scrape = summary.find((s) => s.scrape_ms !== null);
  if (scrape) console.log(`one /metrics render with ${PUBLISHERS + 1} sessions: ${scrape.scrape_ms.toFixed(2)} ms (median)`);
  console.log(`collector stand-in received ${collectorSpans} spans in total`);
}
