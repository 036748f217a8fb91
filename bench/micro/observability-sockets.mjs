// Throughput cost of tracing at 1% sampling with the broker as it runs (issue 7): holdfast
// started in this process (startHoldfast, default SQLite store, TCP listener on port 0, the
// shipped tracing: span records, export worker, OTLP/HTTP JSON to a collector stand-in) under
// the C load generator (bench/loadgen: fan-in QoS 1, PUBLISHERS MQTT 3.1.1 publishers, 64 B,
// one wildcard subscriber) in its own process. `npm run build && node bench/micro/observability-sockets.mjs`;
// `npm run bench` runs it as part of the `observability` scenario (bench/lib/observability.mjs).
//
// A/B in one process: the publishers that 1% sampling picked (by the hash of their client ids)
// are unsampled and sampled again in phases of PHASE_MS on average (pairs of one "on" and one
// "off" phase in a random order, random lengths) for the whole run, so both arms run the same
// warm code, under the same load and the same machine speed (this machine's speed
// drifts by tens of percent from one minute to the next, and fresh processes differ by as much:
// comparing separate runs cannot resolve a few percent). "off" is tracing on at ratio 0 (the
// tracing loaded, nothing sampled); the cost of having it loaded at all is the in-process
// comparison of fresh processes (observability-cost.mjs: "tracing on, ratio 0" vs "baseline").
// Per arm: delivered messages, CPU of the event-loop thread (/proc schedstat, ns) and of the
// whole process (every thread; the export worker's CPU, caused by the spans of the "on" arm
// whenever it runs, is charged to that arm). Pin this process to one core (taskset) and the
// load generator to another (LOADGEN_CORE): the export worker then shares the broker's core.
// CONTROL=1: an A/A run, the same phases with nothing switched (the method's own bias and
// spread). Also recorded per arm: the garbage collections seen on the event loop.
// Output: one JSON line.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startCollectorStandIn } from '../lib/otlp-collector.mjs';

const PUBLISHERS = Number(process.env.PUBLISHERS ?? 1000);
const WARMUP_S = Number(process.env.WARMUP_S ?? 3);
const DURATION_S = Number(process.env.DURATION_S ?? 10);
const PHASE_MS = Number(process.env.PHASE_MS ?? 250);
const RATIO = Number(process.env.RATIO ?? 0.01);
const LOADGEN = process.env.LOADGEN ?? fileURLToPath(new URL('../build/loadgen', import.meta.url));
const LOADGEN_CORE = process.env.LOADGEN_CORE ?? '1';

const dist = new URL('../../dist/', import.meta.url);
const { startHoldfast } = await import(new URL('app/main.js', dist).href);

/** ns on the CPU of one thread of this process (precise, unlike the 10 ms ticks of stat). */
function threadNs(tid) {
  try {
    return Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return 0; // the thread is gone
  }
}
const threadIds = () => new Set(readdirSync('/proc/self/task'));

// The collector stand-in on the load generator's core (its CPU is not the broker's).
const collector = await startCollectorStandIn({ core: LOADGEN_CORE });

const dataDir = mkdtempSync(path.join(tmpdir(), 'holdfast-obs-sockets-'));
const before = threadIds();
const hf = await startHoldfast({
  dataDir,
  log: { level: 'fatal' },
  listeners: { bind: '127.0.0.1', mqtt: { port: 0 }, ws: { port: null } },
  http: { port: 0 },
  observability: { tracing: { otlpUrl: collector.url, sampleRatio: RATIO } },
});
const workers = [...threadIds()].filter((t) => !before.has(t)); // the export worker's thread, among others started meanwhile
const broker = hf.broker;

const args = ['fanin', '--host', '127.0.0.1', '--port', String(hf.addresses.mqtt), '--qos', '1', '--publishers', String(PUBLISHERS),
  '--inflight', '50', '--payload', '64', '--warmup-s', String(WARMUP_S), '--duration-s', String(DURATION_S), '--drain-s', '5'];
