// Turns raw scenario results into the BENCHMARKS.md block (table with ratios and targets).
import fs from 'node:fs';
import { has } from './sys.mjs';

export const BEGIN = '<!-- bench:begin -->';
export const END = '<!-- bench:end -->';
const BROKERS = ['holdfast', 'mosquitto', 'aedes'];

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const rate = (v) => (v >= 1000 ? `${(v / 1000).toFixed(v >= 100000 ? 0 : 1)}k` : v.toFixed(0));
const ms = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3));
const int = (v) => String(Math.round(v));
const kib = (v) => v.toFixed(2);
const pct = (v) => `${(v * 100).toFixed(v > 0.999 && v < 1 ? 2 : 1)}%`;

const r = (k) => (x) => num(x.result?.[k]);
const ratioOf = (a, b) => (has(num(a)) && has(num(b)) && b !== 0 ? a / b : null);

/** Storm p99 over all attempts (failures count as slowest); Infinity when > 1 % failed. */
function stormP99(x) {
  if (!x.result) return null;
  if (x.result.connect_p99_all === 'failed>1%') return Infinity;
  return num(x.result.connect_p99_all_ms);
}

export const ROWS = [
  { sc: 'fanin0', metric: 'delivered msg/s (at the subscriber)', get: r('recv_rate'), fmt: rate,
    target: { text: '>= 1.0x mosquitto', check: (h, v) => ratioOf(h, v.mosquitto) >= 1.0, needs: ['mosquitto'] } },
  { sc: 'fanin0', metric: 'published msg/s (taken by the broker)', get: r('send_rate'), fmt: rate },
  { sc: 'fanin1', metric: 'delivered msg/s (at the subscriber)', get: r('recv_rate'), fmt: rate,
    target: {
      text: '>= 1.2x aedes, zero loss',
      check: (h, v, hx) => ratioOf(h, v.aedes) >= 1.2 && hx.result.lost === 0 && hx.result.still_unacked === 0,
      needs: ['aedes'],
    } },
  { sc: 'fanin1', metric: 'acked msg/s (PUBACKs to publishers)', get: r('ack_rate'), fmt: rate },
  { sc: 'fanin1', metric: 'lost (acked, never delivered)', get: r('lost'), fmt: int, lowerBetter: true, noRatio: true },
  { sc: 'fanout', metric: 'delivery latency p50 (ms)', get: r('latency_p50_ms'), fmt: ms, lowerBetter: true },
  { sc: 'fanout', metric: 'delivery latency p99 (ms)', get: r('latency_p99_ms'), fmt: ms, lowerBetter: true },
  { sc: 'fanout', metric: 'delivered / expected', get: r('delivered_ratio'), fmt: pct },
  { sc: 'latency', metric: 'latency p50 (ms)', get: r('latency_p50_ms'), fmt: ms, lowerBetter: true },
  { sc: 'latency', metric: 'latency p99 (ms)', get: r('latency_p99_ms'), fmt: ms, lowerBetter: true,
    target: { text: '< 1 ms', check: (h) => h < 1 } },
  { sc: 'latency', metric: 'latency p99.9 (ms)', get: r('latency_p999_ms'), fmt: ms, lowerBetter: true },
  { sc: 'latency', metric: 'lost (acked, never delivered)', get: r('lost'), fmt: int, lowerBetter: true, noRatio: true },
  { sc: 'idle', metric: 'RSS per idle connection (KiB)', get: (x) => num(x.runner?.kib_per_conn), fmt: kib,
    lowerBetter: true, target: { text: '< 8 KiB', check: (h) => h < 8 } },
  { sc: 'idle', metric: 'connect rate (conn/s)', get: r('connect_rate'), fmt: rate,
    target: { text: '>= 3x aedes', check: (h, v) => ratioOf(h, v.aedes) >= 3, needs: ['aedes'] } },
  { sc: 'idle', metric: 'connections established', get: r('ok'), fmt: int, noRatio: true },
  { sc: 'storm', metric: 'connect time p99 (ms)', get: stormP99, fmt: (v) => (v === Infinity ? '>1% failed' : ms(v)),
    lowerBetter: true, target: { text: '< 300 ms', check: (h) => h < 300 } },
  { sc: 'storm', metric: 'connect time p50 (ms)', get: r('connect_p50_ms'), fmt: ms, lowerBetter: true },
  { sc: 'storm', metric: 'failed connects', get: r('failed'), fmt: int, lowerBetter: true, noRatio: true },
];

