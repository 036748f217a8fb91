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
  // A/B runs, and every third run an A/A control (the same switching, nothing switched): the
  // method's own bias and spread, measured alongside.
  for (let i = 0; i < (quick ? 3 : 12); i++) {
    const control = i % 3 === 2;
    const run = await runJsonChild(prefix[0], [...prefix.slice(1), process.execPath, SOCKETS_SCRIPT], { env: { ...socketEnv, CONTROL: control ? '1' : '0' } });
    if (run.error) return { ok: false, error: `observability-sockets.mjs ${run.error}` };
    sockets.push(run.result);
  }
  return { ok: true, result: { ...result, sockets_runs: sockets, wall_s: (Date.now() - started) / 1000 } };
}

const mean = (xs) => xs.reduce((a, x) => a + x, 0) / xs.length;
/** Student's t, two-sided 95%, by degrees of freedom (1-30; 1.96 beyond). */
const T95 = [NaN, 12.71, 4.3, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23, 2.2, 2.18, 2.16, 2.14, 2.13, 2.12, 2.11, 2.1, 2.09, 2.09, 2.08, 2.07, 2.07, 2.06, 2.06, 2.06, 2.05, 2.05, 2.05, 2.04];

/**
 * The sockets runs (their raw output, kept in the results file). Per run, the throughput change
 * (messages per CPU-second, "off" arm -> "on" arm; negative = slower with tracing) of the
 * event-loop thread and of the whole process; the export worker's CPU goes to the "on" arm in
 * an A/B run (its spans cause it) and half to each arm in a control run (spans in both). Over
 * the runs of a kind: the mean of the runs' log ratios with a 95% confidence interval
 * (Student's t over runs: phases within a run are not independent of each other), as a change.
 */
export function socketsSummary(runs) {
  const per = runs.map((r) => {
    const { on, off, worker_ns: workerNs } = r.ab;
    const workerOn = (r.control ? workerNs / 2 : workerNs) / on.msgs;
    const workerOff = r.control ? workerNs / 2 / off.msgs : 0;
    const mainOn = on.main_ns / on.msgs;
    const mainOff = off.main_ns / off.msgs;
    const procOn = on.proc_ns / on.msgs + workerOn;
    const procOff = off.proc_ns / off.msgs + workerOff;
    return {
      control: r.control === true,
      sampled_publishers: r.sampled_publishers,
      publishers: r.publishers,
      delivered_per_s: r.loadgen?.recv_rate ?? null,
      lost: r.loadgen?.lost ?? null,
      us_main_per_msg_on: mainOn / 1000,
      us_main_per_msg_off: mainOff / 1000,
      us_proc_per_msg_on: procOn / 1000,
      us_proc_per_msg_off: procOff / 1000,
      us_worker_per_msg_on: workerOn / 1000,
      main: mainOff / mainOn - 1,
      proc: procOff / procOn - 1,
      phases: on.phases + off.phases,
      spans: r.spans_at_collector,
      thread_cpu_ms: r.thread_cpu_ms,
    };
  });
  const over = (rows, key) => {
    const xs = rows.map((x) => Math.log1p(x[key]));
    if (xs.length === 0) return null;
    const m = mean(xs);
    const sd = Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / Math.max(1, xs.length - 1));
    const half = ((T95[xs.length - 1] ?? 1.96) * sd) / Math.sqrt(xs.length);
    return { mean: Math.expm1(m), lo: Math.expm1(m - half), hi: Math.expm1(m + half), runs: xs.length };
  };
  const ab = per.filter((x) => !x.control);
  const aa = per.filter((x) => x.control);
  const sampledShare = ab.reduce((a, x) => a + x.sampled_publishers, 0) / Math.max(1, ab.reduce((a, x) => a + x.publishers, 0));
  return {
    phase_ms: runs[0]?.phase_ms,
    warmup_s: runs[0]?.warmup_s,
    duration_s: runs[0]?.duration_s,
    publishers: runs[0]?.publishers,
    sampled_share: sampledShare,
    runs: per,
    ab_main: over(ab, 'main'),
    ab_proc: over(ab, 'proc'),
    control_main: over(aa, 'main'),
    control_proc: over(aa, 'proc'),
  };
}

