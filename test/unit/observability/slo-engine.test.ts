/**
 * The SLO engine fed a synthetic error series through an injected clock: each burn-rate
 * alert must raise and clear at the minute a straightforward recomputation over the same
 * series says it should, and the windows must survive a restart through the store.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../../src/adapters/persistence/memory/index.js';
import { SloEngine } from '../../../src/observability/slo/engine.js';
import { DEFAULT_BURN_RULES, type AlertEvent, type BurnRateRule, type SliReading } from '../../../src/observability/slo/spec.js';
import { ManualClock } from '../../../src/ports/clock.js';

const MIN = 60_000;
const DAY = 86_400_000;
/** Minute-aligned start, so that minute i of the series is bucket i of the engine. */
const T0 = Math.ceil(1_700_000_000_000 / MIN) * MIN;

/** A cumulative source whose per-minute good/bad counts the test sets. */
class SyntheticSource {
  good = 0;
  total = 0;
  read = (): SliReading => ({ good: this.good, total: this.total });
  add(good: number, bad: number): void {
    this.good += good;
    this.total += good + bad;
  }
}

interface Transition {
  minute: number;
  alert: string;
  state: 'firing' | 'resolved';
}

/** What the rules say, recomputed naively from the per-minute series (windows of whole minutes ending with the current one). */
function expectedTransitions(series: Array<[number, number]>, rules: readonly BurnRateRule[], objective: number): Transition[] {
  const out: Transition[] = [];
  const firing = new Map(rules.map((r) => [r.name, false]));
  const burnOver = (end: number, minutes: number) => {
    let g = 0;
    let b = 0;
    for (let i = Math.max(0, end - minutes + 1); i <= end; i++) {
      g += series[i]![0];
      b += series[i]![1];
    }
    return g + b === 0 ? 0 : b / (g + b) / (1 - objective);
  };
  series.forEach((_, minute) => {
    for (const r of rules) {
      const f = burnOver(minute, r.longWindowMs / MIN) >= r.burnRate && burnOver(minute, r.shortWindowMs / MIN) >= r.burnRate;
      if (f !== firing.get(r.name)) {
        firing.set(r.name, f);
        out.push({ minute, alert: r.name, state: f ? 'firing' : 'resolved' });
      }
    }
  });
  return out;
}

/** Runs the series through an engine, one tick per minute (the tick lands at the end of the minute's bucket). */
async function run(series: Array<[number, number]>, objective: number, rules: readonly BurnRateRule[] = DEFAULT_BURN_RULES) {
  const clock = new ManualClock(T0);
  const src = new SyntheticSource();
  const engine = new SloEngine({ slos: [{ name: 'availability', description: '', objective, windowMs: 30 * DAY, read: src.read }], rules, clock });
  await engine.start();
  const events: Array<AlertEvent & { minute: number }> = [];
  let minute = 0;
  engine.onAlert((e) => events.push({ ...e, minute }));
  for (; minute < series.length; minute++) {
    clock.set(T0 + minute * MIN + MIN - 1);
    src.add(...series[minute]!);
    engine.tick();
  }
  return { events, engine, clock };
}