function shortReason(e) {
  const s = String(e).replace(/\s+/g, ' ');
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** results[scenario][broker] = { ok, result, runner, error, brokerDied } | { skipped } */
function cell(row, x) {
  if (!x) return { text: '—', value: null };
  if (x.error) return { text: `n/a (${shortReason(x.error)})`, value: null };
  const v = row.get(x);
  if (!has(v)) return { text: 'n/a', value: null };
  return { text: `${row.fmt(v, x)}${x.brokerDied ? ' †' : ''}`, value: v };
}

function fmtRatio(a, b, row) {
  if (row.noRatio || a === Infinity || b === Infinity) return 'n/a';
  const q = ratioOf(a, b);
  if (!has(q)) return 'n/a';
  return `${q >= 10 ? q.toFixed(1) : q >= 0.1 ? q.toFixed(2) : q.toPrecision(2)}x`;
}

export function renderTable(results) {
  const out = [];
  out.push('| scenario | metric | holdfast | mosquitto | aedes | holdfast/mosquitto | holdfast/aedes | target | met? |');
  out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |');
  const titles = {};
  for (const row of ROWS) {
    const per = results[row.sc];
    if (!per) continue;
    const cells = Object.fromEntries(BROKERS.map((b) => [b, cell(row, per[b])]));
    const values = Object.fromEntries(BROKERS.map((b) => [b, cells[b].value]));
    let met = '';
    if (row.target) {
      const h = values.holdfast;
      const missing = (row.target.needs || []).some((b) => !has(values[b]));
      met = !has(h) || missing ? 'n/a' : row.target.check(h, values, per.holdfast) ? 'yes' : 'no';
    }
    const scTitle = titles[row.sc] ? '' : row.sc;
    titles[row.sc] = true;
    out.push(`| ${scTitle} | ${row.metric} | ${cells.holdfast.text} | ${cells.mosquitto.text} | ${cells.aedes.text} | ${
      fmtRatio(values.holdfast, values.mosquitto, row)} | ${fmtRatio(values.holdfast, values.aedes, row)} | ${
      row.target?.text ?? ''} | ${met} |`);
  }
  return out.join('\n');
}

const p0 = (v) => (!has(num(v)) ? '—' : `${Math.round(v * 100)}%`);

export function renderCpuTable(results) {
  const out = [];
  out.push('| scenario | broker | load generator CPU | broker CPU | broker core busy, not charged to the broker | broker core irq+softirq | listen overflows |');
  out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const [sc, per] of Object.entries(results)) {
    for (const b of Object.keys(per)) {
      const x = per[b];
      if (!x || !x.runner) continue;
      const m = x.runner.measured || x.runner.whole_run || {};
      const gen = x.result?.loadgen_cpu_util;
      const notBroker = has(num(m.broker_core_busy_util)) && has(num(m.broker_cpu_util))
        ? Math.max(0, m.broker_core_busy_util - m.broker_cpu_util) : null;
      out.push(`| ${sc} | ${b} | ${p0(gen)} | ${p0(m.broker_cpu_util)} | ${p0(notBroker)} | ${
        p0(m.broker_core_irq_util)} | ${m.tcp?.ListenOverflows ?? '—'} |`);
    }
  }
  return out.join('\n');
}

export function renderNotes(results) {
  const notes = [];
  for (const [sc, per] of Object.entries(results)) {
    for (const b of Object.keys(per)) {
      const x = per[b];
      if (!x) continue;
      if (x.error) notes.push(`- ${sc} / ${b}: n/a — ${x.error}`);
      else if (x.brokerDied) notes.push(`- ${sc} / ${b}: † ${x.brokerDied} (the figures were measured before it died)`);
    }
  }
  return notes.join('\n');
}

/** Replace (or append) the block between the markers; other sections stay untouched. */
export function writeBlock(file, body) {
  const block = `${BEGIN}\n${body.trim()}\n${END}`;
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    text = '# Benchmarks\n';
  }
  const a = text.indexOf(BEGIN);
  const z = a >= 0 ? text.indexOf(END, a) : -1;
  if (a >= 0 && z > a) text = text.slice(0, a) + block + text.slice(z + END.length);
  else text = `${text.trimEnd()}\n\n${block}\n`;
  fs.writeFileSync(file, text);
}

