// Scenario definitions and the driver that runs the C load generator against one broker.
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { pinned } from './brokers.mjs';
import { diffCounters, has, readCoreTimes, readCpuSeconds, readRssKiB, readTcpExt, sleep } from './sys.mjs';

const dur = (quick) => (quick ? { warm: '1', run: '3' } : { warm: '2', run: '10' });

/** name -> { title, mode, args(quick) } ; durations shrink with --quick, sizes never do. */
export const SCENARIOS = {
  fanin0: {
    title: 'fan-in QoS 0 (8 pub -> 1 wildcard sub, 64 B)',
    mode: 'fanin',
    args: (q) => ['--qos', '0', '--publishers', '8', '--payload', '64',
      '--warmup-s', dur(q).warm, '--duration-s', dur(q).run, '--drain-s', '5'],
  },
  fanin1: {
    title: 'fan-in QoS 1 (8 pub -> 1 wildcard sub, 64 B, window 1000/pub)',
    mode: 'fanin',
    args: (q) => ['--qos', '1', '--publishers', '8', '--payload', '64', '--inflight', '1000',
      '--warmup-s', dur(q).warm, '--duration-s', dur(q).run, '--drain-s', '15'],
  },
  fanout: {
    title: 'fan-out (1 pub @ 100 msg/s -> 1,000 subs, QoS 0)',
    mode: 'fanout',
    args: (q) => ['--subscribers', '1000', '--rate', '100', '--qos', '0', '--payload', '64',
      '--connect-inflight', '64', '--warmup-s', dur(q).warm, '--duration-s', dur(q).run, '--drain-s', '10'],
  },
  latency: {
    title: 'QoS 1 end-to-end latency @ 5,000 msg/s (1 pub -> 1 sub)',
    mode: 'latency',
    args: (q) => ['--qos', '1', '--rate', '5000', '--payload', '64', '--inflight', '1000',
      '--warmup-s', dur(q).warm, '--duration-s', dur(q).run, '--drain-s', '5'],
  },
  idle: {
    title: 'idle connections (10,000, 64 connects in flight)',
    mode: 'idle',
    args: () => ['--connections', '10000', '--connect-inflight', '64', '--keepalive', '0',
      '--timeout-s', '60', '--hold-s', '120'],
  },
  storm: {
    title: 'connect storm (5,000 simultaneous connects)',
    mode: 'storm',
    args: () => ['--connections', '5000', '--timeout-s', '30'],
  },
};

function sample(pid) {
  return { t: Date.now(), cpu: readCpuSeconds(pid), rss: readRssKiB(pid), cores: readCoreTimes(), tcp: readTcpExt() };
}

function window(a, b, brokerCore, genCore) {
  if (!a || !b) return null;
  const wall = (b.t - a.t) / 1000;
  const bc = `cpu${brokerCore}`;
  const gc = `cpu${genCore}`;
  const brokerCpu = has(a.cpu) && has(b.cpu) ? b.cpu - a.cpu : null;
  const core = (c, f = 'busy') => (a.cores[c] && b.cores[c] ? b.cores[c][f] - a.cores[c][f] : null);
  return {
    wall_s: wall,
    broker_cpu_s: brokerCpu,
    broker_cpu_util: has(brokerCpu) && wall > 0 ? brokerCpu / wall : null,
    broker_core_busy_util: has(core(bc)) && wall > 0 ? core(bc) / wall : null,
    // kernel irq/softirq time on the broker's core (loopback TCP delivery is done there); the part
    // that ran in the broker's context is also in broker_cpu (tick accounting charges both)
    broker_core_irq_util: has(core(bc, 'irq')) && wall > 0 ? core(bc, 'irq') / wall : null,
    // busy time on the broker's core not charged to the broker: other processes on this shared
    // machine, plus irq/softirq work that interrupted the idle loop
    broker_core_other_util: has(core(bc)) && has(brokerCpu) && wall > 0
      ? Math.max(0, core(bc) - brokerCpu) / wall : null,
    gen_core_busy_util: has(core(gc)) && wall > 0 ? core(gc) / wall : null,
    tcp: diffCounters(a.tcp, b.tcp),
  };
}

