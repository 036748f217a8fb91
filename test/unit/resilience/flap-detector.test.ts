import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/ports/clock.js';
import { FlapDetector, type Ban } from '../../../src/resilience/flap-detector.js';

describe('FlapDetector', () => {
  it('bans a key with more than maxEvents events within the window, for banMs', () => {
    const clock = new ManualClock(0);
    const f = new FlapDetector({ maxEvents: 3, windowMs: 10_000, banMs: 60_000, clock });
    for (let i = 0; i < 3; i++) {
      expect(f.record('dev-1')).toBeUndefined();
      clock.advance(1000);
    }
    const ban = f.record('dev-1');
    expect(ban).toEqual({ key: 'dev-1', since: 3000, until: 63_000, reason: 'flapping' });
    expect(f.record('dev-1')).toBe(ban); // still banned: told again, not tracked
    expect(f.record('dev-2')).toBeUndefined();
    clock.set(62_999);
    expect(f.isBanned('dev-1')).toBe(ban);
    clock.set(63_000);
    expect(f.isBanned('dev-1')).toBeUndefined();
    expect(f.record('dev-1')).toBeUndefined(); // starts afresh
    expect(f.counters).toMatchObject({ bans: 1, expired: 1, whileBanned: 1 });
  });

  it('the window slides: events spread wider than the window never ban', () => {
    const clock = new ManualClock(0);
    const f = new FlapDetector({ maxEvents: 2, windowMs: 1000, banMs: 5000, clock });
    for (let i = 0; i < 100; i++) {
      expect(f.record('k')).toBeUndefined();
      clock.advance(500); // exactly 2 per 1000 ms window
    }
  });

  it('property: bans exactly when the naive sliding-window count says so', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 2000 }),
        fc.integer({ min: 1, max: 3000 }),
        fc.array(fc.record({ key: fc.integer({ min: 0, max: 3 }), dt: fc.integer({ min: 0, max: 800 }) }), { maxLength: 200 }),
        (maxEvents, windowMs, banMs, events) => {
          const clock = new ManualClock(0);
          const f = new FlapDetector({ maxEvents, windowMs, banMs, clock });
          const history = new Map<number, number[]>();
          const bannedUntil = new Map<number, number>();
          for (const { key, dt } of events) {
            clock.advance(dt);
            const now = clock.now();
            let expected: boolean;
            if ((bannedUntil.get(key) ?? -1) > now) expected = true;
            else {
              const recent = (history.get(key) ?? []).filter((t) => now - t < windowMs);
              recent.push(now);
              expected = recent.length > maxEvents;
              if (expected) {
                bannedUntil.set(key, now + banMs);
                history.set(key, []);
              } else history.set(key, recent);
            }
            const ban = f.record(`k${key}`);
            expect(ban !== undefined).toBe(expected);
            if (ban !== undefined) expect(ban.until).toBe(bannedUntil.get(key));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('bans are visible, liftable, and can be set by hand', () => {
    const clock = new ManualClock(0);
    const f = new FlapDetector({ maxEvents: 1, windowMs: 1000, banMs: 10_000, clock });
    const seen: Ban[] = [];
    f.onBan((b) => seen.push(b));
    f.record('a');
    f.record('a');
    f.ban('b', 500);
    expect(f.bans().map((b) => `${b.key}:${b.reason}:${b.until}`)).toEqual(['a:flapping:10000', 'b:manual:500']);
    expect(seen.map((b) => b.key)).toEqual(['a', 'b']);
    expect(f.lift('a')).toBe(true);
    expect(f.lift('a')).toBe(false);
    expect(f.record('a')).toBeUndefined();
    clock.advance(500);
    expect(f.bans()).toEqual([]);
    expect(f.counters).toMatchObject({ bans: 2, lifted: 1, expired: 1 });
  });

  it('property: memory stays bounded (tracked keys <= maxKeys, bans <= maxBans)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.record({ key: fc.integer({ min: 0, max: 30 }), dt: fc.integer({ min: 0, max: 50 }) }), { maxLength: 300 }),
        (maxKeys, maxBans, events) => {
          const clock = new ManualClock(0);
          const f = new FlapDetector({ maxEvents: 2, windowMs: 1000, banMs: 100_000, maxKeys, maxBans, clock });
          for (const { key, dt } of events) {
            clock.advance(dt);
            f.record(`k${key}`);
            expect(f.trackedKeys).toBeLessThanOrEqual(maxKeys);
            expect(f.bans().length).toBeLessThanOrEqual(maxBans);
          }
        },
      ),
    );
  });

  it('forgets keys with no event in the window (lazily and by sweep)', () => {
    const clock = new ManualClock(0);
    const f = new FlapDetector({ maxEvents: 5, windowMs: 1000, banMs: 1000, clock });
    for (let i = 0; i < 100; i++) f.record(`k${i}`);
    expect(f.trackedKeys).toBe(100);
    clock.advance(1000);
    f.record('new');
    expect(f.trackedKeys).toBe(99); // two old ones forgotten, one added
    expect(f.sweep()).toBe(98);
    expect(f.trackedKeys).toBe(1);
  });

  it('at the bound, the least recently seen key is dropped (counted) and the oldest ban goes first', () => {
    const clock = new ManualClock(0);
    const f = new FlapDetector({ maxEvents: 1, windowMs: 10_000, banMs: 10_000, maxKeys: 2, maxBans: 2, clock });
    f.record('a');
    f.record('b');
    f.record('c');
    expect(f.counters.evictedKeys).toBe(1);
    expect(f.record('a')).toBeUndefined(); // its history was dropped: best effort beyond the bound
    f.ban('x');
    f.ban('y');
    f.ban('z');
    expect(f.bans().map((b) => b.key)).toEqual(['y', 'z']);
    expect(f.counters.evictedBans).toBe(1);
  });
});
