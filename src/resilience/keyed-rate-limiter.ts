/**
 * One token bucket per key (per source IP, per listener, per client), one number of
 * state per active key (its GCRA tat, see token-bucket.ts). A key whose bucket has
 * refilled is indistinguishable from a key never seen, so it is forgotten: lazily, a
 * couple of the least recently used keys at each call (amortised O(1)), or all at once by
 * `sweep()`.
 *
 * At most `maxKeys` keys. When a new key arrives at the bound and the least recently
 * used key is not yet full, `whenFull` decides:
 * - 'reject' (default): the new key is refused (tryTake false, timeUntil/consume Infinity);
 * - 'allow': the new key is let through untracked (fail open);
 * - 'evict-oldest': the least recently used key is forgotten anyway (it gets a fresh
 *   bucket if it comes back).
 */
import type { Clock } from '../ports/clock.js';
import { monotonicClock } from '../ports/clock.js';
import { checkNumber, invalidOption } from './errors.js';
import { BucketShape } from './token-bucket.js';

export type KeyTableFullPolicy = 'reject' | 'allow' | 'evict-oldest';

export interface KeyedRateLimiterOptions {
  capacity: number;
  refillPerSec: number;
  /** Default 100 000. */
  maxKeys?: number;
  /** Default 'reject'. */
  whenFull?: KeyTableFullPolicy;
  clock?: Clock;
}

export interface KeyedRateLimiterCounters {
  /** tryTake calls granted. */
  allowed: number;
  /** tryTake calls refused for lack of tokens. */
  refused: number;
  /** Keys forgotten because their bucket was full again. */
  evictedIdle: number;
  /** Keys forgotten while not full, to make room ('evict-oldest'). */
  evictedFull: number;
  /** New keys refused because the table was full ('reject'). */
  rejectedFull: number;
  /** New keys let through untracked because the table was full ('allow'). */
  untracked: number;
}

const UNTRACKED = -1;
const REFUSED = -2;

export class KeyedRateLimiter {
  readonly shape: BucketShape;
  readonly counters: Readonly<KeyedRateLimiterCounters>;
  private readonly c: KeyedRateLimiterCounters = { allowed: 0, refused: 0, evictedIdle: 0, evictedFull: 0, rejectedFull: 0, untracked: 0 };
  /** key -> tat (relative to origin); insertion order = least recently used first. */
  private readonly tats = new Map<string, number>();
  private readonly clock: Clock;
  private readonly origin: number;
  private readonly maxKeys: number;
  private readonly whenFull: KeyTableFullPolicy;

  constructor(options: KeyedRateLimiterOptions) {
    this.shape = new BucketShape(options.capacity, options.refillPerSec);
    this.clock = options.clock ?? monotonicClock;
    this.origin = this.clock.now();
    this.maxKeys = checkNumber('maxKeys', options.maxKeys ?? 100_000, 1);
    this.whenFull = options.whenFull ?? 'reject';
    if (!['reject', 'allow', 'evict-oldest'].includes(this.whenFull)) throw invalidOption('whenFull', this.whenFull, "must be 'reject', 'allow' or 'evict-oldest'");
    this.counters = this.c;
  }

  /** Keys currently tracked (not full). */
  get size(): number {
    return this.tats.size;
  }

  tryTake(key: string, n = 1): boolean {
    const now = this.now();
    const tat = this.touch(key, now);
    if (tat === UNTRACKED) return true;
    if (tat === REFUSED) return false;
    const next = this.shape.take(tat, now, n);
    if (Number.isNaN(next)) {
      this.c.refused++;
      this.tats.set(key, tat);
      return false;
    }
    this.c.allowed++;
    this.tats.set(key, next);
    return true;
  }

  /** Takes `n` even into debt; returns ms until the key's balance is >= 0 (Infinity: refused, table full). */
  consume(key: string, n: number): number {
    const now = this.now();
    const tat = this.touch(key, now);
    if (tat === UNTRACKED) return 0;
    if (tat === REFUSED) return Infinity;
    const next = this.shape.consume(tat, now, n);
    this.tats.set(key, next);
    return this.shape.debtMs(next, now);
  }

  /** ms until `tryTake(key, n)` would succeed, without changing anything. */
  timeUntil(key: string, n = 1): number {
    const now = this.now();
    const tat = this.tats.get(key);
    if (tat === undefined && this.tats.size >= this.maxKeys && this.whenFull === 'reject' && !this.frontIsFull(now)) return Infinity;
    return this.shape.timeUntil(tat ?? now, now, n);
  }

  /** The key's balance now (capacity if unknown). */
  tokens(key: string): number {
    const now = this.now();
    return this.shape.tokens(this.tats.get(key) ?? now, now);
  }

  forget(key: string): boolean {
    return this.tats.delete(key);
  }

  /** Forgets every key whose bucket is full; returns how many. */
  sweep(): number {
    const now = this.now();
    let n = 0;
    for (const [k, tat] of this.tats) {
      if (tat <= now) {
        this.tats.delete(k);
        n++;
      }
    }
    this.c.evictedIdle += n;
    return n;
  }

  /**
   * The key's tat, removed from the map (the caller puts it back, at the most recently
   * used end), or UNTRACKED / REFUSED when a full table says so.
   */
  private touch(key: string, now: number): number {
    const tat = this.tats.get(key);
    if (tat !== undefined) {
      this.tats.delete(key);
      this.evictIdle(now, 2);
      return tat;
    }
    this.evictIdle(now, 2);
    if (this.tats.size >= this.maxKeys) {
      if (this.whenFull === 'reject') {
        this.c.rejectedFull++;
        return REFUSED;
      }
      if (this.whenFull === 'allow') {
        this.c.untracked++;
        return UNTRACKED;
      }
      const oldest = this.tats.keys().next().value as string;
      this.tats.delete(oldest);
      this.c.evictedFull++;
    }
    return now;
  }

  private frontIsFull(now: number): boolean {
    for (const tat of this.tats.values()) return tat <= now;
    return true;
  }

  private evictIdle(now: number, max: number): void {
    let n = 0;
    for (const [k, tat] of this.tats) {
      if (n >= max || tat > now) break;
      this.tats.delete(k);
      this.c.evictedIdle++;
      n++;
    }
  }

  private now(): number {
    return this.clock.now() - this.origin;
  }
}
