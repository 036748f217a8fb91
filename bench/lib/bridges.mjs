// Northbound bridges under load (issue 9), holdfast only:
// - `bridges-throughput`: sustained routed throughput per sink with a healthy sink. 8
//   publishers (bench/lib/bridges-publish.mjs, pinned to the load generator's core) publish
//   QoS 1, 64 B, as fast as the PUBACKs allow for 10 s (3 s with --quick) on telemetry/+,
//   routed to one sink: http (bench/lib/bridges-receiver.mjs, a node:http webhook pinned
//   next to the publishers), nats (the machine's nats-server, a JetStream file stream of
//   its own) or postgres (the machine's PostgreSQL, a schema of its own). Measured: the
//   publishers' acknowledged rate, the sink's acknowledged rate while publishing and end
//   to end (until the outbox is empty), the peak outbox depth; what arrived is counted at
//   the sink.
// - `bridges-outage-memory`: broker memory while the sink is down under load. The webhook
//   is not listening; the publishers publish 2,000 QoS 1 messages/s for --bridges-down-s
//   seconds (default 300 = the 5 minutes of the issue; 30 with --quick); broker RSS (from
//   /proc) and V8 heap used (from /metrics) are sampled every 5 s with the outbox depth.
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { holdfastHttpPort, pinned, startBroker } from './brokers.mjs';
import { freePort, has, readCpuSeconds, readRssKiB, sleep } from './sys.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const TOKEN = 'bench-bridges-read-token-0123456789';
const PG_URL = process.env.HOLDFAST_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const NATS_URL = process.env.HOLDFAST_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const PUBLISHERS = 8;
const WINDOW = 100;
const PAYLOAD = 64;
export const OUTAGE_RATE = 2000;

export const BRIDGE_SCENARIOS = {
  'bridges-throughput': { title: 'routed QoS 1 throughput to one healthy sink (8 publishers, 64 B, window 100 each)' },
  'bridges-outage-memory': { title: `broker memory while the webhook is down, ${OUTAGE_RATE.toLocaleString('en-US')} QoS 1 msg/s routed to it` },
};

export const BRIDGE_VARIANTS = {
  'bridges-throughput': [
    { key: 'http', title: 'HTTP webhook (batch mode)' },
    { key: 'nats', title: 'NATS JetStream' },
    { key: 'postgres', title: 'PostgreSQL' },
  ],
  'bridges-outage-memory': [{ key: 'http-down', title: 'HTTP webhook down' }],
};

export function bridgeVariants(sc, brokers) {
  return brokers.includes('holdfast') ? BRIDGE_VARIANTS[sc] : [];
}

/** The sink settings beyond the defaults (quoted in BENCHMARKS.md): none but where it goes. */
function configText(sink) {
  return JSON.stringify({
    http: { tokens: [{ token: TOKEN, role: 'read' }] },
    platform: { enabled: false },
    bridges: { instanceId: 'bench', sinks: [sink], routes: [{ filter: 'telemetry/+', sink: sink.name }] },
  });
}

async function getJson(url, token) {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return res.json();
}

async function heapUsed(base) {
  const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const m = /^nodejs_heap_size_used_bytes (\S+)/m.exec(await res.text());
  return m ? Number(m[1]) : null;
}

