import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/ports/clock.js';
import { TokenBucket } from '../../../src/resilience/token-bucket.js';
import { expectWithinRate } from './rate-check.js';

const op = fc.record({ dt: fc.oneof(fc.integer({ min: 0, max: 50 }), fc.double({ min: 0, max: 2000, noNaN: true })), n: fc.integer({ min: 1, max: 4 }) });

describe('TokenBucket', () => {
  it('property: never grants more than capacity + rate x w over any window of w ms', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.double({ min: 0.5, max: 2000, noNaN: true }), fc.array(op, { maxLength: 200 }), (capacity, perSec, ops) => {
        const clock = new ManualClock(1_700_000_000_000);
        const b = new TokenBucket({ capacity, refillPerSec: perSec, clock });
        const grants: Array<[number, number]> = [];
        for (const { dt, n } of ops) {
          clock.advance(dt);
          if (b.tryTake(n)) grants.push([clock.now(), n]);
        }
        expectWithinRate(grants, capacity, perSec);
      }),
      { numRuns: 200 },
    );
  });

  it('property: decides exactly as a textbook bucket (tokens + last refill) when the arithmetic is exact', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.constantFrom(1, 2, 4, 5, 10, 20, 50, 100, 1000),
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 700 }), n: fc.integer({ min: 1, max: 12 }) }), { maxLength: 200 }),
        (capacity, perSec, ops) => {
          const clock = new ManualClock(5_000);
          const b = new TokenBucket({ capacity, refillPerSec: perSec, clock });
          const interval = 1000 / perSec;
          // the model keeps credit in ms of refill: capacity tokens = capacity * interval ms
          let credit = capacity * interval;
          let last = clock.now();
          for (const { dt, n } of ops) {
            clock.advance(dt);
            credit = Math.min(capacity * interval, credit + (clock.now() - last));
            last = clock.now();
            const expected = credit >= n * interval;
            if (expected) credit -= n * interval;
            expect(b.tryTake(n)).toBe(expected);
            expect(b.tokens()).toBeCloseTo(credit / interval, 9);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('property: timeUntil(n) is exactly how long to wait for tryTake(n)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.constantFrom(1, 2, 5, 10, 100),
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 300 }), n: fc.integer({ min: 1, max: 10 }) }), { maxLength: 50 }),
        fc.integer({ min: 1, max: 10 }),
        (capacity, perSec, ops, want) => {
          const clock = new ManualClock();
          const b = new TokenBucket({ capacity, refillPerSec: perSec, clock });
          for (const { dt, n } of ops) {
            clock.advance(dt);
            b.tryTake(n);
          }
          const w = b.timeUntil(want);
          if (want > capacity) {
            expect(w).toBe(Infinity);
            return;
          }
          if (w >= 1) {
            clock.advance(w - 1);
            expect(b.tryTake(want)).toBe(false);
            clock.advance(1);
          } else clock.advance(w);
          expect(b.tryTake(want)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('consume goes into debt and says how long to stop (throttling by not reading)', () => {
    const clock = new ManualClock();
    const b = new TokenBucket({ capacity: 1000, refillPerSec: 1000, clock }); // 1000 bytes/s
    expect(b.consume(400)).toBe(0);
    expect(b.consume(1600)).toBe(1000); // 1000 bytes over: 1 s
    expect(b.tokens()).toBe(-1000);
    expect(b.tryTake(1)).toBe(false);
    clock.advance(1000);
    expect(b.tokens()).toBe(0);
    clock.advance(1);
    expect(b.tryTake(1)).toBe(true);
    expect(b.counters).toEqual({ taken: 2001, refused: 1 });
  });

  it('starts full unless told otherwise, and knows when it is full again', () => {
    const clock = new ManualClock();
    const b = new TokenBucket({ capacity: 10, refillPerSec: 10, initialTokens: 0, clock });
    expect(b.tryTake()).toBe(false);
    expect(b.isFull()).toBe(false);
    clock.advance(1000);
    expect(b.isFull()).toBe(true);
    expect(() => new TokenBucket({ capacity: 0, refillPerSec: 1 })).toThrow(/capacity/);
    expect(() => new TokenBucket({ capacity: 1, refillPerSec: 0 })).toThrow(/refillPerSec/);
  });
});
