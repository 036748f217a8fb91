/**
 * An adaptive concurrency limit (after Netflix concurrency-limits): the number of calls
 * allowed in flight is learned from their latency instead of configured.
 *
 * - 'aimd' (default; TCP-like): a drop (a failure, or a success slower than
 *   `latencyThresholdMs`) multiplies the limit by `backoffRatio`, once per round (the
 *   calls already in flight when it was cut do not cut it again); a success adds 1 while
 *   no drop has been seen yet (slow start), then 1/limit (about +1 per round). Converges
 *   on the concurrency at which latency reaches the threshold.
 * - 'gradient' (Netflix Gradient): no threshold to configure. The baseline is the lowest
 *   latency seen since the last probe; gradient = clamp(tolerance * baseline / latency,
 *   0.5, 1); new = limit * gradient + queueSize, smoothed. The limit grows while latency
 *   stays within `tolerance` of the baseline and shrinks as a queue forms. Every
 *   `probeInterval` samples the limit is halved and the baseline forgotten, so that a
 *   queue drains and the baseline is measured again (without it the baseline would either
 *   never follow a slower dependency or drift up with the queue and the limit run away).
 *
 * The limit only grows while at least half of it is in use (an idle service tells nothing
 * about its capacity).
 */
import { checkNumber, invalidOption } from './errors.js';

export type LimitAlgorithm = 'aimd' | 'gradient';

export interface AdaptiveLimitOptions {
  /** Default 'aimd'. */
  algorithm?: LimitAlgorithm;
  /** Default 20. */
  initialLimit?: number;
  /** Default 1. */
  minLimit?: number;
  /** Default 1000. */
  maxLimit?: number;
  /** aimd: multiplier on a drop (default 0.9). */
  backoffRatio?: number;
  /** aimd: a success slower than this is a drop (default Infinity). */
  latencyThresholdMs?: number;
  /** gradient: how much latency may grow over the baseline before the limit shrinks (default 1.5). */
  tolerance?: number;
  /** gradient: weight of a new estimate (default 0.2). */
  smoothing?: number;
  /** gradient: samples between two probes (default 1000). */
  probeInterval?: number;
  /** gradient: headroom added to the limit (default 4). */
  queueSize?: number;
  onLimitChange?: (limit: number) => void;
}

export interface AdaptiveLimitCounters {
  admitted: number;
  rejected: number;
  drops: number;
}

export class AdaptiveLimit {
  readonly counters: Readonly<AdaptiveLimitCounters>;
  private readonly c: AdaptiveLimitCounters = { admitted: 0, rejected: 0, drops: 0 };
  private readonly algorithm: LimitAlgorithm;
  private readonly minLimit: number;
  private readonly maxLimit: number;
  private readonly backoffRatio: number;
  private readonly latencyThresholdMs: number;
  private readonly tolerance: number;
  private readonly smoothing: number;
  private readonly probeInterval: number;
  private readonly queueSize: number;
  private readonly onLimitChange: ((limit: number) => void) | undefined;
  private estimated: number;
  private inFlight_ = 0;
  /** aimd: releases still to ignore drops from after a cut; false until the first drop (slow start). */
  private ignoreDrops = 0;
  private slowStart = true;
  /** gradient */
  private baseline = Infinity;
  private samples = 0;

