/**
 * Overload protection: a level computed from the process's own signals (event-loop delay,
 * heap, RSS), and `admit(priority)` so that callers refuse the least important work
 * first. Level 0 admits everything; level L refuses every priority below L. With the
 * default two levels: 1 refuses `Priority.low` (new connections), 2 also refuses
 * `Priority.normal` (new work: reading publishes), `Priority.critical` (acks,
 * disconnects) is never refused.
 *
 * Hysteresis, so that it does not flap: a level is entered as soon as any signal reaches
 * its threshold, and left only when every signal has stayed below threshold x
 * `recoverRatio` for `recoverAfterMs` (then straight to the level the signals justify).
 *
 * The sampler is a port: `NodeLoadSampler` measures the event-loop delay with a timer and
 * a perf_hooks histogram, and memory with process.memoryUsage(); tests inject their own
 * and call `update()`.
 */
import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';
import type { Clock } from '../ports/clock.js';
import { systemClock } from '../ports/clock.js';
import { checkNumber, invalidOption } from './errors.js';

export interface LoadSample {
  eventLoopDelayMs: number;
  heapUsedBytes: number;
  rssBytes: number;
}

export interface LoadSampler {
  sample(): LoadSample;
}

/** Thresholds to enter one level; a missing field is not looked at. */
export interface LoadThresholds {
  eventLoopDelayMs?: number;
  heapUsedBytes?: number;
  rssBytes?: number;
}

export const Priority = { low: 0, normal: 1, critical: 2 } as const;

export interface LoadShedderOptions {
  sampler: LoadSampler;
  /** levels[i]: the thresholds to enter level i + 1 (each at least the one before). */
  levels: LoadThresholds[];
  /** A level is left when every signal is below its threshold x this (default 0.8). */
  recoverRatio?: number;
  /** How long the signals must stay below a level's recovery thresholds to leave it (default 5000). */
  recoverAfterMs?: number;
  clock?: Clock;
}

export interface LoadShedderCounters {
  samples: number;
  /** Samples that threw when taken by start()'s timer (update() called directly throws to its caller). */
  sampleErrors: number;
  levelChanges: number;
  /** admit() answers by priority (index = priority, capped at the number of levels). */
  admitted: number[];
  shed: number[];
}

export type LevelListener = (level: number, previous: number, sample: LoadSample) => void;

const METRICS = ['eventLoopDelayMs', 'heapUsedBytes', 'rssBytes'] as const;

export class LoadShedder {
  readonly counters: Readonly<LoadShedderCounters>;
  private readonly c: LoadShedderCounters;
  private readonly sampler: LoadSampler;
  private readonly levels: LoadThresholds[];
  private readonly recoverRatio: number;
  private readonly recoverAfterMs: number;
  private readonly clock: Clock;
  private current = 0;
  /** Since when the samples have been below the current level's recovery thresholds. */
  private calmSince: number | undefined;
  private last: LoadSample | undefined;
  private listeners: LevelListener[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: LoadShedderOptions) {
    this.sampler = options.sampler;
    if (options.levels.length === 0) throw invalidOption('levels', 0, 'must define at least one level');
    this.levels = options.levels;
    for (const m of METRICS) {
      let prev = 0;
      options.levels.forEach((l, i) => {
        const v = l[m];
        if (v === undefined) return;
        checkNumber(`levels[${i}].${m}`, v, 0, true);
        if (v < prev) throw invalidOption(`levels[${i}].${m}`, v, 'must not be below the level before');
        prev = v;
      });
    }
    this.recoverRatio = checkNumber('recoverRatio', options.recoverRatio ?? 0.8, 0, true);
    if (this.recoverRatio > 1) throw invalidOption('recoverRatio', this.recoverRatio, 'must be <= 1');
    this.recoverAfterMs = checkNumber('recoverAfterMs', options.recoverAfterMs ?? 5000, 0);
    this.clock = options.clock ?? systemClock;
    const n = this.levels.length + 1;
    this.c = { samples: 0, sampleErrors: 0, levelChanges: 0, admitted: new Array<number>(n).fill(0), shed: new Array<number>(n).fill(0) };
    this.counters = this.c;
  }

  /** 0 = normal, up to the number of levels. */
  get level(): number {
    return this.current;
  }

  get maxLevel(): number {
    return this.levels.length;
  }

  /** True while any work is being refused (readiness should be false). */
  get shedding(): boolean {
    return this.current > 0;
  }

