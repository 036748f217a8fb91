#!/usr/bin/env node
// `npm run bench`: holdfast vs Mosquitto vs Aedes, side by side, driven by the C load generator.
// Usage: npm run bench -- [--quick] [--brokers holdfast,mosquitto,aedes]
//          [--scenarios fanin0,fanin1,fanout,latency,idle,storm,persist-fanin,persist-crash,storm-admission,platform,
//                       bridges-throughput,bridges-outage-memory,observability] [--bridges-down-s 300]
//          [--nice -20] [--write|--no-write]
// See bench/README.md. Not part of `npm test`.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMISSION_SCENARIOS, admissionSummary, admissionVariants, renderAdmissionSection, runAdmission } from './lib/admission.mjs';
import { BRIDGE_SCENARIOS, bridgesSummary, bridgeVariants, renderBridgesSection, runBridges } from './lib/bridges.mjs';
import { brokerDefs, holdfastPersistSettings, mosquittoPersistConfig, startBroker } from './lib/brokers.mjs';
import { carryOver } from './lib/carry.mjs';
import { PERSIST_SCENARIOS, persistVariants, runPersist } from './lib/persist.mjs';
import { PLATFORM_SCENARIOS, platformSummary, platformVariants, renderPlatformSection, runPlatform } from './lib/platform.mjs';
import { OBSERVABILITY_SCENARIOS, observabilityPrimary, observabilitySummary, renderObservabilitySection, runObservability } from './lib/observability.mjs';
import { renderCpuTable, renderNotes, renderPersistTable, renderTable, writeBlock } from './lib/report.mjs';
import { SCENARIOS, runScenario } from './lib/scenarios.mjs';
import { commandOutput, has, hasCommand, loadAvg, sleep, sysctlTrySet } from './lib/sys.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const ALL_BROKERS = ['holdfast', 'mosquitto', 'aedes'];
const ALL_SCENARIOS = [...Object.keys(SCENARIOS), ...Object.keys(PERSIST_SCENARIOS), ...Object.keys(ADMISSION_SCENARIOS), ...Object.keys(PLATFORM_SCENARIOS), ...Object.keys(BRIDGE_SCENARIOS), ...Object.keys(OBSERVABILITY_SCENARIOS)];

