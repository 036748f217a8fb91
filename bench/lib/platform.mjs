// The device platform under load (issue 5): `platform` scenario, holdfast only.
// 10,000 simulated meters (`holdfast simulate`, the product's simulator, pinned to the load
// generator's core) registered through the admin API, each connecting with its own
// credentials (per-device auth; device ACL with templates), then 1,000 commands/s through
// the API, each answered by its device. Two variants: HS256 device tokens (JWT, 10,000
// meters) and device secrets (scrypt hashes, checked at every first CONNECT; 1,000 meters,
// see PLATFORM_VARIANTS). Measured:
// - provisioning: devices (and secrets) created through the API per second (setup, not the headline);
// - connect: time until every meter is connected -> connects/s, failed CONNECTs by reason;
// - memory: broker RSS once settled with everyone connected, minus RSS before, per device;
// - commands: POST /api/devices/{id}/commands?waitMs=10000 at 1,000/s for 10 s (3 s with
//   --quick) from bench/lib/platform-commands.mjs: round trip API -> broker -> device ->
//   broker -> API, p50/p99/p99.9 of the acked ones.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { holdfastHttpPort, pinned, startBroker } from './brokers.mjs';
import { diffCounters, has, readCoreTimes, readCpuSeconds, readRssKiB, readTcpExt, sleep } from './sys.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const TOKEN = 'bench-admin-token-0123456789abcdef';
const JWT_SECRET = 'bench-jwt-secret-0123456789abcdef0123456789abcdef';
export const PLATFORM_COMMAND_RATE = 1000;

export const PLATFORM_SCENARIOS = {
  platform: {
    title: '10,000 simulated meters with per-device auth and ACL: connect rate, memory per device, command round trip at 1,000/s',
  },
};

// Device secrets cost one scrypt (N=16384: ~16 MiB, ~50-120 ms of a core) to issue and one
// at each device's first CONNECT, all on the broker's one core: 10,000 of them take well
// over half an hour, so that variant runs 1,000 meters. It connects with at most 8 CONNECTs
// in flight (4 hashes run at once): more would only wait past the connect timeout for a
// hash (0x88 from the auth breaker, then flapping bans) — a client storm, not a connect rate.
export const PLATFORM_VARIANTS = [
  { key: 'holdfast-jwt', broker: 'holdfast', auth: 'jwt', title: 'HS256 device tokens', devices: 10000, quickDevices: 1000, maxConnecting: 256 },
  { key: 'holdfast-secret', broker: 'holdfast', auth: 'secret', title: 'device secrets (scrypt)', devices: 1000, quickDevices: 200, maxConnecting: 8 },
];

export function platformVariants(brokers) {
  return PLATFORM_VARIANTS.filter((v) => brokers.includes(v.broker));
}

/** The config of both variants (quoted in BENCHMARKS.md). */
export function platformConfig(auth) {
  return [
    'http:',
    '  tokens:',
    `    - { token: "${TOKEN}", role: admin }`,
    'platform:',
    ...(auth === 'jwt' ? ['  auth:', '    jwt:', '      algorithm: HS256', `      secret: "${JWT_SECRET}"`] : []),
    '  acl:',
    '    templates:',
    '      - { action: publish, topic: "devices/{deviceId}/#", allow: true }',
    '      - { action: publish, topic: "devices/#", allow: false }',
  ].join('\n');
}

function sample(pid) {
  return { t: Date.now(), cpu: readCpuSeconds(pid), rss: readRssKiB(pid), cores: readCoreTimes(), tcp: readTcpExt() };
}

function window(a, b, brokerCore, genCore, simPid, simA, simB) {
  if (!a || !b) return null;
  const wall = (b.t - a.t) / 1000;
  const core = (c, f) => (a.cores[c] && b.cores[c] ? b.cores[c][f] - a.cores[c][f] : null);
  const brokerCpu = has(a.cpu) && has(b.cpu) ? b.cpu - a.cpu : null;
  return {
    wall_s: wall,
    broker_cpu_s: brokerCpu,
    broker_cpu_util: has(brokerCpu) && wall > 0 ? brokerCpu / wall : null,
    broker_core_busy_util: has(core(`cpu${brokerCore}`, 'busy')) && wall > 0 ? core(`cpu${brokerCore}`, 'busy') / wall : null,
    broker_core_irq_util: has(core(`cpu${brokerCore}`, 'irq')) && wall > 0 ? core(`cpu${brokerCore}`, 'irq') / wall : null,
    gen_core_busy_util: has(core(`cpu${genCore}`, 'busy')) && wall > 0 ? core(`cpu${genCore}`, 'busy') / wall : null,
    sim_cpu_util: has(simA) && has(simB) && wall > 0 ? (simB - simA) / wall : null,
    tcp: diffCounters(a.tcp, b.tcp),
  };
}