function spawnPinned(script, args, { core, nice }) {
  const w = pinned(process.execPath, [path.join(here, script), ...args], { core, nice });
  const child = spawn(w.cmd, w.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { lines: [], err: '' };
  readline.createInterface({ input: child.stdout }).on('line', (l) => out.lines.push(l));
  child.stderr.on('data', (d) => (out.err = (out.err + d).slice(-2000)));
  const closed = new Promise((r) => child.once('close', r));
  return { child, out, closed };
}

/** The sink of a variant, started: its config entry, how many messages it holds, and cleanup. */
async function openSink(key, { core, nice }) {
  const id = `${process.pid}_${Date.now().toString(36)}`;
  if (key === 'http') {
    const rx = spawnPinned('bridges-receiver.mjs', [], { core, nice });
    const end = Date.now() + 10_000;
    while (rx.out.lines.length === 0 && Date.now() < end) await sleep(20);
    const port = JSON.parse(rx.out.lines[0] ?? '{}').port;
    if (!port) throw new Error(`webhook receiver did not start: ${rx.out.err}`);
    return {
      config: { name: 'bench', kind: 'http', http: { url: `http://127.0.0.1:${port}/hook` } },
      count: async () => (await getJson(`http://127.0.0.1:${port}/stats`)).messages,
      close: async () => {
        rx.child.kill('SIGTERM');
        await rx.closed;
      },
    };
  }
  if (key === 'nats') {
    const { connect } = await import('nats');
    const nc = await connect({ servers: NATS_URL });
    const jsm = await nc.jetstreamManager();
    const stream = `HF_BENCH_${id}`.toUpperCase();
    await jsm.streams.add({ name: stream, subjects: [`hfbench.${id}.>`] });
    return {
      config: { name: 'bench', kind: 'nats', nats: { servers: [NATS_URL], subjectTemplate: `hfbench.${id}.{topic}`, stream } },
      count: async () => (await jsm.streams.info(stream)).state.messages,
      close: async () => {
        await jsm.streams.delete(stream).catch(() => undefined);
        await nc.close();
      },
    };
  }
  if (key === 'postgres') {
    const pg = (await import('pg')).default;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    const schema = `hf_bench_${id}`;
    const u = new URL(PG_URL);
    return {
      config: {
        name: 'bench',
        kind: 'postgres',
        postgres: { host: u.hostname, port: Number(u.port || 5432), database: u.pathname.slice(1), user: decodeURIComponent(u.username), schema, createTable: true },
      },
      count: async () => Number((await admin.query(`SELECT count(*) AS n FROM ${schema}.holdfast_messages`).catch(() => ({ rows: [{ n: 0 }] }))).rows[0].n),
      close: async () => {
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
        await admin.end();
      },
    };
  }
  // http-down: a port nothing listens on.
  const port = await freePort();
  return { config: { name: 'bench', kind: 'http', http: { url: `http://127.0.0.1:${port}/hook` } }, count: async () => 0, close: async () => {} };
}

export async function runBridges(sc, v, def, { quick, nice, brokerCore = 0, genCore = 1, downS = 300 }) {
  let sink;
  let handle;
  try {
    sink = await openSink(v.key, { core: genCore, nice });
    handle = await startBroker(def, { core: brokerCore, nice, variant: { configText: configText(sink.config) } });
  } catch (e) {
    await sink?.close().catch(() => undefined);
    return { ok: false, startError: true, error: `did not start: ${e.message}` };
  }
  try {
    const port = await holdfastHttpPort(handle);
    if (!port) return { ok: false, error: 'no HTTP port in the log' };
    const base = `http://127.0.0.1:${port}`;
    const status = async () => (await getJson(`${base}/api/bridges`, TOKEN)).sinks[0];
    return sc === 'bridges-throughput'
      ? await throughput(handle, base, status, sink, { quick, nice, genCore })
      : await outage(handle, base, status, { quick, nice, genCore, downS });
  } catch (e) {
    return { ok: false, error: `runner error: ${e.message}` };
  } finally {
    await handle.stop();
    await sink.close().catch(() => undefined);
  }
}

async function throughput(handle, base, status, sink, { quick, nice, genCore }) {
  const seconds = quick ? 3 : 10;
  const t0 = Date.now();
  const cpu0 = readCpuSeconds(handle.pid);
  const pub = spawnPinned('bridges-publish.mjs', [String(handle.port), String(PUBLISHERS), String(seconds), '0', String(WINDOW), String(PAYLOAD)], { core: genCore, nice });
  let peak = 0;
  let ackedAtEnd = null;
  let tEnd = null;
  const poll = async () => {
    const s = await status();
    peak = Math.max(peak, s.outbox.messages);
    return s;
  };
  while (pub.child.exitCode === null) {
    await Promise.race([pub.closed, sleep(500)]);
    const s = await poll();
    if (pub.child.exitCode !== null && ackedAtEnd === null) {
      ackedAtEnd = s.totals.acked;
      tEnd = Date.now();
    }
  }
  await pub.closed;
  const p = JSON.parse(pub.out.lines.at(-1) ?? '{}');
  if (p.error || !has(p.acked)) return { ok: false, error: `publishers: ${p.error ?? pub.out.err.slice(-300)}` };
  ackedAtEnd ??= (await poll()).totals.acked;
  tEnd ??= Date.now();
  const drainDeadline = Date.now() + 180_000;
  let s = await poll();
  while (s.outbox.messages > 0 && Date.now() < drainDeadline) {
    await sleep(200);
    s = await poll();
  }
  const tDrained = Date.now();
  const cpu1 = readCpuSeconds(handle.pid);
  const arrived = await sink.count();
  const wall = (tDrained - t0) / 1000;
  return {
    ok: true,
    result: {
      publishers: PUBLISHERS,
      publish_s: seconds,
      published_acked: p.acked,
      publish_ack_rate: p.ack_rate,
      sink_rate_while_publishing: ackedAtEnd / ((tEnd - t0) / 1000),
      sink_acked: s.totals.acked,
      end_to_end_s: wall,
      end_to_end_rate: s.totals.acked / wall,
      drain_s: (tDrained - tEnd) / 1000,
      sink_rate_draining: tDrained > tEnd ? (s.totals.acked - ackedAtEnd) / ((tDrained - tEnd) / 1000) : null,
      outbox_peak: peak,
      outbox_left: s.outbox.messages,
      batches: s.totals.batches,
      batch_failures: s.totals.batchFailures,
      arrived_at_sink: arrived,
      broker_cpu_util: has(cpu0) && has(cpu1) ? (cpu1 - cpu0) / wall : null,
      broker_rss_kib: readRssKiB(handle.pid),
    },
    brokerDied: handle.alive() ? undefined : `exited ${JSON.stringify(handle.exitInfo())}`,
  };
}

async function outage(handle, base, status, { quick, nice, genCore, downS }) {
  const seconds = quick ? Math.min(downS, 30) : downS;
  const samples = [];
  const t0 = Date.now();
  const pub = spawnPinned('bridges-publish.mjs', [String(handle.port), String(PUBLISHERS), String(seconds), String(OUTAGE_RATE), String(WINDOW), String(PAYLOAD)], { core: genCore, nice });
  const sampleNow = async () => {
    const s = await status();
    samples.push({ t_s: (Date.now() - t0) / 1000, rss_kib: readRssKiB(handle.pid), heap_used: await heapUsed(base), outbox: s.outbox.messages, breaker: s.breaker });
  };
  await sampleNow();
  while (pub.child.exitCode === null) {
    await Promise.race([pub.closed, sleep(5000)]);
    await sampleNow();
  }
  const p = JSON.parse(pub.out.lines.at(-1) ?? '{}');
  if (p.error || !has(p.acked)) return { ok: false, error: `publishers: ${p.error ?? pub.out.err.slice(-300)}` };
  const s = await status();
  return {
    ok: true,
    result: { down_s: seconds, rate: OUTAGE_RATE, published_acked: p.acked, publish_ack_rate: p.ack_rate, refused: s.totals.refused, outbox_end: s.outbox.messages, samples, ...memoryFigures(samples) },
    brokerDied: handle.alive() ? undefined : `exited ${JSON.stringify(handle.exitInfo())}`,
  };
}

/** Least-squares slope (per minute) of `key` over the second half of the samples, and start/end/max. */
function memoryFigures(samples) {
  const fig = (key, scale) => {
    const xs = samples.filter((x) => has(x[key]));
    if (xs.length < 4) return {};
    const half = xs.slice(Math.floor(xs.length / 2));
    const mx = half.reduce((a, x) => a + x.t_s, 0) / half.length;
    const my = half.reduce((a, x) => a + x[key], 0) / half.length;
    const num = half.reduce((a, x) => a + (x.t_s - mx) * (x[key] - my), 0);
    const den = half.reduce((a, x) => a + (x.t_s - mx) ** 2, 0);
    const warm = xs.find((x) => x.t_s >= xs.at(-1).t_s * 0.1) ?? xs[0];
    return {
      [`${key}_warm_mib`]: warm[key] / scale,
      [`${key}_end_mib`]: xs.at(-1)[key] / scale,
      [`${key}_max_mib`]: Math.max(...xs.map((x) => x[key])) / scale,
      [`${key}_slope_mib_per_min_2nd_half`]: den > 0 ? ((num / den) * 60) / scale : null,
    };
  };
  return { ...fig('rss_kib', 1024), ...fig('heap_used', 1024 * 1024) };
}

const int = (v) => (has(v) ? Math.round(v).toLocaleString('en-US') : '—');
const f1 = (v) => (has(v) ? v.toFixed(1) : '—');
const f2 = (v) => (has(v) ? v.toFixed(2) : '—');

export function bridgesSummary(sc, x) {
  if (x.error) return `n/a: ${x.error}`;
  const r = x.result;
  if (sc === 'bridges-throughput') {
    return `published ${int(r.publish_ack_rate)}/s; sink ${int(r.sink_rate_while_publishing)}/s while publishing, ${int(r.end_to_end_rate)}/s end to end (${
      r.sink_acked}/${r.published_acked}, ${r.arrived_at_sink} at the sink), outbox peak ${r.outbox_peak}`;
  }
  return `${r.down_s} s down at ${int(r.publish_ack_rate)}/s: outbox ${int(r.outbox_end)}, RSS ${f1(r.rss_kib_warm_mib)} -> ${f1(r.rss_kib_end_mib)} MiB (max ${
    f1(r.rss_kib_max_mib)}, 2nd-half slope ${f2(r.rss_kib_slope_mib_per_min_2nd_half)} MiB/min), heap ${f1(r.heap_used_warm_mib)} -> ${f1(r.heap_used_end_mib)} MiB`;
}

export function renderBridgesSection(results) {
  const out = [];
  const tp = results['bridges-throughput'];
  if (tp && Object.keys(tp).length) {
    const keys = BRIDGE_VARIANTS['bridges-throughput'].map((v) => v.key).filter((k) => k in tp);
    const rows = [
      ['publishers acknowledged (msg/s)', (r) => int(r.publish_ack_rate)],
      ['**sink acknowledged while publishing (msg/s)**', (r) => int(r.sink_rate_while_publishing)],
      ['sink acknowledged while draining, publishers stopped (msg/s)', (r) => int(r.sink_rate_draining)],
      ['end to end until the outbox is empty (msg/s)', (r) => int(r.end_to_end_rate)],
      ['messages published / acked by the sink / counted at the sink', (r) => `${r.published_acked} / ${r.sink_acked} / ${r.arrived_at_sink}`],
      ['drain after the publishers stopped (s)', (r) => f1(r.drain_s)],
      ['outbox peak (messages)', (r) => int(r.outbox_peak)],
      ['batches (failed)', (r) => `${r.batches} (${r.batch_failures})`],
      ['broker CPU (share of a core, whole run)', (r) => (has(r.broker_cpu_util) ? `${Math.round(r.broker_cpu_util * 100)}%` : '—')],
      ['broker RSS at the end (MiB)', (r) => f1(r.broker_rss_kib / 1024)],
    ];
    out.push(
      '### Northbound bridges: routed throughput per sink (`bridges-throughput`)',
      '',
      `- ${BRIDGE_SCENARIOS['bridges-throughput'].title}: bench/lib/bridges-publish.mjs (raw MQTT 3.1.1 frames over node:net, own process pinned to the load generator core) publishes as fast as the PUBACKs allow for 10 s (3 s with --quick) on \`telemetry/<publisher>\`; one route \`telemetry/+\` -> one sink with the default settings (batches of 100, linger 5 ms; SQLite store, durability commit). A PUBACK means the message is in the outbox (same commit).`,
      '- Sinks: http = bench/lib/bridges-receiver.mjs (node:http, answers 200, pinned next to the publishers), batch mode; nats = the machine\'s nats-server, a file stream of its own (acked publishes with Nats-Msg-Id); postgres = the machine\'s PostgreSQL 127.0.0.1:5432, a schema of its own (createTable, multi-row INSERT ... ON CONFLICT DO NOTHING). The sink\'s own CPU is not on the broker\'s core except for what the kernel does there.',
      '',
      `| metric | ${keys.map((k) => BRIDGE_VARIANTS['bridges-throughput'].find((v) => v.key === k).title).join(' | ')} |`,
      `| --- | ${keys.map(() => '---:').join(' | ')} |`,
      ...rows.map(([m, f]) => `| ${m} | ${keys.map((k) => (tp[k]?.error ? `n/a (${tp[k].error.slice(0, 80)})` : tp[k]?.result ? f(tp[k].result) : '—')).join(' | ')} |`),
    );
  }
  const mem = results['bridges-outage-memory']?.['http-down'];
  if (mem) {
    const r = mem.result;
    out.push(
      ...(out.length ? [''] : []),
      '### Northbound bridges: broker memory while a sink is down (`bridges-outage-memory`)',
      '',
      `- ${BRIDGE_SCENARIOS['bridges-outage-memory'].title}: the same publishers at a fixed ${OUTAGE_RATE.toLocaleString('en-US')} msg/s for \`--bridges-down-s\` seconds (default 300, the 5 minutes of the issue; at most 30 with --quick); the webhook's port has nothing listening (the breaker opens, the outbox grows on disk). Every 5 s: broker RSS (/proc) and V8 heap used (/metrics \`nodejs_heap_size_used_bytes\`), outbox depth (/api/bridges).`,
      ...(mem.error
        ? ['', `n/a: ${mem.error}`]
        : [
            '',
            '| down for | published (acked) | outbox at the end | RSS warm -> end (max) | RSS slope, 2nd half | heap used warm -> end (max) | heap slope, 2nd half |',
            '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
            `| ${r.down_s} s | ${int(r.published_acked)} at ${int(r.publish_ack_rate)}/s | ${int(r.outbox_end)} | ${f1(r.rss_kib_warm_mib)} -> ${f1(r.rss_kib_end_mib)} MiB (${f1(r.rss_kib_max_mib)}) | ${f2(
              r.rss_kib_slope_mib_per_min_2nd_half)} MiB/min | ${f1(r.heap_used_warm_mib)} -> ${f1(r.heap_used_end_mib)} MiB (${f1(r.heap_used_max_mib)}) | ${f2(r.heap_used_slope_mib_per_min_2nd_half)} MiB/min |`,
            '',
            `Samples (s: RSS MiB / heap MiB / outbox): ${r.samples.map((x) => `${Math.round(x.t_s)}: ${f1(x.rss_kib / 1024)}/${f1((x.heap_used ?? 0) / 2 ** 20)}/${x.outbox}`).join(', ')}.`,
          ]),
    );
  }
  return out;
}
