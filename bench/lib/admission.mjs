// Connection admission under a reconnect storm (issue 6): the storm scenario run against
// holdfast with and without admission control (admission.connectRatePerListenerPerS).
// 5,000 MQTT 5 clients connect at once (`loadgen storm`); a client refused with a CONNACK
// reason code reconnects after a random 1-3 s, as a device fleet does after a power cut,
// until the storm window closes. Reported per variant: connect time of the ADMITTED attempts,
// how long until every client was in, refusals by reason code, sockets closed without a
// CONNACK, and the broker's event-loop lag, read from the broker process itself:
// prom-client's nodejs_eventloop_lag_* on its /metrics (a perf_hooks histogram that each
// scrape resets: scraped right before and right after the storm), plus a /livez round trip
// every 100 ms during the storm (served by the same event loop; probed from a child process at the
// broker's nice level).
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { holdfastHttpPort, pinned, startBroker } from './brokers.mjs';
import { diffCounters, has, readCoreTimes, readCpuSeconds, readRssKiB, readTcpExt, sleep } from './sys.mjs';

/**
 * prom-client's event-loop histogram (src/observability/metrics/process-metrics.ts,
 * eventLoopMonitoringPrecision 20) records the time between its 20 ms ticks, not the delay
 * beyond them: an idle loop reads ~20 ms. The lag rows subtract it.
 */
export const ELD_TICK_MS = 20;
const beyondTick = (v) => (typeof v === 'number' && Number.isFinite(v) ? Math.max(0, v - ELD_TICK_MS) : null);

export const ADMISSION_RATE = 500;
export const ADMISSION_BURST = 250;

/** name -> { title, args(quick) } */
export const ADMISSION_SCENARIOS = {
  'storm-admission': {
    title: 'reconnect storm with and without admission control (5,000 MQTT 5 connects at once, refused clients retry after 1-3 s)',
    // --quick: an 8 s storm window (the admission variant then cannot admit everyone: 250 + 500/s x 8 s)
    args: (q) => ['--connections', '5000', '--mqtt', '5', '--retry-ms', '1000', '--retry-max-ms', '3000',
      '--storm-s', q ? '8' : '20', '--timeout-s', q ? '15' : '30', '--timeline-ms', '100', '--hold', '1', '--hold-s', '60'],
  },
};

export const ADMISSION_VARIANTS = [
  { key: 'holdfast-default', broker: 'holdfast', title: 'holdfast default (no connect rate limit)', variant: {} },
  {
    key: 'holdfast-admission',
    broker: 'holdfast',
    title: `holdfast admission ${ADMISSION_RATE}/s (burst ${ADMISSION_BURST})`,
    variant: {
      settings: {
        'admission.connectRatePerListenerPerS': ADMISSION_RATE,
        'admission.connectBurstPerListener': ADMISSION_BURST,
      },
    },
  },
];

export function admissionVariants(brokers) {
  return ADMISSION_VARIANTS.filter((v) => brokers.includes(v.broker));
}

function sample(pid) {
  return { t: Date.now(), cpu: readCpuSeconds(pid), rss: readRssKiB(pid), cores: readCoreTimes(), tcp: readTcpExt() };
}

function window(a, b, brokerCore, genCore) {
  if (!a || !b) return null;
  const wall = (b.t - a.t) / 1000;
  const core = (c, f) => (a.cores[c] && b.cores[c] ? b.cores[c][f] - a.cores[c][f] : null);
  const brokerCpu = has(a.cpu) && has(b.cpu) ? b.cpu - a.cpu : null;
  const bc = `cpu${brokerCore}`;
  return {
    wall_s: wall,
    broker_cpu_s: brokerCpu,
    broker_cpu_util: has(brokerCpu) && wall > 0 ? brokerCpu / wall : null,
    broker_core_busy_util: has(core(bc, 'busy')) && wall > 0 ? core(bc, 'busy') / wall : null,
    broker_core_irq_util: has(core(bc, 'irq')) && wall > 0 ? core(bc, 'irq') / wall : null,
    gen_core_busy_util: has(core(`cpu${genCore}`, 'busy')) && wall > 0 ? core(`cpu${genCore}`, 'busy') / wall : null,
    tcp: diffCounters(a.tcp, b.tcp),
  };
}

