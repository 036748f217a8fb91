// Persistent-session scenarios (issue 4): QoS 1 fan-in into offline persistent sessions,
// per holdfast durability mode and for Mosquitto with persistence on, and the same with a
// kill -9 of the broker during the publish phase, a restart on the same data and a drain.
// Driven by `loadgen persist` (bench/loadgen/loadgen.c); counts deliveries, not PUBACKs.
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { pinned, startBroker } from './brokers.mjs';
import { diffCounters, has, readCoreTimes, readCpuSeconds, readRssKiB, readTcpExt } from './sys.mjs';

/** Broker variants of the persist scenarios; `broker` is the key of brokerDefs(). */
export const PERSIST_VARIANTS = [
  { key: 'holdfast-fsync', broker: 'holdfast', title: 'holdfast fsync', variant: { durability: 'fsync' } },
  { key: 'holdfast-commit', broker: 'holdfast', title: 'holdfast commit', variant: { durability: 'commit' } },
  { key: 'holdfast-none', broker: 'holdfast', title: 'holdfast none', variant: { durability: 'none' } },
  { key: 'mosquitto', broker: 'mosquitto', title: 'mosquitto (persistence)', variant: { persistence: true } },
];

const SUBSCRIBERS = 2;
const common = ['--subscribers', String(SUBSCRIBERS), '--publishers', '8', '--payload', '64', '--inflight', '1000', '--quiet-s', '3'];

/** name -> { title, crash, args(quick), killAfterMs(quick) } */
export const PERSIST_SCENARIOS = {
  'persist-fanin': {
    title: `persistent fan-in QoS 1 (8 pub -> ${SUBSCRIBERS} offline persistent subs, 64 B, window 1000/pub, then reconnect and drain)`,
    crash: false,
    args: (q) => [...common, '--duration-s', q ? '2' : '5', '--drain-s', '180'],
  },
  'persist-crash': {
    title: 'kill -9 during persistent fan-in (as persist-fanin; SIGKILL 3 s into the publish phase, restart on the same data, drain)',
    crash: true,
    killAfterMs: (q) => (q ? 1500 : 3000),
    args: (q) => [...common, '--duration-s', q ? '5' : '10', '--expect-kill', '1', '--drain-s', '180'],
  },
};

function sample(pid) {
  return { t: Date.now(), cpu: readCpuSeconds(pid), rss: readRssKiB(pid), cores: readCoreTimes(), tcp: readTcpExt() };
}

function window(a, b, brokerCore) {
  if (!a || !b) return null;
  const wall = (b.t - a.t) / 1000;
  const bc = `cpu${brokerCore}`;
  const brokerCpu = has(a.cpu) && has(b.cpu) ? b.cpu - a.cpu : null;
  const core = (f) => (a.cores[bc] && b.cores[bc] ? b.cores[bc][f] - a.cores[bc][f] : null);
  return {
    wall_s: wall,
    broker_cpu_s: brokerCpu,
    broker_cpu_util: has(brokerCpu) && wall > 0 ? brokerCpu / wall : null,
    broker_core_busy_util: has(core('busy')) && wall > 0 ? core('busy') / wall : null,
    broker_core_irq_util: has(core('irq')) && wall > 0 ? core('irq') / wall : null,
    tcp: diffCounters(a.tcp, b.tcp),
  };
}

/**
 * Runs one persist scenario against one variant: starts the broker, runs the generator, and
 * for persist-crash kills the broker (SIGKILL) `killAfterMs` after the publish phase began,
 * restarts it on the same data dir and tells the generator the new port. Never rejects.
 */
export async function runPersist(name, pv, def, { loadgen, quick, nice, brokerCore = 0, genCore = 1 }) {
  const sc = PERSIST_SCENARIOS[name];
  let handle;
  try {
    handle = await startBroker(def, { core: brokerCore, nice, variant: pv.variant });
  } catch (e) {
    return { ok: false, startError: true, error: `broker did not start: ${e.message}` };
  }
  const first = handle;
  const args = ['persist', '--host', '127.0.0.1', '--port', String(handle.port), '--sub-id', `bench-${pv.key}`, ...sc.args(quick)];
  const w = pinned(loadgen, args, { core: genCore, nice, nofile: 20000 });
  const child = spawn(w.cmd, w.args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  child.stdin.on('error', () => {});
  const killer = setTimeout(() => child.kill('SIGKILL'), 600_000);
  const before = sample(handle.pid);
  let ms = null;
  let me = null;
  let result = null;
  const crash = { killed: null, exit: null, restartMs: null, restartError: null, brokerGone: false, portSent: null };
  let restarted = null;
  const tasks = [];
  const sendPort = () => {
    if (crash.brokerGone && restarted && crash.portSent === null) {
      crash.portSent = restarted.port;
      child.stdin.write(`port ${restarted.port}\n`);
    }
  };
  const killAndRestart = async () => {
    crash.killed = { after_ms: sc.killAfterMs(quick) };
    const t0 = Date.now();
    process.kill(first.pid, 'SIGKILL');
    await first.exited();
    crash.exit = first.exitInfo();
    try {
      restarted = await startBroker(def, { core: brokerCore, nice, variant: pv.variant, dir: first.dir });
      handle = restarted;
      crash.restartMs = Date.now() - t0;
      sendPort();
    } catch (e) {
      crash.restartError = e.message;
      child.stdin.end(); // the generator reports that it got no port
    }
  };
  const rl = readline.createInterface({ input: child.stdout });
  const lines = [];
  rl.on('line', (line) => {
    lines.push(line);
    if (line === '#mark measure_start') {
      ms = sample(first.pid);
      if (sc.crash) setTimeout(() => tasks.push(killAndRestart()), sc.killAfterMs(quick));
    } else if (line === '#mark measure_end') {
      me = sample(first.pid);
    } else if (line === '#mark broker_gone') {
      crash.brokerGone = true;
      sendPort();
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
  await Promise.all(tasks);
  const after = sample(handle.pid);
  const runner = {
    command: ['loadgen', ...args].join(' '),
    exit: code,
    broker_alive: handle.alive(),
    broker_rss_before_kib: before.rss,
    broker_rss_after_kib: after.rss,
    // the publish phase (for persist-crash: until the kill, when the counters vanish with the process)
    measured: window(ms, me ?? after, brokerCore),
    ...(sc.crash ? { crash } : {}),
  };
  let error = null;
  if (!result) error = `loadgen produced no result (exit ${code})${stderr ? `: ${stderr.trim().slice(-300)}` : ''}`;
  else if (result.error) error = result.error;
  if (sc.crash && crash.restartError) error = `${error ? `${error}; ` : ''}restart failed: ${crash.restartError}`;
  let brokerDied = null;
  if (!handle.alive()) {
    const ex = handle.exitInfo();
    brokerDied = `broker died during the scenario (code ${ex?.code}, signal ${ex?.signal}): ${handle.logTail(8).replace(/\s+/g, ' ').slice(0, 400)}`;
    if (error) error = `${error}; ${brokerDied}`;
  }
  await handle.stop();
  return { ok: !error, result, runner, error, brokerDied, variant: pv.key, raw: lines.filter((l) => !l.startsWith('{')).slice(-5) };
}

/** Variants to run for the --brokers selection (aedes has no durable persistence: not run). */
export function persistVariants(brokers) {
  return PERSIST_VARIANTS.filter((v) => brokers.includes(v.broker));
}