  get lastSample(): LoadSample | undefined {
    return this.last;
  }

  /** Work of this priority may start now (priority >= level). */
  admit(priority: number): boolean {
    const p = Math.max(0, Math.min(this.levels.length, Math.floor(priority)));
    if (p >= this.current) {
      this.c.admitted[p]++;
      return true;
    }
    this.c.shed[p]++;
    return false;
  }

  /** Takes a sample and recomputes the level; returns it. */
  update(): number {
    const s = this.sampler.sample();
    this.last = s;
    this.c.samples++;
    const now = this.clock.now();
    const enter = this.highest(s, 1);
    const stay = this.highest(s, this.recoverRatio);
    const prev = this.current;
    if (enter > prev) this.current = enter;
    else if (stay >= prev) this.calmSince = undefined;
    else {
      this.calmSince ??= now;
      if (now - this.calmSince >= this.recoverAfterMs) this.current = stay;
    }
    if (this.current !== prev) {
      this.calmSince = undefined;
      this.c.levelChanges++;
      for (const l of this.listeners) {
        try {
          l(this.current, prev, s);
        } catch {
          // a listener (logs, metrics, readiness) must not stop the sampling
        }
      }
    }
    return this.current;
  }

  onLevelChange(listener: LevelListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** Calls update() every `intervalMs` on an unref'd timer (does not keep the process alive). */
  start(intervalMs = 1000): void {
    if (this.timer !== undefined) return;
    checkNumber('intervalMs', intervalMs, 0, true);
    this.timer = setInterval(() => {
      try {
        this.update();
      } catch {
        this.c.sampleErrors++; // the level stays as it was
      }
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The highest level whose thresholds x ratio any signal of `s` reaches (0 if none). */
  private highest(s: LoadSample, ratio: number): number {
    for (let i = this.levels.length - 1; i >= 0; i--) {
      const t = this.levels[i];
      for (const m of METRICS) {
        const v = t[m];
        if (v !== undefined && s[m] >= v * ratio) return i + 1;
      }
    }
    return 0;
  }
}

export interface NodeLoadSamplerOptions {
  /** How often the event-loop delay is measured (default 10 ms). */
  resolutionMs?: number;
  /** Which statistic of the delays since the last sample (default 'p99'). */
  stat?: 'p99' | 'max' | 'mean';
}

/**
 * Event-loop delay measured by an unref'd interval timer (how late each tick runs,
 * recorded in a perf_hooks histogram) and memory from process.memoryUsage().
 *
 * Not perf_hooks.monitorEventLoopDelay: its reset() also forgets the time of the last
 * tick, so the first delay after each sample is discarded, and a stall that delays the
 * sampler's own timer (the usual case: both run late, in the same timers phase) is lost
 * entirely. Here a stall still in progress is counted at sample time, and a stall
 * measured after a sample goes into the next one.
 */
export class NodeLoadSampler implements LoadSampler {
  private readonly histogram: RecordableHistogram;
  private readonly resolutionMs: number;
  private readonly stat: 'p99' | 'max' | 'mean';
  private timer: ReturnType<typeof setInterval> | undefined;
  private expected = 0;

  constructor(options: NodeLoadSamplerOptions = {}) {
    this.resolutionMs = checkNumber('resolutionMs', options.resolutionMs ?? 10, 1);
    this.stat = options.stat ?? 'p99';
    this.histogram = createHistogram();
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.expected = performance.now() + this.resolutionMs;
    this.timer = setInterval(() => {
      const now = performance.now();
      this.record(now - this.expected);
      this.expected = now + this.resolutionMs;
    }, this.resolutionMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Delay measurements taken since the last sample. */
  get ticks(): number {
    return this.histogram.count;
  }

  sample(): LoadSample {
    const h = this.histogram;
    let ns = 0;
    if (h.count > 0) ns = this.stat === 'p99' ? h.percentile(99) : this.stat === 'max' ? h.max : h.mean;
    h.reset();
    // a stall in progress right now (this very call may be running late)
    const pending = this.timer === undefined ? 0 : Math.max(0, performance.now() - this.expected);
    const mem = process.memoryUsage();
    return {
      eventLoopDelayMs: Math.max(ns / 1e6, pending),
      heapUsedBytes: mem.heapUsed,
      rssBytes: mem.rss,
    };
  }

  private record(lateMs: number): void {
    this.histogram.record(Math.max(1, Math.round(lateMs * 1e6)));
  }
}