function parseArgs(argv) {
  const o = { brokers: ALL_BROKERS, scenarios: ALL_SCENARIOS, quick: false, nice: -20, write: null, repeat: 1, bridgesDownS: 300,
    out: path.join(repo, 'BENCHMARKS.md') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    const list = (v, allowed, what) => {
      const xs = v.split(',').map((s) => s.trim()).filter(Boolean);
      const bad = xs.filter((x) => !allowed.includes(x));
      if (bad.length) throw new Error(`unknown ${what}: ${bad.join(', ')} (known: ${allowed.join(', ')})`);
      return xs;
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--brokers') o.brokers = list(val(), ALL_BROKERS, 'broker');
    else if (a === '--scenarios') o.scenarios = list(val(), ALL_SCENARIOS, 'scenario');
    else if (a === '--nice') o.nice = Number(val());
    else if (a === '--bridges-down-s') o.bridgesDownS = Math.max(10, Math.floor(Number(val())) || 300);
    else if (a === '--repeat') o.repeat = Math.max(1, Math.floor(Number(val())) || 1);
    else if (a === '--write') o.write = true;
    else if (a === '--no-write') o.write = false;
    else if (a === '--out') o.out = path.resolve(val());
    else if (a === '--render') o.render = path.resolve(val());
    else if (a === '--help' || a === '-h') {
      process.stdout.write(fs.readFileSync(path.join(here, 'README.md'), 'utf8'));
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (!has(o.write)) o.write = !o.quick; // quick development runs leave BENCHMARKS.md alone unless --write
  return o;
}

function buildLoadgen() {
  const src = path.join(here, 'loadgen/loadgen.c');
  const bin = path.join(here, 'build/loadgen');
  fs.mkdirSync(path.dirname(bin), { recursive: true });
  const stale = !fs.existsSync(bin) || fs.statSync(bin).mtimeMs < fs.statSync(src).mtimeMs;
  if (stale) execFileSync('cc', ['-O2', '-std=c11', '-Wall', '-o', bin, src], { stdio: 'inherit' });
  return bin;
}

const log = (m) => process.stderr.write(`${m}\n`);

function summary(sc, x) {
  if (x.error) return `n/a: ${x.error}`;
  if (ADMISSION_SCENARIOS[sc]) return admissionSummary(x);
  if (PLATFORM_SCENARIOS[sc]) return platformSummary(x);
  if (OBSERVABILITY_SCENARIOS[sc]) return observabilitySummary(x);
  if (BRIDGE_SCENARIOS[sc]) return bridgesSummary(sc, x);
  const r = x.result;
  const g = has(r.loadgen_cpu_util) ? ` (loadgen cpu ${(r.loadgen_cpu_util * 100).toFixed(0)}%)` : '';
  if (PERSIST_SCENARIOS[sc]) {
    return `acked ${r.acked} at ${Math.round(r.ack_rate)}/s, ${r.session_present}/${r.subscribers} sessions present, delivered ${
      r.delivered} (drain ${Math.round(r.drain_rate)}/s, end to end ${Math.round(r.e2e_rate)}/s), lost ${r.lost}, dups ${r.duplicates}${g}`;
  }
  switch (SCENARIOS[sc].mode) {
    case 'fanin':
      return `delivered ${Math.round(r.recv_rate)}/s, published ${Math.round(r.send_rate)}/s${
        r.qos ? `, acked ${Math.round(r.ack_rate)}/s, lost ${r.lost}` : ''}${g}`;
    case 'fanout':
      return `p50 ${r.latency_p50_ms} ms p99 ${r.latency_p99_ms} ms delivered ${(r.delivered_ratio * 100).toFixed(1)}%${g}`;
    case 'latency':
      return `p50 ${r.latency_p50_ms} ms p99 ${r.latency_p99_ms} ms p999 ${r.latency_p999_ms} ms lost ${r.lost}${g}`;
    case 'idle':
      return `${r.ok}/${r.connections} at ${Math.round(r.connect_rate)} conn/s, ${
        x.runner.kib_per_conn?.toFixed(2)} KiB/conn${g}`;
    case 'storm':
      return `${r.ok}/${r.connections} ok, p50 ${r.connect_p50_ms} ms p99 ${r.connect_p99_ms} ms${g}`;
    default:
      return 'done';
  }
}

async function runOnce(sc, def, o) {
  let handle;
  try {
    handle = await startBroker(def, { core: o.brokerCore, nice: o.nice });
  } catch (e) {
    return { ok: false, startError: true, error: `broker did not start: ${e.message}` };
  }
  let x;
  try {
    x = await runScenario(sc, handle, o);
  } catch (e) {
    x = { ok: false, error: `runner error: ${e.message}` };
  } finally {
    await handle.stop();
  }
  x.loadavg_after = loadAvg();
  return x;
}

/** With --repeat, report the run whose headline metric is the median; keep the others in `runs`. */
function pickMedian(sc, runs) {
  if (runs.length === 1) return runs[0];
  const key = PRIMARY[sc];
  const good = runs.filter((x) => !x.error && has(key(x)));
  if (!good.length) return { ...runs[runs.length - 1], runs };
  const sorted = [...good].sort((a, b) => key(a) - key(b));
  return { ...sorted[Math.floor((sorted.length - 1) / 2)], runs, repeats: runs.length };
}

const PRIMARY = {
  fanin0: (x) => x.result?.recv_rate,
  fanin1: (x) => x.result?.recv_rate,
  fanout: (x) => x.result?.latency_p99_ms,
  latency: (x) => x.result?.latency_p99_ms,
  idle: (x) => x.result?.connect_rate,
  storm: (x) => (x.result?.connect_p99_all === 'failed>1%' ? Infinity : x.result?.connect_p99_all_ms),
  'persist-fanin': (x) => x.result?.e2e_rate,
  'persist-crash': (x) => x.result?.lost,
  'storm-admission': (x) => x.result?.admitted_connect_p99_ms,
  platform: (x) => x.result?.commands?.p99_ms,
  observability: (x) => observabilityPrimary(x),
  'bridges-throughput': (x) => x.result?.sink_rate_while_publishing,
  'bridges-outage-memory': (x) => x.result?.rss_kib_slope_mib_per_min_2nd_half,
};

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.render) {
    // re-render the report from a saved raw results file (no measuring)
    const { meta, results } = JSON.parse(fs.readFileSync(opts.render, 'utf8'));
    writeBlock(opts.out, renderMarkdown(meta, results, path.relative(repo, opts.render)));
    log(`re-rendered ${path.relative(process.cwd(), opts.out) || opts.out} from ${opts.render}`);
    return;
  }
  const loadgen = buildLoadgen();
  const defs = brokerDefs(repo);
  const cores = os.cpus().length;
  const pin = cores >= 2 && hasCommand('taskset');
  if (!pin) log('warning: fewer than 2 cores or no taskset: brokers and load generator are NOT pinned');
  const brokerCore = pin ? 0 : null;
  const genCore = pin ? 1 : null;

  const sysctl = {};
  const restore = [];
  for (const name of ['net.core.somaxconn', 'net.ipv4.tcp_max_syn_backlog']) {
    sysctl[name] = sysctlTrySet(name, 8192);
    if (sysctl[name].ok && sysctl[name].before !== '8192') restore.push([name, sysctl[name].before]);
  }
  const undo = () => {
    for (const [n, v] of restore) sysctlTrySet(n, v);
    restore.length = 0;
  };
  process.on('SIGINT', () => {
    undo();
    process.exit(130);
  });

  const started = new Date();
  const meta = {
    date: started.toISOString(),
    command: process.env.npm_lifecycle_event === 'bench'
      ? `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`
      : `node bench/run.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    quick: opts.quick,
    machine: {
      nproc: cores,
      cpu: os.cpus()[0]?.model ?? '?',
      kernel: os.release(),
      memory_gib: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      cc: (commandOutput('cc', ['--version']) || '').split('\n')[0],
    },
    versions: Object.fromEntries(opts.brokers.map((b) => [b, defs[b].version()])),
    pinning: pin ? { broker_core: brokerCore, loadgen_core: genCore } : null,
    nice: opts.nice,
    repeat: opts.repeat,
    sysctl,
    loadavg_start: loadAvg(),
  };

  const results = {};
  const startFailed = {};
  // A scenario with variants (one broker per variant): opts.repeat runs of each, the median
  // kept. A variant whose broker failed to start earlier is recorded as failed when
  // `skipFailedBrokers` (the bridges variants have always run regardless).
  const runVariants = async (sc, variants, skipFailedBrokers, run) => {
    for (const v of variants) {
      if (skipFailedBrokers && startFailed[v.broker]) {
        results[sc][v.key] = { ok: false, error: startFailed[v.broker] };
        continue;
      }
      const runs = [];
      for (let k = 0; k < opts.repeat; k++) {
        log(`[${sc}] ${v.key}: starting${opts.repeat > 1 ? ` (run ${k + 1}/${opts.repeat})` : ''}`);
        const x = await run(v);
        x.loadavg_after = loadAvg();
        log(`[${sc}] ${v.key}: ${summary(sc, x)} [load ${x.loadavg_after?.join(' ')}]`);
        runs.push(x);
        if (x.startError) break;
        await sleep(1000);
      }
      results[sc][v.key] = pickMedian(sc, runs);
    }
  };
  for (const sc of opts.scenarios) {
    results[sc] = {};
    if (BRIDGE_SCENARIOS[sc]) {
      // holdfast only: one broker (and one sink) per variant (bench/lib/bridges.mjs)
      await runVariants(sc, bridgeVariants(sc, opts.brokers), false, (bv) =>
        runBridges(sc, bv, defs.holdfast, { quick: opts.quick, nice: opts.nice, brokerCore, genCore, downS: opts.bridgesDownS }),
      );
      continue;
    }
    if (OBSERVABILITY_SCENARIOS[sc]) {
      // holdfast only, in process (bench/lib/observability.mjs): no broker to start
      await runVariants(sc, opts.brokers.includes('holdfast') ? [{ key: 'holdfast', broker: 'holdfast' }] : [], true, () =>
        runObservability({ quick: opts.quick, nice: opts.nice, brokerCore, genCore, loadgen }),
      );
      continue;
    }
    if (PLATFORM_SCENARIOS[sc]) {
      // holdfast only: one broker per auth variant (bench/lib/platform.mjs)
      await runVariants(sc, platformVariants(opts.brokers), true, (pv) =>
        runPlatform(sc, pv, defs[pv.broker], { quick: opts.quick, nice: opts.nice, brokerCore, genCore }),
      );
      continue;
    }
    if (ADMISSION_SCENARIOS[sc]) {
      // holdfast with and without admission control (one broker per variant, like the persist scenarios)
      await runVariants(sc, admissionVariants(opts.brokers), true, (av) =>
        runAdmission(sc, av, defs[av.broker], { loadgen, quick: opts.quick, nice: opts.nice, brokerCore, genCore }),
      );
      continue;
    }
    if (PERSIST_SCENARIOS[sc]) {
      await runVariants(sc, persistVariants(opts.brokers), true, (pv) =>
        runPersist(sc, pv, defs[pv.broker], { loadgen, quick: opts.quick, nice: opts.nice, brokerCore, genCore }),
      );
      continue;
    }
    for (const b of opts.brokers) {
      if (startFailed[b]) {
        results[sc][b] = { ok: false, error: startFailed[b] };
        continue;
      }
      const runs = [];
      for (let k = 0; k < opts.repeat && !startFailed[b]; k++) {
        log(`[${sc}] ${b}: starting${opts.repeat > 1 ? ` (run ${k + 1}/${opts.repeat})` : ''}`);
        const x = await runOnce(sc, defs[b], { loadgen, quick: opts.quick, nice: opts.nice, brokerCore, genCore });
        if (x.startError) {
          startFailed[b] = x.error;
          log(`[${sc}] ${b}: ${x.error}`);
        } else {
          log(`[${sc}] ${b}: ${summary(sc, x)}${x.brokerDied ? ` [${x.brokerDied.slice(0, 120)}]` : ''}`);
        }
        runs.push(x);
        await sleep(1000);
      }
      results[sc][b] = pickMedian(sc, runs);
    }
  }
  undo();
  meta.loadavg_end = loadAvg();
  meta.finished = new Date().toISOString();
  // Scenarios not run this time keep the figures of the run the current BENCHMARKS.md block
  // was rendered from (named in it), so that running a subset does not drop the others.
  if (opts.write) meta.carried = carryOver(opts.out, repo, results);
  for (const sc of ALL_SCENARIOS) {
    if (!(sc in results)) continue;
    const per = results[sc]; // re-insert in the canonical order (carried ones were appended)
    delete results[sc];
    results[sc] = per;
  }

  const stamp = started.toISOString().replace(/[:]/g, '-').replace(/\..*$/, '');
  const rawDir = path.join(here, 'results');
  fs.mkdirSync(rawDir, { recursive: true });
  const rawFile = path.join(rawDir, `${stamp}.json`);
  fs.writeFileSync(rawFile, `${JSON.stringify({ meta, results }, null, 2)}\n`);
  log(`raw results: ${path.relative(repo, rawFile)}`);

  const body = renderMarkdown(meta, results, path.relative(repo, rawFile));
  if (opts.write) {
    writeBlock(opts.out, body);
    log(`updated ${path.relative(process.cwd(), opts.out) || opts.out}`);
  } else {
    process.stdout.write(`${body}\n`);
  }
}

function renderMarkdown(meta, results, rawFile) {
  const v = meta.versions;
  const sys = Object.entries(meta.sysctl)
    .map(([k, s]) => `\`${k}\` ${s.before} -> ${s.after}${s.ok ? '' : ` (could not set: ${s.error ?? 'unchanged'})`}`)
    .join(', ');
  const notes = renderNotes(results);
  const carried = Object.entries(meta.carried ?? {});
  const bySource = new Map();
  for (const [sc, c] of carried) {
    const k = JSON.stringify(c);
    bySource.set(k, [...(bySource.get(k) ?? []), sc]);
  }
  const carriedLines = [...bySource].map(([k, scs]) => {
    const c = JSON.parse(k);
    return `- Not re-measured in this run, carried over unchanged: ${scs.map((x) => `\`${x}\``).join(', ')} from the run of ${c.date} (\`${
      c.command}\`, holdfast ${c.versions?.holdfast ?? '?'}, load average ${c.loadavg_start?.join(' ')} at start, ${c.loadavg_end?.join(' ')} at end; raw \`${c.raw}\`)`;
  });
  const mainScenarios = Object.keys(results).some((sc) => SCENARIOS[sc]);
  const persist = renderPersistTable(results);
  const admission = renderAdmissionSection(results);
  const platform = renderPlatformSection(results);
  const observability = renderObservabilitySection(results);
  const bridges = renderBridgesSection(results);
  return [
    '## Side by side: holdfast vs Mosquitto vs Aedes (`npm run bench`)',
    '',
    `- Date: ${meta.date}${meta.quick ? ' — **quick mode (short durations), development figures only**' : ''}`,
    `- Command: \`${meta.command}\``,
    `- Machine: ${meta.machine.nproc} cores (${meta.machine.cpu}), ${meta.machine.memory_gib} GiB, Linux ${
      meta.machine.kernel}, Node ${meta.machine.node}`,
    `- Brokers: holdfast ${v.holdfast ?? '(not run)'}, Mosquitto ${v.mosquitto ?? '(not run)'} (stock config, private listener), Aedes ${
      v.aedes ?? '(not run)'} (in-memory persistence, bench/brokers/aedes-server.mjs)`,
    `- Pinning: ${meta.pinning ? `broker \`taskset -c ${meta.pinning.broker_core}\`, load generator \`taskset -c ${
      meta.pinning.loadgen_core}\`` : 'none (fewer than 2 cores)'}${meta.nice ? `, both \`nice -n ${meta.nice}\`` : ''}; a fresh broker process per scenario run; each scenario runs on all brokers before the next scenario${
      meta.repeat > 1 ? `; every scenario ${meta.repeat} times per broker, the run with the median headline figure is shown` : ''}`,
    `- Load generator: bench/loadgen/loadgen.c (C11, epoll, one thread, MQTT 3.1.1), ${meta.machine.cc}`,
    `- sysctl: ${sys} (restored afterwards)`,
    `- Load average (1/5/15 min) at start: ${meta.loadavg_start?.join(' ')}, at end: ${meta.loadavg_end?.join(' ')} — the machine is shared; see "broker core busy, not charged to the broker" below`,
    ...carriedLines,
    ...(mainScenarios
      ? [
          '',
          renderTable(results),
          '',
          'Ratios are holdfast divided by the other broker (for latency, memory and failures lower is better).',
        ]
      : []),
    ...(persist ? ['', ...renderPersistSection(results, persist)] : []),
    ...(admission.length ? ['', ...admission] : []),
    ...(platform.length ? ['', ...platform] : []),
    ...(observability.length ? ['', ...observability] : []),
    ...(bridges.length ? ['', ...bridges] : []),
    '',
    '"—" = not run; "n/a" = failed or not measurable (reason below); † = broker process died during the scenario.',
    ...(notes ? ['', 'Notes:', '', notes] : []),
    '',
    '### CPU during the measured window',
    '',
    renderCpuTable(results),
    '',
    'Shares of one core (100% = one core busy) over the measured window; idle: connect phase plus RSS settling;',
    'storm: the whole storm. Load generator CPU is getrusage of the generator itself (its core is otherwise idle',
    'unless other work runs there). "Busy, not charged to the broker" is the broker core\'s busy time minus the',
    'broker\'s CPU: mostly other processes on this shared machine, which the broker had to share its core with',
    '(a large value means the row is contaminated). "irq+softirq" is kernel interrupt time on the broker\'s core',
    '(loopback TCP delivery runs there); when it interrupted the broker it is also counted in broker CPU.',
    '',
    `Raw results: \`${rawFile}\` (tracked in git: the next run carries rows over from it).`,
  ].join('\n');
}

