/**
 * A token bucket: `capacity` tokens, refilled at `refillPerSec`, computed lazily from the
 * clock (no timers). Stored as one number, the time at which the bucket will be full
 * again (GCRA, "theoretical arrival time"): tokens(now) = capacity - max(0, tat - now) / T
 * with T = 1000 / refillPerSec ms per token. A full bucket has tat <= now, which is what
 * lets the keyed limiter forget it.
 *
 * Over any window of w ms, `tryTake` grants at most capacity + refillPerSec * w / 1000
 * tokens. `consume` takes unconditionally (the bytes have already been read) and returns
 * how long the caller should stop (e.g. stop reading a socket) to get out of debt.
 */
import type { Clock } from '../ports/clock.js';
import { monotonicClock } from '../ports/clock.js';
import { checkNumber } from './errors.js';

/** Slack (ms) in the admission test, so that waiting exactly `timeUntil(n)` is enough despite rounding. */
const EPSILON_MS = 1e-6;

/** The rate parameters of a bucket, shared by many keyed buckets. */
export class BucketShape {
  /** ms per token */
  readonly interval: number;
  /** ms to refill an empty bucket */
  readonly burst: number;

  constructor(
    readonly capacity: number,
    readonly refillPerSec: number,
  ) {
    checkNumber('capacity', capacity, 0, true);
    checkNumber('refillPerSec', refillPerSec, 0, true);
    this.interval = 1000 / refillPerSec;
    this.burst = capacity * this.interval;
  }

  /** The new tat if `n` tokens can be taken at `now`, else NaN. */
  take(tat: number, now: number, n: number): number {
    const next = Math.max(tat, now) + n * this.interval;
    return next - now <= this.burst + EPSILON_MS ? next : Number.NaN;
  }

  /** The new tat after taking `n` tokens whatever the balance. */
  consume(tat: number, now: number, n: number): number {
    return Math.max(tat, now) + n * this.interval;
  }

  /** ms until the balance is >= 0 again (0 if it is). */
  debtMs(tat: number, now: number): number {
    return Math.max(0, tat - now - this.burst);
  }

  /** ms until `n` tokens are available; Infinity if n > capacity. */
  timeUntil(tat: number, now: number, n: number): number {
    if (n > this.capacity) return Infinity;
    return Math.max(0, tat - now - (this.capacity - n) * this.interval);
  }

  tokens(tat: number, now: number): number {
    return this.capacity - Math.max(0, tat - now) / this.interval;
  }
}

export interface TokenBucketOptions {
  capacity: number;
  refillPerSec: number;
  /** Tokens at the start (default: capacity, a full bucket). */
  initialTokens?: number;
  clock?: Clock;
}

export interface TokenBucketCounters {
  /** Tokens granted by tryTake or charged by consume. */
  taken: number;
  /** Tokens refused by tryTake. */
  refused: number;
}

export class TokenBucket {
  readonly shape: BucketShape;
  readonly counters: Readonly<TokenBucketCounters>;
  private readonly c: TokenBucketCounters = { taken: 0, refused: 0 };
  private readonly clock: Clock;
  /** Times are kept relative to `origin` so that the float arithmetic stays exact enough. */
  private readonly origin: number;
  private tat: number;

  constructor(options: TokenBucketOptions) {
    this.shape = new BucketShape(options.capacity, options.refillPerSec);
    this.clock = options.clock ?? monotonicClock;
    this.origin = this.clock.now();
    const initial = checkNumber('initialTokens', options.initialTokens ?? options.capacity, 0);
    this.tat = Math.max(0, options.capacity - initial) * this.shape.interval;
    this.counters = this.c;
  }

  /** Takes `n` tokens if there are that many; never goes into debt. */
  tryTake(n = 1): boolean {
    const next = this.shape.take(this.tat, this.now(), n);
    if (Number.isNaN(next)) {
      this.c.refused += n;
      return false;
    }
    this.tat = next;
    this.c.taken += n;
    return true;
  }

  /** Takes `n` tokens even into debt; returns the ms until the balance is back to >= 0. */
  consume(n: number): number {
    const now = this.now();
    this.tat = this.shape.consume(this.tat, now, n);
    this.c.taken += n;
    return this.shape.debtMs(this.tat, now);
  }

  /** ms until `tryTake(n)` would succeed (0: now; Infinity: never, n > capacity). */
  timeUntil(n = 1): number {
    return this.shape.timeUntil(this.tat, this.now(), n);
  }

  /** The balance now (negative when in debt). */
  tokens(): number {
    return this.shape.tokens(this.tat, this.now());
  }

  isFull(): boolean {
    return this.tat <= this.now();
  }

  private now(): number {
    return this.clock.now() - this.origin;
  }
}
