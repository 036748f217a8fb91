#!/usr/bin/env node
// The command load of the `platform` bench scenario, in its own (pinned) process:
// `node platform-commands.mjs BASE_URL TOKEN IDS_FILE RATE DURATION_S`.
// Sends RATE commands per second for DURATION_S seconds, each to a random device of
// IDS_FILE (JSON array), as `POST /api/devices/{id}/commands?waitMs=10000` (one HTTP round
// trip that answers when the device has acknowledged: queued -> sent -> acked), and prints
// one JSON line: counts by final state and the round-trip latency percentiles (ms) of the
// acked ones. A command still unanswered 15 s after the window counts as "pending".
// node:http with a keep-alive agent, not fetch: at 1,000 requests/s fetch (undici) alone
// kept the load generator's core busy, and the driver's own queueing showed up as latency.
import fs from 'node:fs';
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const [base, token, idsFile, rateText, durText] = process.argv.slice(2);
const ids = JSON.parse(fs.readFileSync(idsFile, 'utf8'));
const rate = Number(rateText);
const durationS = Number(durText);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const lat = [];
const states = {};
let sent = 0;
let errors = 0;
let firstError;
let inflight = 0;
let maxInflight = 0;
const pending = new Set();

// A bounded pool of kept-alive connections, all opened by the warm-up: opened during the
// window (one per outstanding request), they overflowed the server's listen queue (SYN
// retries of 1 s, 3 s... measured as round trip). Each long-poll holds its connection for
// its whole round trip, so the pool must be large: with 128, the driver itself capped the
// rate at 128 / round trip. A request waiting for a free connection is still timed from
// when it was due.
// FIFO, not the default LIFO: when the server answers fast, LIFO reuses the same few
// sockets and leaves the others idle past the server's keep-alive timeout (5 s), and a
// request sent on one just as the server closes it failed with "socket hang up" (71 of
// 9,998 at 12:11 UTC 2026-11-26). FIFO keeps every pooled socket in use (each about once
// a second at 1,000/s).
const SOCKETS = 1024;
const agent = new http.Agent({ keepAlive: true, maxSockets: SOCKETS, maxFreeSockets: SOCKETS, scheduling: 'fifo' });
const target = new URL(base);

/** One POST; resolves with [status, parsed body]. */
function post(path, body) {
  return new Promise((resolve, reject) => {
    const data = Buffer.from(JSON.stringify(body));
    const req = http.request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path,
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': data.length },
        timeout: 25_000,
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve([res.statusCode, JSON.parse(Buffer.concat(chunks).toString('utf8'))]);
          } catch (e) {
            reject(e);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 25 s')));
    req.on('error', reject);
    req.end(data);
  });
}

function fire(n) {
  const id = ids[Math.floor(Math.random() * ids.length)];
  const t = performance.now();
  inflight++;
  maxInflight = Math.max(maxInflight, inflight);
  const p = post(`/api/devices/${encodeURIComponent(id)}/commands?waitMs=10000`, { name: 'ping', payload: { n } })
    .then(([status, body]) => {
      if (status !== 201) throw new Error(`HTTP ${status} ${body.error ?? ''}`);
      states[body.state] = (states[body.state] ?? 0) + 1;
      if (body.state === 'acked') lat.push(performance.now() - t);
    })
    .catch((e) => {
      errors++;
      firstError ??= e.message;
    })
    .finally(() => {
      inflight--;
      pending.delete(p);
    });
  pending.add(p);
}

// Warm-up: commands in growing bursts (128, 256, ... SOCKETS at once), so that every pooled
// connection exists before the window without a burst of new connections larger than the
// server's listen backlog.
for (let burst = 128; burst <= SOCKETS; burst *= 2) {
  for (let i = 0; i < burst; i++) fire(-1);
  await Promise.all([...pending]);
}
lat.length = 0;
for (const k of Object.keys(states)) delete states[k];
errors = 0;

const t0 = performance.now();
const cpu0 = process.cpuUsage();
for (;;) {
  const elapsed = (performance.now() - t0) / 1000;
  if (elapsed >= durationS) break;
  const due = Math.floor(elapsed * rate);
  while (sent < due) fire(sent++);
  await sleep(1);
}
const windowS = (performance.now() - t0) / 1000;
await Promise.race([Promise.all([...pending]), sleep(15_000)]);
const drainedS = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const pct = (q) => {
  if (lat.length === 0) return null;
  const s = [...lat].sort((a, b) => a - b);
  return Number(s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)].toFixed(2));
};
process.stdout.write(`${JSON.stringify({
  rate_target: rate,
  window_s: Number(windowS.toFixed(2)),
  sent,
  sent_rate: Math.round(sent / windowS),
  states,
  acked: states.acked ?? 0,
  // Acked over the window and the drain after it: what the server sustained.
  acked_rate: Math.round((states.acked ?? 0) / drainedS),
  errors,
  first_error: firstError,
  pending: pending.size,
  max_inflight: maxInflight,
  // This driver's own CPU (share of a core) over the window and the drain: near 1 = it limits the rate.
  driver_cpu_util: Number(((cpu.user + cpu.system) / 1e6 / drainedS).toFixed(2)),
  p50_ms: pct(0.5),
  p99_ms: pct(0.99),
  p999_ms: pct(0.999),
  max_ms: lat.length ? Number(Math.max(...lat).toFixed(2)) : null,
})}\n`);
process.exit(0);