/** Wait until the broker's RSS stops moving (< 0.5 % over 500 ms), at most maxMs. */
async function settledRss(pid, maxMs) {
  const end = Date.now() + maxMs;
  let prev = readRssKiB(pid);
  while (Date.now() < end) {
    await sleep(500);
    const cur = readRssKiB(pid);
    if (!has(cur)) return prev;
    if (has(prev) && Math.abs(cur - prev) <= prev * 0.005) return cur;
    prev = cur;
  }
  return prev;
}

/**
 * Run one scenario against a started broker.
 * Resolves { ok, result?, hold?, runner, error? } and never rejects.
 */
export async function runScenario(name, broker, { loadgen, quick, nice, brokerCore = 0, genCore = 1 }) {
  const sc = SCENARIOS[name];
  const args = [sc.mode, '--host', '127.0.0.1', '--port', String(broker.port), ...sc.args(quick)];
  const w = pinned(loadgen, args, { core: genCore, nice, nofile: 20000 });
  const before = sample(broker.pid);
  let ms = null;
  let me = null;
  let rssLoaded = null;
  let result = null;
  let hold = null;
  const lines = [];
  const child = spawn(w.cmd, w.args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  child.stdin.on('error', () => {});
  const hardMs = 1000 * (sc.mode === 'idle' ? 240 : sc.mode === 'storm' ? 90 : 120);
  const killer = setTimeout(() => child.kill('SIGKILL'), hardMs);
  const rl = readline.createInterface({ input: child.stdout });
  const handling = [];
  rl.on('line', (line) => {
    lines.push(line);
    if (line === '#mark measure_start') ms = sample(broker.pid);
    else if (line === '#mark measure_end') me = sample(broker.pid);
    else if (line === '#ready') {
      handling.push((async () => {
        rssLoaded = await settledRss(broker.pid, 8000);
        me = sample(broker.pid);
        child.stdin.end('release\n');
      })());
    } else if (line.startsWith('{')) {
      try {
        const j = JSON.parse(line);
        if (j.phase === 'released') hold = j;
        else result = j;
      } catch {
        /* keep raw line */
      }
    }
  });
  const code = await new Promise((r) => child.once('close', (c, s) => r(s ? `signal ${s}` : c)));
  clearTimeout(killer);
  await Promise.all(handling);
  const after = sample(broker.pid);
  const runner = {
    command: ['loadgen', ...args].join(' '),
    exit: code,
    broker_alive: broker.alive(),
    broker_rss_before_kib: before.rss,
    broker_rss_after_kib: after.rss,
    whole_run: window(before, after, brokerCore, genCore),
    measured: window(ms, me ?? after, brokerCore, genCore),
  };
  if (sc.mode === 'idle') {
    runner.broker_rss_loaded_kib = rssLoaded;
    const okConns = result?.ok ?? 0;
    runner.kib_per_conn = has(rssLoaded) && has(before.rss) && okConns > 0
      ? (rssLoaded - before.rss) / okConns : null;
    runner.measured = window(before, me, brokerCore, genCore);
  }
  if (sc.mode === 'storm') runner.measured = runner.whole_run;
  let error = null;
  if (!result) error = `loadgen produced no result (exit ${code})${stderr ? `: ${stderr.trim().slice(-300)}` : ''}`;
  else if (result.error) error = result.error;
  let brokerDied = null;
  if (!broker.alive()) {
    const ex = broker.exitInfo();
    brokerDied = `broker died during the scenario (code ${ex?.code}, signal ${ex?.signal}): ${
      broker.logTail(8).replace(/\s+/g, ' ').slice(0, 400)}`;
    if (error) error = `${error}; ${brokerDied}`;
  }
  return {
    ok: !error, result, hold, runner, error, brokerDied,
    raw: lines.filter((l) => !l.startsWith('{')).slice(-5),
  };
}
