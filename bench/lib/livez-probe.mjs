#!/usr/bin/env node
// GET <url> every <everyMs> ms until stdin closes, then print one JSON line with the round
// trips (storm-admission, bench/lib/admission.mjs). A process of its own, started at the
// broker's nice level, so that the figures are not the bench runner's own scheduling delays.
const [url, everyArg] = process.argv.slice(2);
const everyMs = Number(everyArg ?? 100);
const rtts = [];
let failed = 0;
let running = true;
process.stdin.on('data', () => {});
process.stdin.on('end', () => (running = false));
process.stdin.on('error', () => (running = false));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// One request first (connection set up, code warm), not counted; then "#ready".
try {
  await (await fetch(url, { signal: AbortSignal.timeout(5000) })).text();
} catch {
  failed++;
}
process.stdout.write('#ready\n');
while (running) {
  const t0 = performance.now();
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    await res.text();
    if (res.status === 200) rtts.push(performance.now() - t0);
    else failed++;
  } catch {
    failed++;
  }
  const left = everyMs - (performance.now() - t0);
  if (left > 0 && running) await sleep(left);
}
const s = rtts.sort((a, b) => a - b);
const q = (p) => (s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : null);
process.stdout.write(`${JSON.stringify({ livez_samples: s.length, livez_failed: failed, livez_p50_ms: q(50), livez_p99_ms: q(99), livez_max_ms: s.length ? s[s.length - 1] : null })}\n`);