async function api(base, method, p, body) {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : undefined;
}

/** Devices (and, for secrets, one secret each) through the API, `concurrency` calls at once. */
async function provision(base, ids, withSecrets, concurrency) {
  const secrets = {};
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++];
      await api(base, 'POST', '/api/devices', { id, type: 'meter', labels: { simulator: 'holdfast' } });
      if (withSecrets) secrets[id] = (await api(base, 'POST', `/api/devices/${id}/secrets`, {})).secret;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return secrets;
}

/** RSS once it stops moving (3 samples 500 ms apart within 1 %), at most `maxMs`. */
async function settledRss(pid, maxMs = 15000) {
  const end = Date.now() + maxMs;
  const xs = [];
  while (Date.now() < end) {
    xs.push(readRssKiB(pid));
    if (xs.length >= 3) {
      const last = xs.slice(-3);
      if (Math.max(...last) - Math.min(...last) <= 0.01 * Math.max(...last)) return last[2];
    }
    await sleep(500);
  }
  return xs.at(-1) ?? null;
}

function lines(stream, onLine) {
  readline.createInterface({ input: stream }).on('line', onLine);
}

export async function runPlatform(name, pv, def, { quick, nice, brokerCore = 0, genCore = 1 }) {
  const n = quick ? pv.quickDevices : pv.devices;
  const commandS = quick ? 3 : 10;
  let handle;
  let sim;
  try {
    handle = await startBroker(def, { core: brokerCore, nice, variant: { configText: platformConfig(pv.auth) } });
  } catch (e) {
    return { ok: false, startError: true, error: `broker did not start: ${e.message}` };
  }
  try {
    const port = await holdfastHttpPort(handle);
    if (!port) return { ok: false, error: 'no HTTP port in the log' };
    const base = `http://127.0.0.1:${port}`;
    const { simDeviceIds } = await import(pathToFileURL(path.join(repo, 'dist/app/simulator/provision.js')).href);
    const ids = simDeviceIds('sim-', n);

    const tp = Date.now();
    const secrets = await provision(base, ids, pv.auth === 'secret', pv.auth === 'secret' ? 8 : 16);
    const provisionS = (Date.now() - tp) / 1000;
    const secretsFile = path.join(handle.dir, 'sim-secrets.json');
    fs.writeFileSync(secretsFile, JSON.stringify({ version: 1, secrets }), { mode: 0o600 });
    const idsFile = path.join(handle.dir, 'ids.json');
    fs.writeFileSync(idsFile, JSON.stringify(ids));
    await sleep(1000);
    const rssBefore = await settledRss(handle.pid, 5000);

    // The simulator: every meter once a minute (n/60 messages/s), MQTT 5, persistent sessions.
    const args = [path.join(repo, 'bin/holdfast.js'), 'simulate', '--devices', String(n), '--rate', String(Math.round(n / 60)),
      '--url', base, '--token', TOKEN, '--mqtt-port', String(handle.port), '--no-provision', '--secrets', secretsFile,
      '--json', '--report-s', '1', '--connect-rate', '5000', '--max-connecting', String(pv.maxConnecting), '--backoff-base-ms', '250', '--backoff-cap-ms', '5000',
      ...(pv.auth === 'jwt' ? ['--jwt-secret', JWT_SECRET] : [])];
    const w = pinned(process.execPath, args, { core: genCore, nice });
    sim = spawn(w.cmd, w.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let last = null;
    let simErr = '';
    sim.stderr.on('data', (d) => (simErr = (simErr + d).slice(-2000)));
    lines(sim.stdout, (l) => {
      try {
        last = JSON.parse(l);
      } catch {
        /* not ours */
      }
    });
    const a0 = sample(handle.pid);
    const connectTimeoutMs = (pv.auth === 'secret' ? 1200 : 180) * 1000 * (quick ? 0.25 : 1);
    const until = Date.now() + connectTimeoutMs;
    while (Date.now() < until && handle.alive() && sim.exitCode === null && !(last && has(last.allConnectedAfterMs))) await sleep(200);
    const a1 = sample(handle.pid);
    const connect = last ? { ...last } : null;
    if (!connect || !has(connect.allConnectedAfterMs)) {
      return {
        ok: false,
        error: `not every meter connected within ${connectTimeoutMs / 1000} s: ${connect ? `${connect.connected}/${n}, failures ${JSON.stringify(connect.failuresByReason)}` : `no simulator output ${simErr.trim().slice(-300)}`}`,
        brokerDied: handle.alive() ? undefined : `exited ${JSON.stringify(handle.exitInfo())}`,
      };
    }
    const rssLoaded = await settledRss(handle.pid);

    // Commands at 1,000/s from their own process, pinned next to the simulator.
    const simCpuA = readCpuSeconds(sim.pid);
    const b0 = sample(handle.pid);
    const cw = pinned(process.execPath, [path.join(here, 'platform-commands.mjs'), base, TOKEN, idsFile, String(PLATFORM_COMMAND_RATE), String(commandS)], { core: genCore, nice });
    const driver = spawn(cw.cmd, cw.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let derr = '';
    driver.stdout.on('data', (d) => (out += d));
    driver.stderr.on('data', (d) => (derr = (derr + d).slice(-2000)));
    await new Promise((r) => driver.once('close', r));
    const b1 = sample(handle.pid);
    const simCpuB = readCpuSeconds(sim.pid);
    let cmd = null;
    try {
      cmd = JSON.parse(out.trim().split('\n').pop());
    } catch {
      return { ok: false, error: `command driver gave no result: ${derr.trim().slice(-300)}` };
    }
    const result = {
      devices: n,
      auth: pv.auth,
      provision_s: provisionS,
      provision_rate: n / provisionS,
      connect_s: connect.allConnectedAfterMs / 1000,
      connect_rate: n / (connect.allConnectedAfterMs / 1000),
      connect_failures: connect.connectFailures,
      failures_by_reason: connect.failuresByReason,
      rss_before_kib: rssBefore,
      rss_loaded_kib: rssLoaded,
      kib_per_device: has(rssBefore) && has(rssLoaded) ? (rssLoaded - rssBefore) / n : null,
      commands: cmd,
    };
    return {
      ok: true,
      result,
      runner: {
        connect: window(a0, a1, brokerCore, genCore),
        measured: window(b0, b1, brokerCore, genCore, sim.pid, simCpuA, simCpuB),
      },
      variant: pv.key,
      brokerDied: handle.alive() ? undefined : `exited ${JSON.stringify(handle.exitInfo())}`,
    };
  } catch (e) {
    return { ok: false, error: `runner error: ${e.message}` };
  } finally {
    if (sim && sim.exitCode === null) {
      sim.kill('SIGTERM');
      await Promise.race([new Promise((r) => sim.once('close', r)), sleep(10_000)]);
      if (sim.exitCode === null) sim.kill('SIGKILL');
    }
    await handle.stop();
  }
}

const f1 = (v) => (has(v) ? v.toFixed(1) : '—');
const int = (v) => (has(v) ? Math.round(v).toLocaleString('en-US') : '—');

export function platformSummary(x) {
  if (x.error) return `n/a: ${x.error}`;
  const r = x.result;
  const c = r.commands;
  return `${r.devices} meters connected in ${f1(r.connect_s)} s (${int(r.connect_rate)}/s, ${r.connect_failures} failed connects), ${
    f1(r.kib_per_device)} KiB/device; commands ${c.sent_rate}/s: acked ${c.acked}/${c.sent}, p50 ${c.p50_ms} ms p99 ${c.p99_ms} ms`;
}

const ROWS = [
  { metric: 'devices', get: (r) => r.devices, fmt: int },
  { metric: 'provisioning through the API (devices/s; setup)', get: (r) => r.provision_rate, fmt: int },
  { metric: 'all connected after (s)', get: (r) => r.connect_s, fmt: f1 },
  { metric: '**connect rate (devices/s)**', get: (r) => r.connect_rate, fmt: int },
  { metric: 'failed CONNECTs (retried with backoff)', get: (r) => r.connect_failures, fmt: int },
  { metric: '**broker memory per connected device (KiB RSS)**', get: (r) => r.kib_per_device, fmt: f1 },
  { metric: 'broker RSS with everyone connected (MiB)', get: (r) => (has(r.rss_loaded_kib) ? r.rss_loaded_kib / 1024 : null), fmt: f1 },
  { metric: 'commands sent per second (target 1,000)', get: (r) => r.commands?.sent_rate, fmt: int },
  { metric: 'commands acked / sent', get: (r) => (r.commands ? `${r.commands.acked} / ${r.commands.sent}` : null), fmt: (v) => v },
  { metric: 'commands acked per second (window + drain)', get: (r) => r.commands?.acked_rate, fmt: int },
  { metric: 'command round trip p50 (ms)', get: (r) => r.commands?.p50_ms, fmt: (v) => String(v) },
  { metric: '**command round trip p99 (ms)**', get: (r) => r.commands?.p99_ms, fmt: (v) => String(v) },
  { metric: 'command round trip p99.9 (ms)', get: (r) => r.commands?.p999_ms, fmt: (v) => String(v) },
  { metric: 'broker CPU during the commands (share of a core)', get: (r, x) => x.runner?.measured?.broker_cpu_util, fmt: (v) => `${Math.round(v * 100)}%` },
  { metric: 'simulator CPU during the commands', get: (r, x) => x.runner?.measured?.sim_cpu_util, fmt: (v) => `${Math.round(v * 100)}%` },
  { metric: 'command driver CPU (its own process)', get: (r) => r.commands?.driver_cpu_util, fmt: (v) => `${Math.round(v * 100)}%` },
];

export function renderPlatformSection(results) {
  const per = results.platform;
  if (!per || Object.keys(per).length === 0) return [];
  const keys = PLATFORM_VARIANTS.map((v) => v.key).filter((k) => k in per);
  const head = `| metric | ${keys.map((k) => PLATFORM_VARIANTS.find((v) => v.key === k).title).join(' | ')} |`;
  const rows = ROWS.map((row) => `| ${row.metric} | ${keys.map((k) => {
    const x = per[k];
    if (x?.error) return `n/a (${x.error.slice(0, 80)})`;
    const v = x?.result ? row.get(x.result, x) : null;
    return has(v) ? row.fmt(v) : '—';
  }).join(' | ')} |`);
  const failures = keys.map((k) => per[k]?.result?.failures_by_reason).filter((f) => f && Object.keys(f).length);
  return [
    '### Device platform: 10,000 meters, per-device auth and ACL, commands at 1,000/s (`platform`)',
    '',
    `- ${PLATFORM_SCENARIOS.platform.title}. holdfast only (Mosquitto and Aedes have no device platform).`,
    '- Devices are registered through the admin API, then `holdfast simulate --no-provision` (the product\'s simulator: its own MQTT codec over node:net, MQTT 5, persistent sessions, one telemetry message per meter per minute) connects them at most 5,000 CONNECTs/s with 256 in flight (tokens) or 8 in flight (secrets), pinned to the load generator\'s core; failed CONNECTs retry with backoff (250 ms base, 5 s cap, full jitter).',
    '- Per-device auth: HS256 tokens (`sub` = device id, the device must exist; 10,000 meters) or a 32-byte secret per device (scrypt N=16384 r=8 p=1; issuing it and the first CONNECT of each device cost one scrypt each, at most 4 at once, all on the broker\'s core: 1,000 meters, as 10,000 would take over half an hour). Device ACL: the built-in one plus templates `allow publish devices/{deviceId}/#`, `deny publish devices/#`.',
    `- Commands: \`bench/lib/platform-commands.mjs\` (own process, same core as the simulator) sends ${PLATFORM_COMMAND_RATE.toLocaleString('en-US')} commands/s for 10 s (3 s with --quick) to random devices as \`POST /api/devices/{id}/commands?waitMs=10000\` (node:http over a pool of 1,024 kept-alive connections opened before the window and used first in, first out: each long-poll holds one for its round trip, and none sits idle past the server's 5 s keep-alive timeout), which answers once the device acknowledged it: the round trip is API -> queue -> MQTT -> device -> response topic -> API. When the server cannot keep up, the backlog grows over the window and so does the round trip: compare "commands acked per second" with the target.`,
    '- Memory: broker RSS once settled with every meter connected, minus RSS after provisioning, divided by the meters (sessions, subscriptions, presence, device records cached).',
    '- --quick: 1,000 meters (tokens) / 200 (secrets), 3 s of commands.',
    '',
    head,
    `| --- | ${keys.map(() => '---:').join(' | ')} |`,
    ...rows,
    ...(failures.length ? ['', `Failed CONNECTs by reason: ${keys.map((k) => `${k}: ${JSON.stringify(per[k]?.result?.failures_by_reason ?? {})}`).join('; ')}.`] : []),
  ];
}