function renderPersistSection(results, table) {
  const perRun = [];
  for (const sc of Object.keys(PERSIST_SCENARIOS)) {
    for (const [k, x] of Object.entries(results[sc] ?? {})) {
      if (x.loadavg_after) perRun.push(`${sc}/${k} ${x.loadavg_after.join(' ')}`);
    }
  }
  const crash = results['persist-crash'] ?? {};
  const restarts = Object.entries(crash)
    .filter(([, x]) => has(x.runner?.crash?.restartMs))
    .map(([k, x]) => `${k} ${(x.runner.crash.restartMs / 1000).toFixed(1)} s`);
  return [
    '### Persistent sessions: fan-in into offline sessions, and kill -9 (`persist-fanin`, `persist-crash`)',
    '',
    `- \`persist-fanin\`: ${PERSIST_SCENARIOS['persist-fanin'].title}. Two MQTT 3.1.1 subscribers with clean session 0 and fixed client ids subscribe to \`bench/+/x\` (QoS 1) and disconnect; 8 publishers publish QoS 1 for the publish phase (5 s; 2 s with --quick) into the offline sessions; when every PUBACK is in, the subscribers reconnect (clean session 0, no SUBSCRIBE) and receive until every acked message arrived (or 3 s without a message). Every figure counts **deliveries** (message x subscriber) matched per message id against the PUBACKs: "delivered end to end" = deliveries of acked messages / (publish phase + drain time).`,
    `- \`persist-crash\`: the same, but the broker gets SIGKILL 3 s into the publish phase (1.5 s with --quick), is restarted on the same data dir (new port), and the subscribers reconnect to it. "lost" = acked by the broker before the kill, never delivered after the restart.${
      restarts.length ? ` Restart (kill -> port open): ${restarts.join(', ')}.` : ''}`,
    `- holdfast: one broker per durability mode, config file with ${Object.entries(holdfastPersistSettings('<mode>')).map(([k, v]) => `\`${k}: ${v}\``).join(', ')} (queue limit raised: the default 10,000 would drop the oldest of the backlog), everything else default (maxInMemoryQueued 1,000: the backlog lives on disk).`,
    `- Mosquitto: stock config plus \`${mosquittoPersistConfig('<tmp dir>').replace(/\n/g, '; ')}\`; \`autosave_interval\` left at its default (1800 s), \`max_inflight_messages\` at its default (20). Aedes is not run here (in-memory persistence only).`,
    `- Load average after each run: ${perRun.join('; ') || 'n/a'}.`,
    '',
    table,
  ];
}

main().catch((e) => {
  log(`bench failed: ${e instanceof Error && /^(unknown|--)/.test(e.message) ? e.message : e.stack || e}`);
  process.exit(1);
});
