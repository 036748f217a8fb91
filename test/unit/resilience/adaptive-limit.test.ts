import { describe, expect, it } from 'vitest';
import { AdaptiveLimit, type AdaptiveLimitOptions } from '../../../src/resilience/adaptive-limit.js';
import { DeadlineHeap } from '../../../src/resilience/deadline-heap.js';

const BASE_MS = 10;

interface PhaseResult {
  capacity: number;
  meanLimit: number;
  meanLatency: number;
}

/**
 * A closed-loop simulation in virtual time: unlimited demand, a service that can run
 * `capacity` calls at once in BASE_MS and queues the rest (latency = BASE_MS x
 * inflight / capacity beyond it). Each phase runs `calls` completions; the second half
 * of each is measured.
 */
function simulate(options: AdaptiveLimitOptions, phases: Array<{ capacity: number; calls: number }>): PhaseResult[] {
  const limit = new AdaptiveLimit({ initialLimit: 5, ...options });
  const done = new DeadlineHeap<number>();
  let now = 0;
  let inflight = 0;
  return phases.map(({ capacity, calls }) => {
    let completed = 0;
    let limitSum = 0;
    let latencySum = 0;
    let measured = 0;
    while (completed < calls) {
      while (limit.acquire()) {
        inflight++;
        const latency = BASE_MS * Math.max(1, inflight / capacity);
        done.push(now + latency, latency);
      }
      now = done.peekDeadline();
      for (const latency of done.popDue(now)) {
        limit.release(latency, true);
        inflight--;
        completed++;
        if (completed > calls / 2) {
          limitSum += limit.limit;
          latencySum += latency;
          measured++;
        }
      }
    }
    return { capacity, meanLimit: limitSum / measured, meanLatency: latencySum / measured };
  });
}

const phases = [20, 10, 50, 20].map((capacity) => ({ capacity, calls: 20_000 }));

describe('AdaptiveLimit', () => {
  it('aimd converges on the concurrency where latency reaches the threshold, and follows capacity down and up', () => {
    // threshold 2 x base: the limit should settle near 2 x capacity, latency near the threshold
    for (const r of simulate({ algorithm: 'aimd', latencyThresholdMs: 2 * BASE_MS }, phases)) {
      expect(r.meanLimit, `capacity ${r.capacity}`).toBeGreaterThan(1.6 * r.capacity);
      expect(r.meanLimit, `capacity ${r.capacity}`).toBeLessThan(2.4 * r.capacity);
      expect(r.meanLatency).toBeLessThanOrEqual(2.2 * BASE_MS);
    }
  });

  it('gradient converges near capacity without a configured threshold, and follows capacity down and up', () => {
    for (const r of simulate({ algorithm: 'gradient' }, phases)) {
      expect(r.meanLimit, `capacity ${r.capacity}`).toBeGreaterThan(r.capacity);
      expect(r.meanLimit, `capacity ${r.capacity}`).toBeLessThan(2.5 * r.capacity);
      expect(r.meanLatency).toBeLessThan(2.5 * BASE_MS);
    }
  });

  it('never admits more than the limit in flight', () => {
    const l = new AdaptiveLimit({ initialLimit: 3 });
    expect([l.acquire(), l.acquire(), l.acquire(), l.acquire()]).toEqual([true, true, true, false]);
    expect(l.inFlight).toBe(3);
    expect(l.counters).toEqual({ admitted: 3, rejected: 1, drops: 0 });
    l.cancel();
    expect(l.acquire()).toBe(true);
  });

  it('aimd: a failure cuts the limit once per round, not once per call already in flight', () => {
    const l = new AdaptiveLimit({ algorithm: 'aimd', initialLimit: 10, backoffRatio: 0.5 });
    for (let i = 0; i < 10; i++) l.acquire();
    for (let i = 0; i < 10; i++) l.release(1, false);
    expect(l.limit).toBe(5);
    expect(l.counters.drops).toBe(1);
    for (let i = 0; i < 5; i++) l.acquire();
    l.release(1, false);
    expect(l.limit).toBe(2);
  });

  it('does not grow while mostly idle; stays within [minLimit, maxLimit]', () => {
    const idle = new AdaptiveLimit({ algorithm: 'aimd', initialLimit: 10, maxLimit: 12 });
    for (let i = 0; i < 100; i++) {
      idle.acquire();
      idle.release(1, true);
    }
    expect(idle.limit).toBe(10);
    const busy = new AdaptiveLimit({ algorithm: 'aimd', initialLimit: 10, maxLimit: 12, minLimit: 2 });
    for (let round = 0; round < 50; round++) {
      while (busy.acquire());
      for (let i = busy.inFlight; i > 0; i--) busy.release(1, true);
    }
    expect(busy.limit).toBe(12);
    for (let round = 0; round < 50; round++) {
      while (busy.acquire());
      for (let i = busy.inFlight; i > 0; i--) busy.release(1, false);
    }
    expect(busy.limit).toBe(2);
  });

  it('reports limit changes', () => {
    const seen: number[] = [];
    const l = new AdaptiveLimit({ algorithm: 'aimd', initialLimit: 4, backoffRatio: 0.5, onLimitChange: (x) => seen.push(x) });
    l.acquire();
    l.release(1, false);
    expect(seen).toEqual([2]);
  });
});