const gen = spawn('taskset', ['-c', LOADGEN_CORE, LOADGEN, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
const lines = readline.createInterface({ input: gen.stdout });

// Arms: the channels of the sampled publishers, found once all are connected.
const arms = () => ({ on: { msgs: 0, main_ns: 0, proc_ns: 0, phases: 0 }, off: { msgs: 0, main_ns: 0, proc_ns: 0, phases: 0 }, series: [] });
let acc = arms();
let sampled = [];
let arm = 'on';
let measuring = false;
const take = () => {
  const c = process.cpuUsage();
  const w = workers.reduce((x, t) => x + threadNs(t), 0);
  return { d: broker.stats.messagesDelivered, main: threadNs(process.pid), proc: (c.user + c.system) * 1000 - w, w };
};
let snap = take();
let worker0 = 0;
// Garbage collections (on the event loop: their pauses) per arm, by kind (perf_hooks: 1 minor, 4 major, 8 incremental, 16 weak callbacks).
const { PerformanceObserver } = await import('node:perf_hooks');
const gcObserver = new PerformanceObserver((list) => {
  if (!measuring) return;
  for (const e of list.getEntries()) {
    const g = (acc[arm].gc ??= {});
    const k = String(e.detail?.kind ?? e.kind);
    g[k] = [(g[k]?.[0] ?? 0) + 1, Math.round(((g[k]?.[1] ?? 0) + e.duration) * 100) / 100];
  }
});
gcObserver.observe({ entryTypes: ['gc'] });
// Phases come in pairs, one of each arm in a random order, each of a random length in
// [0.6, 1.4] x PHASE_MS: the broker's periodic work (timers of whole seconds) then falls into
// either arm alike. With fixed, alternating phases it fell into the same arm every time, and
// an A/A run (nothing switched: CONTROL=1) measured the "on" arm up to 8% dearer.
let upcoming = [];
const nextArm = () => {
  if (upcoming.length === 0) upcoming = Math.random() < 0.5 ? ['on', 'off'] : ['off', 'on'];
  return upcoming.shift();
};
const CONTROL = process.env.CONTROL === '1';
let timer;
const flip = () => {
  const now = take();
  if (measuring) {
    const a = acc[arm];
    a.msgs += now.d - snap.d;
    a.main_ns += now.main - snap.main;
    a.proc_ns += now.proc - snap.proc;
    a.phases++;
    acc.series.push([arm, now.d - snap.d, now.main - snap.main, now.proc - snap.proc]);
  }
  snap = now;
  arm = nextArm();
  if (!CONTROL) for (const ch of sampled) ch.traced = arm === 'on';
  clearTimeout(timer);
  timer = setTimeout(flip, PHASE_MS * (0.6 + 0.8 * Math.random()));
};
let result;
let spans0 = 0;
let workerNs = 0;
// Once every client is connected (and its sampling decided), switch for the rest of the run, warm-up included.
const waitConnected = setInterval(() => {
  if (broker.sessions.size <= PUBLISHERS) return;
  clearInterval(waitConnected);
  sampled = [...broker.sessions.values()].map((s) => s.sink).filter((ch) => ch?.traced === true);
  flip();
}, 20);
for await (const line of lines) {
  if (line === '#mark measure_start') {
    upcoming = []; // measured phases start with a fresh pair
    flip(); // closes the warm-up phase unmeasured
    acc = arms();
    worker0 = snap.w;
    measuring = true;
    spans0 = await collector.spans();
  } else if (line === '#mark measure_end') {
    if (upcoming.length === 0) flip(); // a pair is complete; else the half pair is left out
    measuring = false;
    clearTimeout(timer);
    for (const ch of sampled) ch.traced = true;
    workerNs = snap.w - worker0;
  } else if (line.startsWith('{')) result = JSON.parse(line);
}
await new Promise((r) => gen.once('close', r));
// CPU of every thread over the whole run (ms), by name: where the process's CPU went.
const threads = {};
for (const t of threadIds()) {
  let name = 'gone';
  try {
    name = readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim();
  } catch {
    continue;
  }
  const key = t === String(process.pid) ? 'event loop' : workers.includes(t) ? `${name} (started with the tracing)` : name;
  threads[key] = Math.round((threads[key] ?? 0) + threadNs(t) / 1e6);
}
clearInterval(waitConnected);
gcObserver.disconnect();
await hf.stop();
const spans = (await collector.spans().catch(() => NaN)) - spans0;
collector.stop();
rmSync(dataDir, { recursive: true, force: true });
process.stdout.write(
  `${JSON.stringify({
    publishers: PUBLISHERS,
    sampled_publishers: sampled.length,
    ratio: RATIO,
    phase_ms: PHASE_MS,
    control: CONTROL,
    warmup_s: WARMUP_S,
    duration_s: DURATION_S,
    loadgen: result ? { recv_rate: result.recv_rate, lost: result.lost, received: result.received } : null,
    spans_at_collector: spans,
    thread_cpu_ms: threads,
    ab: { ...acc, worker_ns: workerNs },
  })}\n`,
);
process.exit(0);
