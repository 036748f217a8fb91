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
const SOCKETS_SCRIPT = path.join(here, '../micro/observability-sockets.mjs');

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

export async function runObservability({ quick, nice, brokerCore = 0, genCore = 1, loadgen }) {
  const env = {
    ...process.env,
    JSON: '1',
    REPEAT: quick ? '3' : '5',
    WARMUP_MS: quick ? '2000' : '4000',
    DURATION_MS: quick ? '2000' : '5000',
  };
  const prefix = [...(nice ? ['nice', '-n', String(nice)] : []), 'taskset', '-c', String(brokerCore)];
  const started = Date.now();
  const { result, error } = await runJsonChild(prefix[0], [...prefix.slice(1), process.execPath, SCRIPT], { env });
  if (error) return { ok: false, error: `observability-cost.mjs ${error}` };
  // Tracing at 1% in the broker as it runs, over TCP under the load generator, A/B in one
  // process (observability-sockets.mjs): one run after another, alone on the broker's core.
  const sockets = [];
  const socketEnv = { ...process.env, LOADGEN: loadgen, LOADGEN_CORE: String(genCore), WARMUP_S: quick ? '2' : '3', DURATION_S: quick ? '5' : '10' };
  for (let i = 0; i < (quick ? 2 : 6); i++) {
    const run = await runJsonChild(prefix[0], [...prefix.slice(1), process.execPath, SOCKETS_SCRIPT], { env: socketEnv });
    if (run.error) return { ok: false, error: `observability-sockets.mjs ${run.error}` };
    sockets.push(run.result);
  }
  return { ok: true, result: { ...result, sockets: socketsSummary(sockets), wall_s: (Date.now() - started) / 1000 } };
}

const mean = (xs) => xs.reduce((a, x) => a + x, 0) / xs.length;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * The sockets A/B runs: per run, the throughput change (messages per CPU-second, "off" arm ->
 * "on" arm; negative = slower with tracing) of the event-loop thread and of the whole process,
 * as measured (the fraction of publishers the hash picked varies with the load generator's
 * client ids) and scaled to exactly 1% of the messages traced (the cost is that of the traced
 * messages: linear in their number). Pooled over runs: the mean over every adjacent on/off
 * pair of phases, with its 95% confidence interval (1.96 standard errors).
 */
export function socketsSummary(runs) {
  const per = runs.map((r) => {
    const { on, off, worker_ns: workerNs } = r.ab;
    const frac = r.sampled_publishers / r.publishers;
    const workerPerMsg = workerNs / on.msgs; // the export worker's CPU goes to the "on" arm
    const main = off.main_ns / off.msgs / (on.main_ns / on.msgs) - 1;
    const proc = off.proc_ns / off.msgs / (on.proc_ns / on.msgs + workerPerMsg) - 1;
    const pairs = [];
    const s = r.ab.series;
    for (let i = 0; i + 1 < s.length; i += 2) {
      const [a, b] = s[i][0] === 'on' ? [s[i], s[i + 1]] : [s[i + 1], s[i]];
      if (a[1] > 0 && b[1] > 0) pairs.push({ main: b[2] / b[1] / (a[2] / a[1]) - 1, proc: b[3] / b[1] / (a[3] / a[1] + workerPerMsg) - 1, scale: frac > 0 ? 0.01 / frac : NaN });
    }
    return {
      sampled_publishers: r.sampled_publishers,
      publishers: r.publishers,
      delivered_per_s: r.loadgen?.recv_rate ?? null,
      lost: r.loadgen?.lost ?? null,
      us_main_per_msg_on: on.main_ns / on.msgs / 1000,
      us_main_per_msg_off: off.main_ns / off.msgs / 1000,
      us_proc_per_msg_on: (on.proc_ns / on.msgs + workerPerMsg) / 1000,
      us_proc_per_msg_off: off.proc_ns / off.msgs / 1000,
      us_worker_per_msg_on: workerPerMsg / 1000,
      main,
      proc,
      main_at_1pct: frac > 0 ? (main * 0.01) / frac : null,
      proc_at_1pct: frac > 0 ? (proc * 0.01) / frac : null,
      spans: r.spans_at_collector,
      thread_cpu_ms: r.thread_cpu_ms,
      pairs,
    };
  });
  const pooled = (key, scaled) => {
    const xs = per.flatMap((p) => p.pairs.map((x) => (scaled ? x[key] * x.scale : x[key]))).filter(Number.isFinite);
    const m = mean(xs);
    const sd = Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / Math.max(1, xs.length - 1));
    const half = (1.96 * sd) / Math.sqrt(xs.length);
    return { mean: m, lo: m - half, hi: m + half, pairs: xs.length };
  };
  return {
    phase_ms: runs[0]?.phase_ms,
    warmup_s: runs[0]?.warmup_s,
    duration_s: runs[0]?.duration_s,
    publishers: runs[0]?.publishers,
    runs: per.map(({ pairs: _pairs, ...x }) => x),
    median_main: median(per.map((p) => p.main)),
    median_proc: median(per.map((p) => p.proc)),
    median_main_at_1pct: median(per.map((p) => p.main_at_1pct).filter((x) => x !== null)),
    median_proc_at_1pct: median(per.map((p) => p.proc_at_1pct).filter((x) => x !== null)),
    pooled_main: pooled('main', false),
    pooled_proc: pooled('proc', false),
    pooled_main_at_1pct: pooled('main', true),
    pooled_proc_at_1pct: pooled('proc', true),
  };
}