  constructor(options: AdaptiveLimitOptions = {}) {
    this.algorithm = options.algorithm ?? 'aimd';
    if (this.algorithm !== 'gradient' && this.algorithm !== 'aimd') throw invalidOption('algorithm', this.algorithm, "must be 'gradient' or 'aimd'");
    this.minLimit = checkNumber('minLimit', options.minLimit ?? 1, 1);
    this.maxLimit = checkNumber('maxLimit', options.maxLimit ?? 1000, this.minLimit);
    this.estimated = checkNumber('initialLimit', options.initialLimit ?? 20, this.minLimit);
    if (this.estimated > this.maxLimit) throw invalidOption('initialLimit', this.estimated, 'must be <= maxLimit');
    this.backoffRatio = checkNumber('backoffRatio', options.backoffRatio ?? 0.9, 0, true);
    if (this.backoffRatio >= 1) throw invalidOption('backoffRatio', this.backoffRatio, 'must be below 1');
    this.latencyThresholdMs = checkNumber('latencyThresholdMs', options.latencyThresholdMs ?? Infinity, 0, true, true);
    this.tolerance = checkNumber('tolerance', options.tolerance ?? 1.5, 1);
    this.smoothing = checkNumber('smoothing', options.smoothing ?? 0.2, 0, true);
    if (this.smoothing > 1) throw invalidOption('smoothing', this.smoothing, 'must be <= 1');
    this.probeInterval = checkNumber('probeInterval', options.probeInterval ?? 1000, 1, false, true);
    this.queueSize = checkNumber('queueSize', options.queueSize ?? 4, 0);
    this.onLimitChange = options.onLimitChange;
    this.counters = this.c;
  }

  /** Calls allowed in flight now. */
  get limit(): number {
    return Math.max(this.minLimit, Math.floor(this.estimated));
  }

  /** The unrounded estimate. */
  get estimate(): number {
    return this.estimated;
  }

  get inFlight(): number {
    return this.inFlight_;
  }

  /** Admits a call if fewer than `limit` are in flight; pair every true with release or cancel. */
  acquire(): boolean {
    if (this.inFlight_ >= this.limit) {
      this.c.rejected++;
      return false;
    }
    this.inFlight_++;
    this.c.admitted++;
    return true;
  }

  /** The admitted call finished after `latencyMs`; `ok` false for a failure (timeout, error). */
  release(latencyMs: number, ok = true): void {
    const inflight = this.inFlight_;
    if (inflight === 0) return;
    this.inFlight_--;
    const before = this.limit;
    if (this.algorithm === 'aimd') this.aimd(latencyMs, ok, inflight);
    else this.gradient(latencyMs, ok, inflight);
    const after = this.limit;
    if (after !== before) this.onLimitChange?.(after);
  }

  /** The admitted call ended without telling anything about the service (cancelled by its caller). */
  cancel(): void {
    if (this.inFlight_ > 0) this.inFlight_--;
  }

  private aimd(latencyMs: number, ok: boolean, inflight: number): void {
    const drop = !ok || latencyMs > this.latencyThresholdMs;
    if (this.ignoreDrops > 0) {
      this.ignoreDrops--;
      if (drop) return;
    }
    if (drop) {
      this.c.drops++;
      this.slowStart = false;
      this.estimated = Math.max(this.minLimit, this.estimated * this.backoffRatio);
      this.ignoreDrops = inflight - 1;
    } else if (inflight * 2 >= this.estimated) {
      this.estimated = Math.min(this.maxLimit, this.estimated + (this.slowStart ? 1 : 1 / this.estimated));
    }
  }

  private gradient(latencyMs: number, ok: boolean, inflight: number): void {
    if (++this.samples % this.probeInterval === 0) {
      this.estimated = Math.max(this.minLimit, this.estimated / 2);
      this.baseline = Infinity;
      return;
    }
    if (!ok) {
      this.c.drops++;
      this.smooth(this.estimated * 0.5);
      return;
    }
    const rtt = Math.max(latencyMs, 1e-3);
    if (rtt < this.baseline) this.baseline = rtt;
    if (inflight < this.estimated / 2) return;
    const g = Math.max(0.5, Math.min(1, (this.tolerance * this.baseline) / rtt));
    this.smooth(this.estimated * g + this.queueSize);
  }

  private smooth(target: number): void {
    const next = this.estimated * (1 - this.smoothing) + target * this.smoothing;
    this.estimated = Math.max(this.minLimit, Math.min(this.maxLimit, next));
  }
}
