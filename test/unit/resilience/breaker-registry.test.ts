import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/ports/clock.js';
import { BreakerRegistry } from '../../../src/resilience/breaker-registry.js';

describe('BreakerRegistry', () => {
  it('one breaker per key, named after it, with shared and per-key options', () => {
    const r = new BreakerRegistry({
      name: 'sink',
      clock: new ManualClock(),
      breaker: { consecutiveFailures: 3 },
      optionsFor: (key) => (key === 'fragile' ? { consecutiveFailures: 1 } : {}),
    });
    const a = r.get('a');
    expect(r.get('a')).toBe(a);
    expect(a.name).toBe('sink:a');
    for (let i = 0; i < 2; i++) a.onFailure(a.tryAcquire());
    expect(a.state).toBe('closed');
    const f = r.get('fragile');
    f.onFailure(f.tryAcquire());
    expect(f.state).toBe('open');
    expect(r.get('b').state).toBe('closed');
    expect(r.counters.created).toBe(3);
  });

  it('forwards state changes with the key', () => {
    const r = new BreakerRegistry({ clock: new ManualClock(), breaker: { consecutiveFailures: 1 } });
    const seen: string[] = [];
    r.onStateChange((key, t) => seen.push(`${key}:${t.to}`));
    const b = r.get('host-1');
    b.onFailure(b.tryAcquire());
    expect(seen).toEqual(['host-1:open']);
  });

  it('forgets breakers idle for idleMs (lazily on get, or by sweep)', () => {
    const clock = new ManualClock();
    const r = new BreakerRegistry({ clock, idleMs: 1000 });
    const a = r.get('a');
    r.get('b');
    clock.advance(600);
    r.get('b');
    clock.advance(400);
    r.get('c'); // a idle for 1000 ms: goes
    expect(r.peek('a')).toBeUndefined();
    expect(r.peek('b')).toBeDefined();
    expect(r.get('a')).not.toBe(a);
    clock.advance(5000);
    expect(r.sweep()).toBe(3);
    expect(r.size).toBe(0);
    expect(r.counters.evictedIdle).toBe(4);
  });

  it('property: never holds more than maxKeys breakers; the least recently used goes first', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 200 }), (maxKeys, keys) => {
        const r = new BreakerRegistry({ clock: new ManualClock(), maxKeys });
        const lru: string[] = [];
        for (const k of keys) {
          const key = `k${k}`;
          r.get(key);
          const i = lru.indexOf(key);
          if (i >= 0) lru.splice(i, 1);
          lru.push(key);
          if (lru.length > maxKeys) lru.shift();
          expect(r.size).toBeLessThanOrEqual(maxKeys);
          expect([...r.breakers()].map(([key]) => key)).toEqual(lru);
        }
      }),
    );
  });
});