const pct = (v) => (v === null || v === undefined ? '' : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}%`);

const ci = (p) => (p === null ? '—' : `${pct(p.mean)} [${pct(p.lo)}, ${pct(p.hi)}]`);

export function observabilitySummary(x) {
  if (x.error) return `n/a: ${x.error}`;
  const inProcess = x.result.summary
    .filter((s) => s.config !== 'baseline')
    .map((s) => `${s.config} ${pct(s.main_vs_baseline)} event loop, ${pct(s.vs_baseline)} process CPU${s.vs_ratio0 === null || s.vs_ratio0 === undefined ? '' : ` (vs ratio 0: ${pct(s.main_vs_ratio0)}, ${pct(s.vs_ratio0)})`}`)
    .join('; ');
  const k = socketsSummary(x.result.sockets_runs);
  return `${inProcess}; over TCP, A/B at 1%: event loop ${ci(k.ab_main)}, process ${ci(k.ab_proc)} (A/A control: ${ci(k.control_main)}, ${ci(k.control_proc)})`;
}

/** The headline: the event-loop throughput change of tracing at 1% over TCP (negative = slower). */
export function observabilityPrimary(x) {
  return x.result?.sockets_runs ? socketsSummary(x.result.sockets_runs).ab_main?.mean : undefined;
}

export function renderObservabilitySection(results) {
  const x = results.observability?.holdfast;
  if (!x) return [];
  const head = '### Cost of metrics and tracing (`observability`)';
  if (x.error) return [head, '', `n/a (${x.error})`];
  const { meta, summary } = x.result;
  const k = socketsSummary(x.result.sockets_runs);
  const f2 = (v) => (v === null || v === undefined ? '—' : v.toFixed(2));
  return [
    head,
    '',
    '**Tracing at 1%, the broker as it runs (over TCP).** `bench/micro/observability-sockets.mjs`: holdfast started in process (`startHoldfast`, default SQLite store, durability commit, the shipped tracing: span records, export worker, OTLP/HTTP JSON to a collector stand-in on the load generator\'s core) under the C load generator (fan-in QoS 1, ' +
      `${k.publishers?.toLocaleString('en-US')} MQTT 3.1.1 publishers, window 50 each, 64 B, one wildcard subscriber). A/B in one process: the publishers that 1% sampling picked are unsampled and sampled again in phases of ${k.phase_ms} ms on average (pairs of one "on" and one "off" phase in a random order, lengths random within ±40%) for the whole run (${k.warmup_s} s warm-up, ${k.duration_s} s measured), so both arms run the same warm code under the same load and machine speed; "off" is tracing loaded at ratio 0 (its cost: "tracing on, ratio 0" in the in-process table below). Every third run is an A/A control: the same phases, nothing switched (the sampled publishers stay sampled). ${k.runs.length} runs, one after another, the broker's process alone on its core (the export worker too), the load generator on the other.`,
    `- Change in throughput = messages per CPU-second, "on" arm against "off" (negative: slower with tracing), per run; below, the mean over the runs of a kind with a 95% confidence interval (Student's t over runs). The hash picked ${(k.sampled_share * 100).toFixed(2)}% of the publishers on average over the A/B runs (the load generator's client ids carry its pid, so the share differs from run to run).`,
    '',
    '| | event loop | whole process (every thread) |',
    '| --- | ---: | ---: |',
    `| **tracing at 1%: A/B, mean of ${k.ab_main?.runs ?? 0} runs (95% CI)** | **${ci(k.ab_main)}** | **${ci(k.ab_proc)}** |`,
    `| A/A control, nothing switched: mean of ${k.control_main?.runs ?? 0} runs (95% CI) | ${ci(k.control_main)} | ${ci(k.control_proc)} |`,
    '',
    '| run | kind | publishers sampled | delivered msg/s | lost | µs event loop / msg, on / off | µs process / msg, on / off | of which the export worker (µs / msg, on) | change, event loop / process | spans at the collector |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...k.runs.map(
      (r, i) =>
        `| ${i + 1} | ${r.control ? 'A/A' : 'A/B'} | ${r.sampled_publishers} | ${Math.round(r.delivered_per_s ?? 0).toLocaleString('en-US')} | ${r.lost ?? '—'} | ${f2(r.us_main_per_msg_on)} / ${f2(r.us_main_per_msg_off)} | ${f2(r.us_proc_per_msg_on)} / ${f2(r.us_proc_per_msg_off)} | ${r.us_worker_per_msg_on.toFixed(3)} | ${pct(r.main)} / ${pct(r.proc)} | ${r.spans} |`,
    ),
    '',
    `Where the process's CPU went in run 1 (ms, whole run): ${Object.entries(k.runs[0]?.thread_cpu_ms ?? {}).map(([t, ms]) => `${t} ${ms}`).join(', ')} ("node": V8's platform threads, mostly the garbage collector's helpers, and libuv's pool).`,
    '',
    `**Metrics, and tracing in process.** ${OBSERVABILITY_SCENARIOS.observability.title}. holdfast only. \`bench/micro/observability-cost.mjs\`: Connection + Channel over a fake wire, memory store, so the broker's own work per message is the whole denominator (with sockets it is larger and the same observability work a smaller share). Five processes share one core here: the rarely run tracing code is evicted from the caches between two sampled messages, and a sampled message costs many times what it costs in a loop (at 0.1% sampling the cost came out as high as at 1%). It is the worst case, not the broker as it runs.`,
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
