import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/ports/clock.js';
import { KeyedRateLimiter, type KeyTableFullPolicy } from '../../../src/resilience/keyed-rate-limiter.js';
import { TokenBucket } from '../../../src/resilience/token-bucket.js';
import { expectWithinRate } from './rate-check.js';

const op = fc.record({
  key: fc.integer({ min: 0, max: 12 }),
  dt: fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 3000 })),
  n: fc.integer({ min: 1, max: 3 }),
});

describe('KeyedRateLimiter', () => {
  it('property: with room for every key it decides exactly as one TokenBucket per key', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), fc.double({ min: 0.5, max: 500, noNaN: true }), fc.array(op, { maxLength: 200 }), (capacity, perSec, ops) => {
        const clock = new ManualClock();
        const keyed = new KeyedRateLimiter({ capacity, refillPerSec: perSec, clock });
        const buckets = new Map<number, TokenBucket>();
        for (const { key, dt, n } of ops) {
          clock.advance(dt);
          let b = buckets.get(key);
          if (b === undefined) buckets.set(key, (b = new TokenBucket({ capacity, refillPerSec: perSec, clock })));
          expect(keyed.tryTake(`k${key}`, n)).toBe(b.tryTake(n));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('property: whatever the eviction, no key ever exceeds its rate over any window, and the table stays bounded (reject / allow)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom(1, 10, 100),
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom<KeyTableFullPolicy>('reject', 'allow'),
        fc.array(op, { maxLength: 300 }),
        (capacity, perSec, maxKeys, whenFull, ops) => {
          const clock = new ManualClock();
          const keyed = new KeyedRateLimiter({ capacity, refillPerSec: perSec, maxKeys, whenFull, clock });
          const grants = new Map<number, Array<[number, number]>>();
          let untracked = 0;
          for (const { key, dt, n } of ops) {
            clock.advance(dt);
            const before = keyed.counters.untracked;
            if (keyed.tryTake(`k${key}`, n)) {
              if (keyed.counters.untracked > before) untracked++;
              else grants.set(key, [...(grants.get(key) ?? []), [clock.now(), n]]);
            }
            expect(keyed.size).toBeLessThanOrEqual(maxKeys);
          }
          for (const g of grants.values()) expectWithinRate(g, capacity, perSec);
          if (whenFull === 'reject') expect(untracked).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('forgets a key once its bucket is full again: O(1) memory per active key only', () => {
    const clock = new ManualClock();
    const l = new KeyedRateLimiter({ capacity: 5, refillPerSec: 5, clock });
    for (let i = 0; i < 1000; i++) l.tryTake(`ip-${i}`);
    expect(l.size).toBe(1000);
    clock.advance(199);
    expect(l.sweep()).toBe(0);
    clock.advance(1);
    expect(l.sweep()).toBe(1000);
    expect(l.size).toBe(0);
    // lazily too: each call forgets a couple of the least recently used full keys
    for (let i = 0; i < 10; i++) l.tryTake(`ip-${i}`);
    clock.advance(1000);
    for (let i = 0; i < 5; i++) l.tryTake('hot');
    expect(l.size).toBeLessThanOrEqual(1);
    expect(l.counters.evictedIdle).toBe(1010);
  });

  it("a full table: 'reject' refuses new keys, 'allow' lets them through untracked, 'evict-oldest' forgets the LRU key", () => {
    const make = (whenFull: KeyTableFullPolicy) => {
      const clock = new ManualClock();
      const l = new KeyedRateLimiter({ capacity: 2, refillPerSec: 1, maxKeys: 2, whenFull, clock });
      l.tryTake('a', 2);
      l.tryTake('b', 2);
      return l;
    };
    const reject = make('reject');
    expect(reject.tryTake('c')).toBe(false);
    expect(reject.timeUntil('c')).toBe(Infinity);
    expect(reject.consume('c', 1)).toBe(Infinity);
    expect(reject.counters.rejectedFull).toBe(2);
    const allow = make('allow');
    expect(allow.tryTake('c')).toBe(true);
    expect(allow.counters.untracked).toBe(1);
    expect(allow.size).toBe(2);
    const evict = make('evict-oldest');
    expect(evict.tryTake('c')).toBe(true);
    expect(evict.counters.evictedFull).toBe(1);
    expect(evict.tokens('a')).toBe(2); // forgotten: looks full again
    expect(evict.tokens('b')).toBe(0);
  });

  it('consume charges a key into debt and returns the pause', () => {
    const clock = new ManualClock();
    const l = new KeyedRateLimiter({ capacity: 100, refillPerSec: 100, clock });
    expect(l.consume('client', 300)).toBe(2000);
    expect(l.timeUntil('client', 1)).toBe(2010);
    expect(l.tryTake('other')).toBe(true);
  });
});