describe('SLO engine: multi-window burn-rate alerts (SRE workbook ch. 5)', () => {
  it('a 2% error burst raises fast-burn (14.4x over 1 h and 5 min) when the 1 h window crosses 14.4x, and clears it 2 min after the burst', async () => {
    // Objective 99.9%: budget 0.1%. 1000 events a minute; errors at 2% (burn 20x) for minutes 10..69, then clean.
    const series: Array<[number, number]> = Array.from({ length: 150 }, (_, m) => (m >= 10 && m < 70 ? [980, 20] : [1000, 0]));
    const { events } = await run(series, 0.999, [DEFAULT_BURN_RULES[0]!]);
    const got = events.map((e) => ({ minute: e.minute, alert: e.alert, state: e.state }));
    expect(got).toEqual(expectedTransitions(series, [DEFAULT_BURN_RULES[0]!], 0.999));
    // By hand: at minute m the 1 h window holds minutes 0..m (less than an hour of data so far), m - 9 of them
    // erroring at 20x: (m - 9) / (m + 1) x 20 >= 14.4 first at m = 35 (the 5 min window is at 20x then).
    // After the burst the 5 min window holds 3 error minutes (60 of 5000 = 1.2%, 12x) at minute 71 -> resolved.
    expect(got).toEqual([
      { minute: 35, alert: 'fast-burn', state: 'firing' },
      { minute: 71, alert: 'fast-burn', state: 'resolved' },
    ]);
    expect(events[0]!.longBurnRate).toBeGreaterThanOrEqual(14.4);
    expect(events[0]!.severity).toBe('page');
  });

  it('every default rule raises and clears exactly when the recomputation says, over 4 days of a changing error rate', async () => {
    // 10,000 events a minute. Day 0: clean; then a 0.5% error rate (5x) for 8 h; a 2% spike (20x) for 1 h;
    // 0.11% (1.1x) until 10:00 on day 3; then clean.
    const series: Array<[number, number]> = [];
    const minutes = 4 * 1440;
    for (let m = 0; m < minutes; m++) {
      let badPer10k = 0;
      if (m >= 1440 && m < 1440 + 480) badPer10k = 50;
      else if (m >= 2000 && m < 2060) badPer10k = 200;
      else if (m >= 2060 && m < 3 * 1440 + 600) badPer10k = 11;
      series.push([10_000 - badPer10k, badPer10k]);
    }
    const { events } = await run(series, 0.999);
    const got = events.map((e) => ({ minute: e.minute, alert: e.alert, state: e.state }));
    const want = expectedTransitions(series, DEFAULT_BURN_RULES, 0.999);
    expect(got).toEqual(want);
    // The series exercises every rule both ways.
    for (const r of DEFAULT_BURN_RULES) {
      expect(want.some((t) => t.alert === r.name && t.state === 'firing'), `${r.name} fires`).toBe(true);
      expect(want.some((t) => t.alert === r.name && t.state === 'resolved'), `${r.name} resolves`).toBe(true);
    }
    // A 5x burn pages at 6x? No: medium-burn needs 6x, so the 8 h at 5x alone raise only the 1x ticket.
    const first = want.filter((t) => t.minute < 2000);
    expect(first.map((t) => t.alert)).toEqual(['slow-burn']);
  }, 20_000);

  it('reports the remaining error budget over 30 days and the burn rate per window', async () => {
    // 99.9%: 10,000 events with 5 bad = half the budget.
    const series: Array<[number, number]> = [[9_995, 5]];
    const { engine } = await run(series, 0.999);
    const [s] = engine.status();
    expect(s!.good + s!.bad).toBe(10_000);
    expect(s!.allowedBad).toBeCloseTo(10, 9);
    expect(s!.errorBudgetRemaining).toBeCloseTo(0.5, 9);
    expect(s!.windows.find((w) => w.windowS === 300)!.burnRate).toBeCloseTo(0.5, 9);
  });

  it('a counter that restarts from zero counts as new events, not as a negative delta', async () => {
    const clock = new ManualClock(T0);
    let reading: SliReading = { good: 500, total: 500 };
    const engine = new SloEngine({ slos: [{ name: 'a', description: '', objective: 0.99, windowMs: 30 * DAY, read: () => reading }], clock });
    await engine.start(); // baseline 500
    reading = { good: 10, total: 12 };
    clock.advance(MIN);
    engine.tick();
    const [s] = engine.status();
    expect([s!.good, s!.bad]).toEqual([10, 2]);
  });

  it('the windows survive a restart: saved in the store, read back by a new engine', async () => {
    const store = new MemoryStore();
    const state = { load: () => store.getMeta('slo/windows'), save: (b: Buffer) => store.putMeta('slo/windows', b) };
    const clock = new ManualClock(T0);
    const src = new SyntheticSource();
    const make = () =>
      new SloEngine({ slos: [{ name: 'availability', description: '', objective: 0.999, windowMs: 30 * DAY, read: src.read }], clock, state, persistIntervalMs: 10 * MIN });
    const a = make();
    await a.start();
    const fired: AlertEvent[] = [];
    a.onAlert((e) => fired.push(e));
    // 90 minutes at 3% errors: fast-burn fires.
    for (let m = 0; m < 90; m++) {
      clock.set(T0 + m * MIN + MIN - 1);
      src.add(970, 30);
      a.tick();
    }
    expect(fired.filter((e) => e.state === 'firing').map((e) => e.alert)).toContain('fast-burn');
    const before = a.status()[0]!;
    a.stop(); // saves
    // The process restarts: its counters start from zero, the engine from the store.
    src.good = 0;
    src.total = 0;
    clock.advance(30_000);
    const b = make();
    const after: AlertEvent[] = [];
    b.onAlert((e) => after.push(e));
    await b.start();
    const restored = b.status()[0]!;
    expect(restored.good + restored.bad).toBeCloseTo(before.good + before.bad, 6);
    expect(restored.bad).toBeCloseTo(before.bad, 6);
    // 1 h window at coarse (5 min) resolution: the same events, spread within their 5-minute buckets.
    const w1h = (s: typeof before) => s.windows.find((w) => w.windowS === 3600)!;
    expect(w1h(restored).burnRate).toBeCloseTo(w1h(before).burnRate, 0);
    expect(restored.alerts.find((x) => x.name === 'fast-burn')!.firing).toBe(true);
    // Still burning after the restart: no second "firing" for an alert that already fires.
    src.add(970, 30);
    clock.advance(MIN);
    b.tick();
    expect(after.filter((e) => e.alert === 'fast-burn')).toEqual([]);
    // Clean traffic: the restored alert resolves once the 5 min window is clean enough.
    for (let m = 0; m < 10; m++) {
      src.add(1000, 0);
      clock.advance(MIN);
      b.tick();
    }
    expect(after.find((e) => e.alert === 'fast-burn')?.state).toBe('resolved');
  });
});
