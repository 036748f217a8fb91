/**
 * One circuit breaker per key (per gateway, per sink, per downstream host), made on first
 * use, with bounded memory: at most `maxKeys` breakers (the least recently used goes
 * first) and a breaker unused for `idleMs` is forgotten. Eviction is lazy (on `get`) and
 * amortised O(1); `sweep()` does a full pass for callers with a periodic tick.
 *
 * Forgetting a breaker forgets that its dependency was failing: choose `idleMs` well
 * above the breakers' `openMs`.
 */
import type { Clock } from '../ports/clock.js';
import { systemClock } from '../ports/clock.js';
import { CircuitBreaker, type BreakerTransition, type CircuitBreakerOptions } from './circuit-breaker.js';
import { checkNumber } from './errors.js';

export interface BreakerRegistryOptions {
  /** Options of every breaker (name and clock are set by the registry). */
  breaker?: Omit<CircuitBreakerOptions, 'name' | 'clock'>;
  /** Per-key options, merged over `breaker`. */
  optionsFor?: (key: string) => Omit<CircuitBreakerOptions, 'name' | 'clock'>;
  /** Prefix of the breakers' names (`${prefix}:${key}`); default 'breaker'. */
  name?: string;
  /** Default 10 000. */
  maxKeys?: number;
  /** Default 10 minutes. */
  idleMs?: number;
  clock?: Clock;
}

export interface BreakerRegistryCounters {
  created: number;
  evictedIdle: number;
  evictedLru: number;
}

export type KeyedBreakerListener = (key: string, t: BreakerTransition) => void;

interface Entry {
  breaker: CircuitBreaker;
  lastUsed: number;
}

export class BreakerRegistry {
  readonly counters: Readonly<BreakerRegistryCounters>;
  private readonly c: BreakerRegistryCounters = { created: 0, evictedIdle: 0, evictedLru: 0 };
  /** Insertion order = least recently used first. */
  private readonly entries = new Map<string, Entry>();
  private readonly clock: Clock;
  private readonly maxKeys: number;
  private readonly idleMs: number;
  private listeners: KeyedBreakerListener[] = [];

  constructor(private readonly options: BreakerRegistryOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.maxKeys = checkNumber('maxKeys', options.maxKeys ?? 10_000, 1);
    this.idleMs = checkNumber('idleMs', options.idleMs ?? 600_000, 0, true, true);
    this.counters = this.c;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The breaker of `key`, made if needed; marks it used. */
  get(key: string): CircuitBreaker {
    const now = this.clock.now();
    let e = this.entries.get(key);
    if (e !== undefined) {
      this.entries.delete(key);
      e.lastUsed = now;
      this.entries.set(key, e);
    } else {
      e = { breaker: this.create(key), lastUsed: now };
      this.entries.set(key, e);
      this.c.created++;
      if (this.entries.size > this.maxKeys) {
        const oldest = this.entries.keys().next().value as string;
        this.entries.delete(oldest);
        this.c.evictedLru++;
      }
    }
    this.evictIdle(now, 2);
    return e.breaker;
  }

  /** The breaker of `key` if there is one, without making it or marking it used. */
  peek(key: string): CircuitBreaker | undefined {
    return this.entries.get(key)?.breaker;
  }

  /** `get(key).execute(fn, signal)`. */
  execute<T>(key: string, fn: (signal: AbortSignal | undefined) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.get(key).execute(fn, signal);
  }

  delete(key: string): boolean {
    return this.entries.delete(key);
  }

  /** Forgets every breaker idle for `idleMs`; returns how many. */
  sweep(): number {
    return this.evictIdle(this.clock.now(), Infinity);
  }

  /** [key, breaker] pairs, least recently used first (for metrics and the admin API). */
  *breakers(): IterableIterator<[string, CircuitBreaker]> {
    for (const [k, e] of this.entries) yield [k, e.breaker];
  }

  onStateChange(listener: KeyedBreakerListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  private create(key: string): CircuitBreaker {
    const o = this.options;
    const b = new CircuitBreaker({ ...o.breaker, ...o.optionsFor?.(key), name: `${o.name ?? 'breaker'}:${key}`, clock: this.clock });
    b.onStateChange((t) => {
      for (const l of this.listeners) {
        try {
          l(key, t);
        } catch {
          // listeners must not break the breaker
        }
      }
    });
    return b;
  }

  private evictIdle(now: number, max: number): number {
    let n = 0;
    for (const [k, e] of this.entries) {
      if (n >= max || now - e.lastUsed < this.idleMs) break;
      this.entries.delete(k);
      this.c.evictedIdle++;
      n++;
    }
    return n;
  }
}