async function get(url, timeoutMs = 5000) {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, text: await res.text() };
}

/** Reads a metric sample from Prometheus text (first line matching name{labels} exactly). */
function metric(text, name, labels = '') {
  const re = new RegExp(`^${name}${labels ? `\\{${labels.replace(/[{}]/g, '\\$&')}\\}` : ''} ([0-9.eE+-]+)$`, 'm');
  const m = re.exec(text);
  return m ? Number(m[1]) : null;
}

function lagFrom(text) {
  const s = (n) => metric(text, n);
  const ms = (v) => (has(v) ? v * 1000 : null);
  return {
    eld_max_ms: ms(s('nodejs_eventloop_lag_max_seconds')),
    eld_p99_ms: ms(s('nodejs_eventloop_lag_p99_seconds')),
    eld_p50_ms: ms(s('nodejs_eventloop_lag_p50_seconds')),
    eld_mean_ms: ms(s('nodejs_eventloop_lag_mean_seconds')),
  };
}

/**
 * GET /livez every `everyMs` until stopped, from a child process at the broker's nice level
 * (bench/lib/livez-probe.mjs): the runner itself runs at nice 0 and would measure its own
 * scheduling delays next to the -20 broker and generator.
 */
function livezProbe(base, everyMs, nice) {
  const args = [fileURLToPath(new URL('./livez-probe.mjs', import.meta.url)), `${base}/livez`, String(everyMs)];
  const chain = nice ? ['nice', ['-n', String(nice), process.execPath, ...args]] : [process.execPath, args];
  const child = spawn(chain[0], chain[1], { stdio: ['pipe', 'pipe', 'ignore'] });
  child.stdin.on('error', () => {});
  let out = '';
  let onReady = () => {};
  const ready = new Promise((r) => (onReady = r));
  child.stdout.on('data', (d) => {
    out += d;
    if (out.includes('#ready')) onReady();
  });
  const closed = new Promise((r) => child.once('close', r));
  return {
    /** Resolves once the probe has made its first (uncounted) request, or after 5 s. */
    ready: () => Promise.race([ready, closed, sleep(5000)]),
    async stop() {
      child.stdin.end();
      await Promise.race([closed, sleep(10_000)]);
      try {
        return JSON.parse(out.trim().split('\n').pop());
      } catch {
        return { livez_error: 'probe gave no result' };
      }
    },
  };
}

