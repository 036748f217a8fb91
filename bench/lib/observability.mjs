/**
 * The `observability` scenario of `npm run bench` (issue 7): the throughput cost of metrics
 * scrapes and of tracing at 1% sampling, measured by bench/micro/observability-cost.mjs (its
 * header says how) pinned to the broker's core, and rendered as a section of BENCHMARKS.md.
 * holdfast only: it measures holdfast's own observability against holdfast without it.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runJsonChild } from './child-json.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const SCRIPT = path.join(here, '../micro/observability-cost.mjs');

export const OBSERVABILITY_SCENARIOS = {
  observability: {
    title: 'Throughput cost of /metrics scrapes and of tracing at 1% sampling (in process, no sockets; 1,000 MQTT 5 publishers, QoS 1 in, QoS 0 out)',
  },
};

const TITLES = {
  baseline: 'baseline: tracing off, nobody scrapes',
  'scrape-1s': '`/metrics` rendered every second of wall time, 1,001 sessions (the process has a quarter of the core: about 4 renders per CPU-second, 60 times Prometheus\' default rate)',
  'trace-0%': 'tracing on (OTLP exporter loaded), ratio 0: nothing sampled',
  'trace-1%-otlp': '**tracing at 1%: span records, OTLP/HTTP JSON to a collector stand-in**',
  'trace-1%-sdk': 'for comparison: the OpenTelemetry SDK\'s spans (OtelTracer, BatchSpanProcessor) at 1%, exporter discarding',
};

export async function runObservability({ quick, nice, brokerCore = 0 }) {
  const env = {
    ...process.env,
    JSON: '1',
    REPEAT: quick ? '3' : '7',
    WARMUP_MS: quick ? '1000' : '2000',
    DURATION_MS: quick ? '2000' : '5000',
  };
  const prefix = [...(nice ? ['nice', '-n', String(nice)] : []), 'taskset', '-c', String(brokerCore)];
  const started = Date.now();
  const { result, error } = await runJsonChild(prefix[0], [...prefix.slice(1), process.execPath, SCRIPT], { env });
  if (error) return { ok: false, error: `observability-cost.mjs ${error}` };
  return { ok: true, result: { ...result, wall_s: (Date.now() - started) / 1000 } };
}

const pct = (v) => (v === null || v === undefined ? '' : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}%`);

export function observabilitySummary(x) {
  if (x.error) return `n/a: ${x.error}`;
  return x.result.summary
    .filter((s) => s.config !== 'baseline')
    .map((s) => `${s.config} ${pct(s.main_vs_baseline)} event loop, ${pct(s.vs_baseline)} process CPU${s.vs_ratio0 === null || s.vs_ratio0 === undefined ? '' : ` (vs ratio 0: ${pct(s.main_vs_ratio0)}, ${pct(s.vs_ratio0)})`}`)
    .join('; ');
}

/** The headline: the event-loop throughput change of tracing at 1% (negative = slower). */
export function observabilityPrimary(x) {
  return x.result?.summary?.find((s) => s.config === 'trace-1%-otlp')?.main_vs_baseline;
}

export function renderObservabilitySection(results) {
  const x = results.observability?.holdfast;
  if (!x) return [];
  const head = '### Cost of metrics and tracing (`observability`)';
  if (x.error) return [head, '', `n/a (${x.error})`];
  const { meta, summary } = x.result;
  return [
    head,
    '',
    `- ${OBSERVABILITY_SCENARIOS.observability.title}. holdfast only. \`bench/micro/observability-cost.mjs\`: Connection + Channel over a fake wire, memory store, so the broker's own work per message is the whole denominator (with sockets it is larger and the same observability work a smaller share).`,
    `- ${meta.repeat} rounds; in each round every configuration runs at the same time in its own fresh process (${meta.warmup_ms} ms warm-up, ${meta.duration_ms} ms measured), all pinned to the broker's core: they share the core and whatever the machine does meanwhile. Node ${meta.node}.`,
    '- "event loop": CPU time of the broker\'s event-loop thread per delivered message; the broker\'s throughput is bound by it while another core is free. "process": CPU time of every thread of the process (the trace export worker\'s, the garbage collector\'s helpers, the kernel\'s work for the loopback TCP to the collector) per message: the cost when all of it has to share one core. Changes are the median over rounds of the throughput (messages per CPU-second) against the baseline of the same round; differences of a few percent are within the run-to-run spread of fresh processes here.',
    '',
    '- "vs ratio 0": against tracing on at ratio 0 (same modules and export worker, nothing sampled), the cost of the sampled spans themselves. Runs with the tracing loaded have come out faster than the baseline at ratio 0 in most runs today (not understood: an idle worker thread, the tracing modules loaded without a tracer, and the record tracer at ratio 0 without the worker each measured like the baseline), so both columns are shown.',
    '',
    '| configuration | µs event-loop CPU / msg | throughput vs baseline (event loop) | vs ratio 0 (event loop) | µs process CPU / msg | vs baseline (process) | vs ratio 0 (process) | of which the export worker (µs / msg) | spans per 1,000 messages |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...summary.map(
      (s) =>
        `| ${TITLES[s.config] ?? s.config} | ${s.us_main_cpu_per_msg.toFixed(2)} | ${pct(s.main_vs_baseline)} | ${pct(s.main_vs_ratio0)} | ${s.us_cpu_per_msg.toFixed(2)} | ${pct(s.vs_baseline)} | ${pct(s.vs_ratio0)} | ${s.us_export_worker_cpu_per_msg === undefined ? '—' : s.us_export_worker_cpu_per_msg.toFixed(3)} | ${s.traced_spans_per_1000_msgs.toFixed(1)} |`,
    ),
    '',
    `One \`/metrics\` render with 1,001 sessions: ${summary.find((s) => s.scrape_ms !== null)?.scrape_ms?.toFixed(1) ?? '—'} ms (median, while sharing the core with the other runs). The collector stand-in received ${meta.collector_spans} spans.`,
  ];
}