const pct = (v) => (v === null || v === undefined ? '' : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}%`);

const ci = (p) => `${pct(p.mean)} [${pct(p.lo)}, ${pct(p.hi)}]`;

export function observabilitySummary(x) {
  if (x.error) return `n/a: ${x.error}`;
  const inProcess = x.result.summary
    .filter((s) => s.config !== 'baseline')
    .map((s) => `${s.config} ${pct(s.main_vs_baseline)} event loop, ${pct(s.vs_baseline)} process CPU${s.vs_ratio0 === null || s.vs_ratio0 === undefined ? '' : ` (vs ratio 0: ${pct(s.main_vs_ratio0)}, ${pct(s.vs_ratio0)})`}`)
    .join('; ');
  const k = x.result.sockets;
  return `${inProcess}; over TCP, A/B at 1%: event loop ${ci(k.pooled_main_at_1pct)}, process ${ci(k.pooled_proc_at_1pct)}`;
}

/** The headline: the event-loop throughput change of tracing at 1% over TCP (negative = slower). */
export function observabilityPrimary(x) {
  return x.result?.sockets?.pooled_main_at_1pct?.mean;
}

export function renderObservabilitySection(results) {
  const x = results.observability?.holdfast;
  if (!x) return [];
  const head = '### Cost of metrics and tracing (`observability`)';
  if (x.error) return [head, '', `n/a (${x.error})`];
  const { meta, summary, sockets: k } = x.result;
  const f2 = (v) => (v === null || v === undefined ? '—' : v.toFixed(2));
  return [
    head,
    '',
    '**Tracing at 1%, the broker as it runs (over TCP).** `bench/micro/observability-sockets.mjs`: holdfast started in process (`startHoldfast`, default SQLite store, durability commit, the shipped tracing: span records, export worker, OTLP/HTTP JSON to a collector stand-in on the load generator\'s core) under the C load generator (fan-in QoS 1, ' +
      `${k.publishers?.toLocaleString('en-US')} MQTT 3.1.1 publishers, window 50 each, 64 B, one wildcard subscriber). A/B in one process: the publishers that 1% sampling picked are unsampled and sampled again every ${k.phase_ms} ms for the whole run (${k.warmup_s} s warm-up, ${k.duration_s} s measured), so both arms run the same warm code under the same load and machine speed; "off" is tracing loaded at ratio 0 (its cost: "tracing on, ratio 0" in the in-process table below). ${k.runs.length} runs, one after another, the broker's process alone on its core (the export worker too), the load generator on the other.`,
    '- Change in throughput = messages per CPU-second, "on" arm against "off" (negative: slower with tracing). The hash picks a slightly different share of publishers in each run (the load generator\'s client ids carry its pid), so the change is also given scaled to exactly 1% of the messages (linear in the traced messages). Pooled: mean over every adjacent on/off pair of phases of every run, with its 95% confidence interval.',
    '',
    '| | event loop | whole process (every thread, the export worker charged to "on") |',
    '| --- | ---: | ---: |',
    `| **tracing at 1%, pooled, scaled to 1.0% of messages traced (95% CI)** | **${ci(k.pooled_main_at_1pct)}** | **${ci(k.pooled_proc_at_1pct)}** |`,
    `| the same, as measured (${k.runs.map((r) => `${r.sampled_publishers}`).join(', ')} publishers of ${k.publishers} sampled) | ${ci(k.pooled_main)} | ${ci(k.pooled_proc)} |`,
    `| median of the runs' totals, scaled to 1.0% | ${pct(k.median_main_at_1pct)} | ${pct(k.median_proc_at_1pct)} |`,
    '',
    '| run | publishers sampled | delivered msg/s | lost | µs event loop / msg, on / off | µs process / msg, on / off | of which the export worker (µs / msg, on) | change, event loop / process | spans at the collector |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...k.runs.map(
      (r, i) =>
        `| ${i + 1} | ${r.sampled_publishers} | ${Math.round(r.delivered_per_s ?? 0).toLocaleString('en-US')} | ${r.lost ?? '—'} | ${f2(r.us_main_per_msg_on)} / ${f2(r.us_main_per_msg_off)} | ${f2(r.us_proc_per_msg_on)} / ${f2(r.us_proc_per_msg_off)} | ${r.us_worker_per_msg_on.toFixed(3)} | ${pct(r.main)} / ${pct(r.proc)} | ${r.spans} |`,
    ),
    '',
    `Where the process's CPU went in run 1 (ms, whole run): ${Object.entries(k.runs[0]?.thread_cpu_ms ?? {}).map(([t, ms]) => `${t} ${ms}`).join(', ')} ("node": V8's platform threads, mostly the garbage collector's helpers, and libuv's pool).`,
    '',
    `**Metrics, and tracing in process.** ${OBSERVABILITY_SCENARIOS.observability.title}. holdfast only. \`bench/micro/observability-cost.mjs\`: Connection + Channel over a fake wire, memory store, so the broker's own work per message is the whole denominator (with sockets it is larger and the same observability work a smaller share).`,
    `- ${meta.repeat} rounds; in each round every configuration runs at the same time in its own fresh process (${meta.warmup_ms} ms warm-up, ${meta.duration_ms} ms measured), all pinned to the broker's core: they share the core and whatever the machine does meanwhile. Node ${meta.node}.`,
    '- "event loop": CPU time of the broker\'s event-loop thread per delivered message; the broker\'s throughput is bound by it while another core is free. "process": CPU time of every thread of the process per message. Changes are the median over rounds of the throughput (messages per CPU-second) against the baseline of the same round. Fresh processes differ from each other by several percent here (JIT and heap state, and the share of a contended core), so a single figure in this table moves by about ±5% from one run of the bench to the next; the A/B above does not have that spread.',
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
