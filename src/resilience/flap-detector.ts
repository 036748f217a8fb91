/**
 * Flapping detection: a key (a client id) with more than `maxEvents` events (connects)
 * within `windowMs` is banned for `banMs`. The window slides exactly: each key keeps the
 * times of its last `maxEvents` events (a small ring), so the (maxEvents + 1)-th event
 * within any `windowMs` bans. Bans are visible (`bans()`), liftable (`lift`), and can be
 * set by hand (`ban`).
 *
 * Bounded memory: at most `maxKeys` keys tracked (a key with no event within the window
 * is forgotten first, lazily; at the bound the least recently seen key goes, which is
 * counted: detection is best effort beyond the bound) and at most `maxBans` bans (at the
 * bound the oldest ban is dropped, counted). No timers: bans expire as they are read.
 */
import type { Clock } from '../ports/clock.js';
import { systemClock } from '../ports/clock.js';
import { checkNumber, invalidOption } from './errors.js';

export interface FlapDetectorOptions {
  /** More than this many events within the window bans. */
  maxEvents: number;
  windowMs: number;
  banMs: number;
  /** Default 100 000. */
  maxKeys?: number;
  /** Default 100 000. */
  maxBans?: number;
  clock?: Clock;
}

export interface Ban {
  key: string;
  since: number;
  until: number;
  reason: 'flapping' | 'manual';
}

export interface FlapDetectorCounters {
  events: number;
  /** Events of keys already banned (not tracked). */
  whileBanned: number;
  bans: number;
  lifted: number;
  expired: number;
  /** Tracked keys forgotten at the bound while still inside their window. */
  evictedKeys: number;
  /** Bans dropped at the bound before their end. */
  evictedBans: number;
}

export type BanListener = (ban: Ban) => void;

interface History {
  /** Event times, a ring of at most maxEvents. */
  times: number[];
  /** Index of the oldest time once the ring is full. */
  oldest: number;
  newest: number;
}

export class FlapDetector {
  readonly counters: Readonly<FlapDetectorCounters>;
  private readonly c: FlapDetectorCounters = { events: 0, whileBanned: 0, bans: 0, lifted: 0, expired: 0, evictedKeys: 0, evictedBans: 0 };
  private readonly maxEvents: number;
  private readonly windowMs: number;
  private readonly banMs: number;
  private readonly maxKeys: number;
  private readonly maxBans: number;
  private readonly clock: Clock;
  /** Least recently seen first. */
  private readonly histories = new Map<string, History>();
  /** Oldest ban first. */
  private readonly banned = new Map<string, Ban>();
  private banListeners: BanListener[] = [];

  constructor(options: FlapDetectorOptions) {
    if (!Number.isInteger(options.maxEvents) || options.maxEvents < 1) throw invalidOption('maxEvents', options.maxEvents, 'must be an integer >= 1');
    this.maxEvents = options.maxEvents;
    this.windowMs = checkNumber('windowMs', options.windowMs, 0, true);
    this.banMs = checkNumber('banMs', options.banMs, 0, true);
    this.maxKeys = checkNumber('maxKeys', options.maxKeys ?? 100_000, 1);
    this.maxBans = checkNumber('maxBans', options.maxBans ?? 100_000, 1);
    this.clock = options.clock ?? systemClock;
    this.counters = this.c;
  }

  /** Keys with events inside their window (an upper bound: forgetting is lazy). */
  get trackedKeys(): number {
    return this.histories.size;
  }

  /**
   * Records one event of `key` (a connect). Returns the ban if the key is banned, already
   * or by this event; undefined if it may proceed.
   */
  record(key: string): Ban | undefined {
    const now = this.clock.now();
    this.c.events++;
    const existing = this.isBanned(key);
    if (existing !== undefined) {
      this.c.whileBanned++;
      return existing;
    }
    let h = this.histories.get(key);
    if (h !== undefined) this.histories.delete(key);
    this.forgetIdle(now, 2);
    if (h === undefined) {
      if (this.histories.size >= this.maxKeys) {
        const lru = this.histories.keys().next().value as string;
        this.histories.delete(lru);
        this.c.evictedKeys++;
      }
      h = { times: [], oldest: 0, newest: now };
    }
    if (h.times.length === this.maxEvents && now - h.times[h.oldest] < this.windowMs) {
      // maxEvents earlier events and this one, all within the window.
      return this.addBan(key, now, this.banMs, 'flapping');
    }
    if (h.times.length < this.maxEvents) h.times.push(now);
    else {
      h.times[h.oldest] = now;
      h.oldest = (h.oldest + 1) % this.maxEvents;
    }
    h.newest = now;
    this.histories.set(key, h);
    return undefined;
  }

  /** The key's ban if it is banned now. */
  isBanned(key: string): Ban | undefined {
    const b = this.banned.get(key);
    if (b === undefined) return undefined;
    if (b.until > this.clock.now()) return b;
    this.banned.delete(key);
    this.c.expired++;
    return undefined;
  }

  /** Bans `key` by hand for `ms` (default banMs). */
  ban(key: string, ms = this.banMs): Ban {
    checkNumber('ban ms', ms, 0, true, true);
    this.histories.delete(key);
    return this.addBan(key, this.clock.now(), ms, 'manual');
  }

  /** Lifts the key's ban; returns whether there was one. */
  lift(key: string): boolean {
    const had = this.isBanned(key) !== undefined;
    if (had) {
      this.banned.delete(key);
      this.c.lifted++;
    }
    return had;
  }

  /** The bans in force, oldest first. */
  bans(): Ban[] {
    this.sweep();
    return [...this.banned.values()];
  }

  /** Drops expired bans and forgets keys with no event in their window; returns how many entries went. */
  sweep(): number {
    const now = this.clock.now();
    let n = 0;
    for (const [k, b] of this.banned) {
      if (b.until <= now) {
        this.banned.delete(k);
        this.c.expired++;
        n++;
      }
    }
    return n + this.forgetIdle(now, Infinity);
  }

  onBan(listener: BanListener): () => void {
    this.banListeners = [...this.banListeners, listener];
    return () => {
      this.banListeners = this.banListeners.filter((l) => l !== listener);
    };
  }

  private addBan(key: string, now: number, ms: number, reason: Ban['reason']): Ban {
    this.histories.delete(key);
    this.banned.delete(key);
    for (const [k, b] of this.banned) {
      if (this.banned.size < this.maxBans) break;
      this.banned.delete(k);
      if (b.until <= now) this.c.expired++;
      else this.c.evictedBans++;
    }
    const ban: Ban = { key, since: now, until: now + ms, reason };
    this.banned.set(key, ban);
    this.c.bans++;
    for (const l of this.banListeners) {
      try {
        l(ban);
      } catch {
        // listeners (logs, metrics) must not break admission
      }
    }
    return ban;
  }

  /** Forgets up to `max` least recently seen keys whose newest event is out of the window. */
  private forgetIdle(now: number, max: number): number {
    let n = 0;
    for (const [k, h] of this.histories) {
      if (n >= max) break;
      if (now - h.newest < this.windowMs) {
        if (max !== Infinity) break;
        continue;
      }
      this.histories.delete(k);
      n++;
    }
    return n;
  }
}
