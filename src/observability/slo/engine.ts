/**
 * The SLO engine: computes SLIs continuously from the broker's own counters, keeps good
 * and bad events in time buckets (1 minute for the alert windows up to 3 days, 1 hour for
 * the 30-day budget), evaluates the multi-window burn-rate rules at each tick and reports
 * every change of an alert's state (firing / resolved) to its listeners. Nothing here
 * runs per event: a tick reads a handful of counters.
 *
 * The windows survive a restart: they are saved through a SloStateStore (the broker's
 * Store, key `slo/windows`) at coarse resolution (5-minute buckets for 3 days, hourly for
 * the budget window), every `persistIntervalMs` and at stop, and read back at start; a
 * 5-minute bucket is spread evenly over its minutes when restored.
 */
import type { Clock } from '../../ports/clock.js';
import { BucketRing, type Counts } from './bucket-ring.js';
import {
  DEFAULT_BURN_RULES,
  type AlertEvent,
  type BurnRateRule,
  type SliReading,
  type SloDefinition,
  type SloStatus,
  type WindowStatus,
} from './spec.js';

export interface SloStateStore {
  load(): Promise<Buffer | undefined>;
  save(data: Buffer): void;
}

export interface SloEngineOptions {
  slos: readonly SloDefinition[];
  rules?: readonly BurnRateRule[];
  clock: Clock;
  /** Resolution of the alert windows (default 1 minute). */
  fineResolutionMs?: number;
  /** Resolution of the budget window (default 1 hour). */
  coarseResolutionMs?: number;
  /** Resolution the alert windows are saved at (default 5 minutes; a multiple of the fine one). */
  persistResolutionMs?: number;
  state?: SloStateStore;
  persistIntervalMs?: number;
  /** Called when the saved state cannot be read (the engine starts empty). */
  onStateError?: (err: unknown) => void;
}

interface AlertState {
  firing: boolean;
  since: number | undefined;
}

interface Track {
  def: SloDefinition;
  fine: BucketRing;
  coarse: BucketRing;
  last: SliReading | undefined;
  alerts: Map<string, AlertState>;
}

interface Saved {
  v: 1;
  savedAt: number;
  fineRes: number;
  persistRes: number;
  coarseRes: number;
  slos: Record<string, { fine: Array<[number, number, number]>; coarse: Array<[number, number, number]>; alerts: Record<string, AlertState> }>;
}

const burn = (c: Counts, objective: number): number => {
  const total = c.good + c.bad;
  return total === 0 ? 0 : c.bad / total / (1 - objective);
};

export class SloEngine {
  rules: readonly BurnRateRule[];
  private tracks: Track[];
  private readonly listeners: Array<(e: AlertEvent) => void> = [];
  private readonly fineRes: number;
  private readonly coarseRes: number;
  private readonly persistRes: number;
  private fineSpanMs: number;
  private lastPersist = 0;
  private timer: NodeJS.Timeout | undefined;
  private opts: SloEngineOptions;

  constructor(opts: SloEngineOptions) {
    this.opts = opts;
    this.rules = opts.rules ?? DEFAULT_BURN_RULES;
    this.fineRes = opts.fineResolutionMs ?? 60_000;
    this.coarseRes = opts.coarseResolutionMs ?? 3_600_000;
    this.persistRes = opts.persistResolutionMs ?? 300_000;
    if (this.persistRes % this.fineRes !== 0) throw new RangeError('persistResolutionMs must be a multiple of fineResolutionMs');
    this.fineSpanMs = this.fineSpan(this.rules);
    this.tracks = this.buildTracks(opts.slos, this.rules);
  }

  private fineSpan(rules: readonly BurnRateRule[]): number {
    const longest = Math.max(this.fineRes, ...rules.map((r) => Math.max(r.longWindowMs, r.shortWindowMs)));
    return Math.ceil(longest / this.fineRes) * this.fineRes;
  }

  private buildTracks(slos: readonly SloDefinition[], rules: readonly BurnRateRule[]): Track[] {
    const fineSize = this.fineSpan(rules) / this.fineRes;
    const names = new Set<string>();
    return slos.map((def) => {
      if (names.has(def.name)) throw new RangeError(`SLO "${def.name}" is declared twice`);
      names.add(def.name);
      if (!(def.objective > 0 && def.objective < 1)) throw new RangeError(`SLO "${def.name}": objective must be within (0, 1)`);
      return {
        def,
        fine: new BucketRing(this.fineRes, fineSize),
        coarse: new BucketRing(this.coarseRes, Math.ceil(def.windowMs / this.coarseRes)),
        last: undefined,
        alerts: new Map(rules.map((r) => [r.name, { firing: false, since: undefined }])),
      };
    });
  }