/** Runs one variant: fresh broker, /metrics scrape, storm (+ /livez probe), /metrics scrape, stop. Never rejects. */
export async function runAdmission(name, av, def, { loadgen, quick, nice, brokerCore = 0, genCore = 1 }) {
  const sc = ADMISSION_SCENARIOS[name];
  let handle;
  let probe;
  try {
    handle = await startBroker(def, { core: brokerCore, nice, variant: av.variant });
  } catch (e) {
    return { ok: false, startError: true, error: `broker did not start: ${e.message}` };
  }
  try {
    const port = await holdfastHttpPort(handle);
    if (!has(port)) return { ok: false, error: 'no HTTP port in the broker log (needs a holdfast that logs "listening" with ports.http)' };
    const base = `http://127.0.0.1:${port}`;
    probe = livezProbe(base, 100, nice);
    await probe.ready();
    await get(`${base}/metrics`); // resets the event-loop delay histogram: the next scrape covers the storm only
    const args = ['storm', '--host', '127.0.0.1', '--port', String(handle.port), ...sc.args(quick)];
    const w = pinned(loadgen, args, { core: genCore, nice, nofile: 20000 });
    const before = sample(handle.pid);
    const child = spawn(w.cmd, w.args, { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.on('error', () => {});
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr = (stderr + d).slice(-4000);
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    let result = null;
    let after = null;
    let livez = {};
    let lag = {};
    const refusals = {};
    const lines = [];
    // After its result the generator holds its connections ("#ready") until released: the
    // broker's figures are read first, so that 5,000 sockets closing at its exit are not in them.
    const readFigures = async () => {
      after = sample(handle.pid);
      livez = await probe.stop();
      try {
        const text = (await get(`${base}/metrics`, 10000)).text;
        lag = lagFrom(text);
        for (const cause of ['listener-rate', 'overload', 'max-connections', 'banned']) {
          refusals[cause] = metric(text, 'holdfast_limiter_refusals_total', `limiter="admission:${cause}"`);
        }
      } catch (e) {
        lag = { error: `metrics scrape failed: ${e.message}` };
      }
    };
    let reading = null;
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      if (line === '#ready') {
        reading = readFigures().finally(() => child.stdin.end('release\n'));
      } else if (line.startsWith('{')) {
        try {
          result = JSON.parse(line);
        } catch {
          /* keep the raw line */
        }
      }
    });
    const code = await new Promise((r) => child.once('close', (c, s) => r(s ? `signal ${s}` : c)));
    clearTimeout(killer);
    if (reading) await reading;
    else await readFigures(); // no "#ready" (an older or failed generator): read them now
    const runner = {
      command: ['loadgen', ...args].join(' '),
      exit: code,
      broker_alive: handle.alive(),
      broker_rss_before_kib: before.rss,
      broker_rss_after_kib: after.rss,
      measured: window(before, after, brokerCore, genCore),
      lag: { ...lag, ...livez },
      broker_refusals: refusals,
    };
    let error = null;
    if (!result) error = `loadgen produced no result (exit ${code})${stderr ? `: ${stderr.trim().slice(-300)}` : ''}`;
    else if (result.error) error = result.error;
    let brokerDied = null;
    if (!handle.alive()) {
      const ex = handle.exitInfo();
      brokerDied = `broker died during the scenario (code ${ex?.code}, signal ${ex?.signal}): ${handle.logTail(8).replace(/\s+/g, ' ').slice(0, 400)}`;
      if (error) error = `${error}; ${brokerDied}`;
    }
    return { ok: !error, result, runner, error, brokerDied, variant: av.key, raw: lines.filter((l) => !l.startsWith('{')).slice(-5) };
  } catch (e) {
    return { ok: false, error: `runner error: ${e.message}` };
  } finally {
    await probe?.stop(); // already stopped normally; this is for the error paths
    await handle.stop();
  }
}

const code = (x, c) => x.result?.connack_codes?.[String(c)] ?? 0;

export function admissionSummary(x) {
  if (x.error) return `n/a: ${x.error}`;
  const r = x.result;
  const l = x.runner.lag ?? {};
  const f = (v, d = 0) => (has(v) ? v.toFixed(d) : 'n/a');
  return `${r.ok}/${r.connections} admitted (last at ${f(r.admitted_last_ms / 1000, 1)} s), ${r.attempts} attempts, 0x9F ${code(x, 0x9f)}, 0x89 ${
    code(x, 0x89)}, no CONNACK ${r.no_connack}; admitted connect p50 ${f(r.admitted_connect_p50_ms, 1)} ms p99 ${f(r.admitted_connect_p99_ms, 1)} ms; lag max ${
    f(beyondTick(l.eld_max_ms), 1)} ms p99 ${f(beyondTick(l.eld_p99_ms), 1)} ms, /livez p99 ${f(l.livez_p99_ms, 1)} ms max ${f(l.livez_max_ms, 1)} ms`;
}

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const msFmt = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const intFmt = (v) => String(Math.round(v));
const pctFmt = (v) => `${Math.round(v * 100)}%`;

