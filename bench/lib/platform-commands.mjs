#!/usr/bin/env node
// The command load of the `platform` bench scenario, in its own (pinned) process:
// `node platform-commands.mjs BASE_URL TOKEN IDS_FILE RATE DURATION_S`.
// Sends RATE commands per second for DURATION_S seconds, each to a random device of
// IDS_FILE (JSON array), as `POST /api/devices/{id}/commands?waitMs=10000` (one HTTP round
// trip that answers when the device has acknowledged: queued -> sent -> acked), and prints
// one JSON line: counts by final state and the round-trip latency percentiles (ms) of the
// acked ones. A command still unanswered 15 s after the window counts as "pending".
import fs from 'node:fs';
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

function fire(n) {
  const id = ids[Math.floor(Math.random() * ids.length)];
  const t = performance.now();
  inflight++;
  maxInflight = Math.max(maxInflight, inflight);
  const p = fetch(`${base}/api/devices/${encodeURIComponent(id)}/commands?waitMs=10000`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'ping', payload: { n } }),
    signal: AbortSignal.timeout(25_000),
  })
    .then(async (res) => {
      const body = await res.json();
      if (res.status !== 201) throw new Error(`HTTP ${res.status} ${body.error ?? ''}`);
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

// Warm-up: a few commands so that connections to the server exist before the window.
for (let i = 0; i < 20; i++) fire(-1);
await Promise.all([...pending]);
lat.length = 0;
for (const k of Object.keys(states)) delete states[k];
errors = 0;

const t0 = performance.now();
for (;;) {
  const elapsed = (performance.now() - t0) / 1000;
  if (elapsed >= durationS) break;
  const due = Math.floor(elapsed * rate);
  while (sent < due) fire(sent++);
  await sleep(1);
}
const windowS = (performance.now() - t0) / 1000;
await Promise.race([Promise.all([...pending]), sleep(15_000)]);
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
  errors,
  first_error: firstError,
  pending: pending.size,
  max_inflight: maxInflight,
  p50_ms: pct(0.5),
  p99_ms: pct(0.99),
  p999_ms: pct(0.999),
  max_ms: lat.length ? Number(Math.max(...lat).toFixed(2)) : null,
})}\n`);
process.exit(0);