  /** The SLOs evaluated now. */
  get definitions(): readonly SloDefinition[] {
    return this.tracks.map((t) => t.def);
  }

  /**
   * Hot reload: new SLOs and burn-rate rules. An SLO that keeps its name keeps its windows
   * (carried over at the saved resolution) and the alert states of rules that keep theirs;
   * a new one starts empty. Throws (and changes nothing) on a bad definition.
   */
  reconfigure(next: { slos: readonly SloDefinition[]; rules: readonly BurnRateRule[]; persistIntervalMs?: number }, now: number = this.opts.clock.now()): void {
    const tracks = this.buildTracks(next.slos, next.rules);
    const saved = this.serialize(now);
    const old = new Map(this.tracks.map((t) => [t.def.name, t]));
    this.tracks = tracks;
    this.rules = next.rules;
    this.fineSpanMs = this.fineSpan(next.rules);
    this.opts = { ...this.opts, slos: next.slos, rules: next.rules, ...(next.persistIntervalMs !== undefined ? { persistIntervalMs: next.persistIntervalMs } : {}) };
    this.restore(saved, now);
    for (const t of tracks) {
      // The same SLI (the description names it and its threshold): the reading goes on from the last one.
      const o = old.get(t.def.name);
      t.last = o !== undefined && o.def.description === t.def.description ? o.last : t.def.read();
    }
  }

  onAlert(listener: (e: AlertEvent) => void): void {
    this.listeners.push(listener);
  }

  /** Reads the saved windows, takes the counters' current values as the baseline. */
  async start(): Promise<void> {
    const now = this.opts.clock.now();
    if (this.opts.state !== undefined) {
      try {
        const buf = await this.opts.state.load();
        if (buf !== undefined) this.restore(buf, now);
      } catch (err) {
        this.opts.onStateError?.(err);
      }
    }
    for (const t of this.tracks) t.last = t.def.read();
    this.lastPersist = now;
  }

