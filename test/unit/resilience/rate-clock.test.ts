import { afterEach, describe, expect, it, vi } from 'vitest';
import { monotonicClock } from '../../../src/ports/clock.js';
import { KeyedRateLimiter, TokenBucket } from '../../../src/resilience/index.js';

// Rates run on monotonic time: a step of the wall clock (NTP, a resumed VM) must neither
// empty nor fill the buckets. With Date.now() as their clock, a 60 s backward step refused
// every connect for a minute.
describe('rate limits and wall-clock steps', () => {
  afterEach(() => vi.restoreAllMocks());

  it('monotonicClock is on the epoch-ms scale and never goes back', () => {
    expect(Math.abs(monotonicClock.now() - Date.now())).toBeLessThan(60_000);
    let last = monotonicClock.now();
    for (let i = 0; i < 10_000; i++) {
      const t = monotonicClock.now();
      expect(t).toBeGreaterThanOrEqual(last);
      last = t;
    }
  });

  it('a TokenBucket with the default clock keeps granting when Date.now() steps back 60 s', () => {
    const b = new TokenBucket({ capacity: 5, refillPerSec: 1000 });
    for (let i = 0; i < 5; i++) expect(b.tryTake()).toBe(true);
    const wall = Date.now();
    vi.spyOn(Date, 'now').mockReturnValue(wall - 60_000);
    const until = monotonicClock.now() + 50;
    let granted = false;
    while (!granted && monotonicClock.now() < until) granted = b.tryTake();
    expect(granted).toBe(true); // refilled after ~1 ms of real time, despite the step
  });

  it('a TokenBucket with the default clock is not refilled by a forward step of Date.now()', () => {
    const b = new TokenBucket({ capacity: 3, refillPerSec: 0.001 });
    for (let i = 0; i < 3; i++) expect(b.tryTake()).toBe(true);
    vi.spyOn(Date, 'now').mockReturnValue(Date.now() + 3_600_000);
    expect(b.tryTake()).toBe(false);
  });

  it('a KeyedRateLimiter with the default clock ignores a backward step too', () => {
    const l = new KeyedRateLimiter({ capacity: 2, refillPerSec: 1000, maxKeys: 10, whenFull: 'reject' });
    expect(l.tryTake('10.0.0.1')).toBe(true);
    expect(l.tryTake('10.0.0.1')).toBe(true);
    vi.spyOn(Date, 'now').mockReturnValue(Date.now() - 60_000);
    const until = monotonicClock.now() + 50;
    let granted = false;
    while (!granted && monotonicClock.now() < until) granted = l.tryTake('10.0.0.1');
    expect(granted).toBe(true);
  });
});