// ---- persistent sessions (bench/lib/persist.mjs) ----------------------------------------

const PERSIST_COLS = [
  ['holdfast-fsync', 'holdfast fsync'],
  ['holdfast-commit', 'holdfast commit'],
  ['holdfast-none', 'holdfast none'],
  ['mosquitto', 'mosquitto (persistence)'],
];

const subsOf = (x) => num(x.result?.subscribers) ?? 1;
const lostShare = (x) => {
  const acked = num(x.result?.acked);
  const lost = num(x.result?.lost);
  return has(acked) && has(lost) && acked > 0 ? lost / (acked * subsOf(x)) : null;
};

export const PERSIST_ROWS = [
  { sc: 'persist-fanin', metric: 'acked msg/s into the offline sessions (publish phase)', get: r('ack_rate'), fmt: rate },
  { sc: 'persist-fanin', metric: 'delivered msg/s on reconnect (drain)', get: r('drain_rate'), fmt: rate },
  { sc: 'persist-fanin', metric: 'delivered msg/s end to end (publish + drain time)', get: r('e2e_rate'), fmt: rate, ratio: true,
    target: { text: 'commit >= 0.5x none', check: (v) => v['holdfast-commit'] >= 0.5 * v['holdfast-none'], needs: ['holdfast-commit', 'holdfast-none'] } },
  { sc: 'persist-fanin', metric: 'messages acked', get: r('acked'), fmt: int },
  { sc: 'persist-fanin', metric: 'deliveries of acked messages', get: r('delivered'), fmt: int },
  { sc: 'persist-fanin', metric: 'lost (acked, never delivered)', get: r('lost'), fmt: int,
    target: { text: '0 (holdfast)', check: (v) => PERSIST_COLS.slice(0, 3).every(([k]) => !has(v[k]) || v[k] === 0), needs: ['holdfast-commit'] } },
  { sc: 'persist-fanin', metric: 'duplicates', get: r('duplicates'), fmt: int },
  { sc: 'persist-crash', metric: 'messages acked before the kill -9', get: r('acked'), fmt: int },
  { sc: 'persist-crash', metric: 'sessions present after the restart', get: (x) => num(x.result?.session_present), fmt: (v, x) => `${int(v)}/${subsOf(x)}` },
  { sc: 'persist-crash', metric: 'deliveries of acked messages after the restart', get: r('delivered'), fmt: int },
  { sc: 'persist-crash', metric: 'lost across kill -9 (acked, never delivered)', get: r('lost'), fmt: int,
    target: { text: '0 (holdfast commit)', check: (v) => v['holdfast-commit'] === 0, needs: ['holdfast-commit'] } },
  { sc: 'persist-crash', metric: 'lost share of acked deliveries', get: lostShare, fmt: pct },
  { sc: 'persist-crash', metric: 'duplicates', get: r('duplicates'), fmt: int },
  { sc: 'persist-crash', metric: 'delivered though never acked (in flight at the kill)', get: r('unacked_delivered'), fmt: int },
];

export function renderPersistTable(results) {
  if (!results['persist-fanin'] && !results['persist-crash']) return '';
  const out = [];
  out.push(`| scenario | metric | ${PERSIST_COLS.map(([, t]) => t).join(' | ')} | commit / none | target | met? |`);
  out.push(`| --- | --- | ${PERSIST_COLS.map(() => '---:').join(' | ')} | ---: | --- | --- |`);
  const titles = {};
  for (const row of PERSIST_ROWS) {
    const per = results[row.sc];
    if (!per) continue;
    const cells = Object.fromEntries(PERSIST_COLS.map(([k]) => [k, cell(row, per[k])]));
    const values = Object.fromEntries(PERSIST_COLS.map(([k]) => [k, cells[k].value]));
    let met = '';
    if (row.target) {
      const missing = row.target.needs.some((k) => !has(values[k]));
      met = missing ? 'n/a' : row.target.check(values) ? 'yes' : 'no';
    }
    const ratio = row.ratio ? fmtRatio(values['holdfast-commit'], values['holdfast-none'], row) : '';
    const scTitle = titles[row.sc] ? '' : row.sc;
    titles[row.sc] = true;
    out.push(`| ${scTitle} | ${row.metric} | ${PERSIST_COLS.map(([k]) => cells[k].text).join(' | ')} | ${ratio} | ${row.target?.text ?? ''} | ${met} |`);
  }
  return out.join('\n');
}