  /** Ticks every `intervalMs` on a timer (unref'd); stop() clears it. */
  startTimer(intervalMs: number): void {
    if (this.timer !== undefined) clearInterval(this.timer); // a new interval (reload) replaces the old one
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  get timerRunning(): boolean {
    return this.timer !== undefined;
  }

  /** Saves the windows (when a state store is configured) and stops the timer. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.persist(this.opts.clock.now());
  }

  /** Reads the counters, books their increments at `now`, evaluates every rule. */
  tick(now: number = this.opts.clock.now()): void {
    for (const t of this.tracks) {
      const r = t.def.read();
      const prev = t.last ?? { good: 0, total: 0 };
      // A counter that went down was restarted: its whole value is new.
      const dTotal = r.total >= prev.total ? r.total - prev.total : r.total;
      const dGood = r.good >= prev.good && r.total >= prev.total ? r.good - prev.good : r.good;
      t.last = r;
      const good = Math.max(0, Math.min(dGood, dTotal));
      const bad = Math.max(0, dTotal - good);
      if (good > 0 || bad > 0) {
        t.fine.add(now, good, bad);
        t.coarse.add(now, good, bad);
      }
      this.evaluate(t, now);
    }
    if (this.opts.state !== undefined && now - this.lastPersist >= (this.opts.persistIntervalMs ?? 60_000)) this.persist(now);
  }

  private counts(t: Track, windowMs: number, now: number): Counts {
    if (windowMs <= this.fineSpanMs) return t.fine.sum(now, Math.ceil(windowMs / this.fineRes));
    return t.coarse.sum(now, Math.ceil(windowMs / this.coarseRes));
  }

  private budgetRemaining(t: Track, now: number): { c: Counts; allowed: number; remaining: number } {
    const c = this.counts(t, t.def.windowMs, now);
    const allowed = (c.good + c.bad) * (1 - t.def.objective);
    return { c, allowed, remaining: c.good + c.bad === 0 ? 1 : 1 - c.bad / allowed };
  }

  private evaluate(t: Track, now: number): void {
    for (const rule of this.rules) {
      const long = this.counts(t, rule.longWindowMs, now);
      const short = this.counts(t, rule.shortWindowMs, now);
      const longBurn = burn(long, t.def.objective);
      const shortBurn = burn(short, t.def.objective);
      const firing = longBurn >= rule.burnRate && shortBurn >= rule.burnRate;
      const st = t.alerts.get(rule.name)!;
      if (firing === st.firing) continue;
      st.firing = firing;
      st.since = now;
      const event: AlertEvent = {
        slo: t.def.name,
        alert: rule.name,
        severity: rule.severity,
        state: firing ? 'firing' : 'resolved',
        at: now,
        burnRateThreshold: rule.burnRate,
        longWindowS: rule.longWindowMs / 1000,
        shortWindowS: rule.shortWindowMs / 1000,
        longBurnRate: longBurn,
        shortBurnRate: shortBurn,
        errorBudgetRemaining: this.budgetRemaining(t, now).remaining,
      };
      for (const l of this.listeners) {
        try {
          l(event);
        } catch {
          // A listener's failure must not stop the others or the engine.
        }
      }
    }
  }

  status(now: number = this.opts.clock.now()): SloStatus[] {
    const windows = [...new Set(this.rules.flatMap((r) => [r.shortWindowMs, r.longWindowMs]))].sort((a, b) => a - b);
    return this.tracks.map((t) => {
      const b = this.budgetRemaining(t, now);
      const ws: WindowStatus[] = windows.map((w) => {
        const c = this.counts(t, w, now);
        const total = c.good + c.bad;
        return { windowS: w / 1000, good: c.good, bad: c.bad, errorRatio: total === 0 ? 0 : c.bad / total, burnRate: burn(c, t.def.objective) };
      });
      return {
        name: t.def.name,
        description: t.def.description,
        objective: t.def.objective,
        windowS: t.def.windowMs / 1000,
        good: b.c.good,
        bad: b.c.bad,
        allowedBad: b.allowed,
        errorBudgetRemaining: b.remaining,
        windows: ws,
        alerts: this.rules.map((r) => {
          const st = t.alerts.get(r.name)!;
          return {
            name: r.name,
            severity: r.severity,
            burnRateThreshold: r.burnRate,
            longWindowS: r.longWindowMs / 1000,
            shortWindowS: r.shortWindowMs / 1000,
            firing: st.firing,
            since: st.since,
          };
        }),
      };
    });
  }

  // ---- persistence ------------------------------------------------------------------

  private persist(now: number): void {
    if (this.opts.state === undefined) return;
    this.lastPersist = now;
    this.opts.state.save(this.serialize(now));
  }

  /** The windows at coarse resolution (see the file comment). */
  serialize(now: number): Buffer {
    const per = this.persistRes / this.fineRes;
    const saved: Saved = { v: 1, savedAt: now, fineRes: this.fineRes, persistRes: this.persistRes, coarseRes: this.coarseRes, slos: {} };
    for (const t of this.tracks) {
      const agg = new Map<number, [number, number]>();
      for (const [b, g, x] of t.fine.entries(now)) {
        const k = Math.floor(b / per);
        const e = agg.get(k) ?? [0, 0];
        e[0] += g;
        e[1] += x;
        agg.set(k, e);
      }
      saved.slos[t.def.name] = {
        fine: [...agg].map(([k, [g, x]]) => [k, g, x]),
        coarse: t.coarse.entries(now),
        alerts: Object.fromEntries(t.alerts),
      };
    }
    return Buffer.from(JSON.stringify(saved));
  }

  private restore(buf: Buffer, now: number): void {
    const saved = JSON.parse(buf.toString('utf8')) as Saved;
    if (saved.v !== 1 || saved.persistRes % this.fineRes !== 0 || saved.coarseRes !== this.coarseRes) return;
    const per = saved.persistRes / this.fineRes;
    for (const t of this.tracks) {
      const s = saved.slos[t.def.name];
      if (s === undefined) continue;
      const nowBucket = Math.floor(now / this.fineRes);
      for (const [k, g, x] of s.fine) {
        // Spread over the bucket's minutes, never into the future (a bucket saved half-full).
        const first = k * per;
        const n = Math.max(1, Math.min(per, nowBucket - first + 1));
        for (let i = 0; i < n; i++) t.fine.addToBucket(first + i, g / n, x / n);
      }
      for (const [b, g, x] of s.coarse) t.coarse.addToBucket(b, g, x);
      for (const [name, st] of Object.entries(s.alerts)) if (t.alerts.has(name)) t.alerts.set(name, { ...st });
    }
  }
}