const ADMISSION_ROWS = [
  { metric: 'clients admitted (of 5,000) by the end of the storm', get: (x) => num(x.result?.ok), fmt: intFmt },
  { metric: 'connect time of admitted attempts, p50 (ms)', get: (x) => num(x.result?.admitted_connect_p50_ms), fmt: msFmt },
  { metric: 'connect time of admitted attempts, p99 (ms)', get: (x) => num(x.result?.admitted_connect_p99_ms), fmt: msFmt },
  { metric: 'last client admitted after (s)', get: (x) => (has(num(x.result?.admitted_last_ms)) ? x.result.admitted_last_ms / 1000 : null), fmt: (v) => v.toFixed(1) },
  { metric: 'connect attempts (first tries + retries)', get: (x) => num(x.result?.attempts), fmt: intFmt },
  { metric: 'refused: 0x9F connection rate exceeded', get: (x) => (x.result ? code(x, 0x9f) : null), fmt: intFmt },
  { metric: 'refused: 0x89 server busy (overload)', get: (x) => (x.result ? code(x, 0x89) : null), fmt: intFmt },
  { metric: 'refused with another code', get: (x) => (x.result ? Object.entries(x.result.connack_codes ?? {}).reduce((n, [c, k]) => n + (['0', '159', '137'].includes(c) ? 0 : k), 0) : null), fmt: intFmt },
  { metric: 'closed or timed out without a CONNACK', get: (x) => num(x.result?.no_connack), fmt: intFmt },
  { metric: 'broker event-loop lag over the storm, max (ms)', get: (x) => beyondTick(x.runner?.lag?.eld_max_ms), fmt: msFmt },
  { metric: 'broker event-loop lag over the storm, p99 (ms)', get: (x) => beyondTick(x.runner?.lag?.eld_p99_ms), fmt: msFmt },
  { metric: 'GET /livez round trip every 100 ms, p99 (ms)', get: (x) => num(x.runner?.lag?.livez_p99_ms), fmt: msFmt },
  { metric: 'GET /livez round trip, max (ms)', get: (x) => num(x.runner?.lag?.livez_max_ms), fmt: msFmt },
  { metric: 'broker CPU over the storm (share of one core)', get: (x) => num(x.runner?.measured?.broker_cpu_util), fmt: pctFmt },
];

export function renderAdmissionSection(results) {
  const per = results['storm-admission'];
  if (!per) return [];
  const cols = ADMISSION_VARIANTS.map((v) => [v.key, v.title]);
  const out = [
    '### Reconnect storm with and without admission control (`storm-admission`)',
    '',
    `- ${ADMISSION_SCENARIOS['storm-admission'].title}: \`loadgen storm --connections 5000 --mqtt 5 --retry-ms 1000 --retry-max-ms 3000 --storm-s 20\` (8 s with --quick). Every attempt is counted: admitted (CONNACK 0x00), refused with a reason code (the client retries), or closed without a CONNACK (a failure).`,
    `- holdfast default: \`holdfast start\` with no config file (admission.connectRatePerListenerPerS 0 = no limit; overload shedding on with its defaults, 0x89 above 1 s of event-loop lag). holdfast admission: the same plus \`admission.connectRatePerListenerPerS: ${ADMISSION_RATE}\`, \`admission.connectBurstPerListener: ${ADMISSION_BURST}\` (by design the 5,000 are then in after about (5,000 - ${ADMISSION_BURST}) / ${ADMISSION_RATE} = ${((5000 - ADMISSION_BURST) / ADMISSION_RATE).toFixed(1)} s plus the retry delays).`,
    '- Connect time: from connect() to CONNACK of the attempt that was admitted (a refused attempt and its retry delay are not in it; the time until the last client was in is its own row). Lag: prom-client `nodejs_eventloop_lag_max_seconds` / `_p99_seconds` from the broker\'s /metrics (perf_hooks histogram, reset by the scrape just before the storm, read by the scrape just after; it records the time between its 20 ms ticks, so ' + ELD_TICK_MS + ' ms are subtracted: an idle loop shows 0); `/livez` round trips from a probe process (bench/lib/livez-probe.mjs, same nice level as the broker, not pinned), which also include the probe\'s own scheduling.',
    `- Load average after each run: ${Object.entries(per).map(([k, x]) => `${k} ${x.loadavg_after?.join(' ') ?? 'n/a'}`).join('; ')}.`,
    '',
    `| metric | ${cols.map(([, t]) => t).join(' | ')} |`,
    `| --- | ${cols.map(() => '---:').join(' | ')} |`,
  ];
  for (const row of ADMISSION_ROWS) {
    const cells = cols.map(([k]) => {
      const x = per[k];
      if (!x) return '—';
      if (x.error) return `n/a (${String(x.error).replace(/\s+/g, ' ').slice(0, 50)})`;
      const v = row.get(x);
      return has(v) ? `${row.fmt(v)}${x.brokerDied ? ' †' : ''}` : 'n/a';
    });
    out.push(`| ${row.metric} | ${cells.join(' | ')} |`);
  }
  return out;
}
