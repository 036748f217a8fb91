import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/ports/clock.js';
import { LoadShedder, NodeLoadSampler, Priority, type LoadSample } from '../../../src/resilience/load-shedder.js';

/** A sampler the test sets by hand. */
class SetSampler {
  value: LoadSample = { eventLoopDelayMs: 0, heapUsedBytes: 0, rssBytes: 0 };
  sample(): LoadSample {
    return this.value;
  }
  set(delay: number, heap = 0): void {
    this.value = { eventLoopDelayMs: delay, heapUsedBytes: heap, rssBytes: 0 };
  }
}

const MB = 1024 * 1024;

function setup(recoverAfterMs = 3000) {
  const clock = new ManualClock(0);
  const sampler = new SetSampler();
  const shedder = new LoadShedder({
    sampler,
    clock,
    levels: [
      { eventLoopDelayMs: 100, heapUsedBytes: 800 * MB },
      { eventLoopDelayMs: 250, heapUsedBytes: 950 * MB },
    ],
    recoverRatio: 0.8,
    recoverAfterMs,
  });
  return { clock, sampler, shedder };
}

describe('LoadShedder', () => {
  it('escalates at once when a signal reaches a threshold, low priority refused first', () => {
    const { sampler, shedder } = setup();
    expect(shedder.update()).toBe(0);
    expect([shedder.admit(Priority.low), shedder.admit(Priority.normal), shedder.admit(Priority.critical)]).toEqual([true, true, true]);
    sampler.set(120);
    expect(shedder.update()).toBe(1);
    expect(shedder.shedding).toBe(true);
    expect([shedder.admit(Priority.low), shedder.admit(Priority.normal), shedder.admit(Priority.critical)]).toEqual([false, true, true]);
    sampler.set(10, 960 * MB); // memory alone is enough, and levels can be skipped
    shedder.update();
    expect(shedder.level).toBe(2);
    expect([shedder.admit(Priority.low), shedder.admit(Priority.normal), shedder.admit(Priority.critical)]).toEqual([false, false, true]);
    expect(shedder.counters.shed).toEqual([2, 1, 0]);
    expect(shedder.counters.admitted).toEqual([1, 2, 3]);
  });

  it('hysteresis: stays while a signal is between the recovery point and the threshold, recovers after recoverAfterMs of calm', () => {
    const { clock, sampler, shedder } = setup(3000);
    sampler.set(150);
    shedder.update();
    sampler.set(90); // below 100 but above 80 (100 x 0.8): stays
    for (let i = 0; i < 10; i++) {
      clock.advance(1000);
      expect(shedder.update()).toBe(1);
    }
    sampler.set(70);
    clock.advance(1000);
    expect(shedder.update()).toBe(1); // calm since now
    clock.advance(2000);
    expect(shedder.update()).toBe(1);
    clock.advance(1000);
    expect(shedder.update()).toBe(0);
  });

  it('a spike during the calm period restarts it', () => {
    const { clock, sampler, shedder } = setup(3000);
    sampler.set(300);
    shedder.update();
    sampler.set(50);
    shedder.update();
    clock.advance(2000);
    sampler.set(220); // above level 2's recovery point (200)
    shedder.update();
    sampler.set(50);
    clock.advance(1000);
    shedder.update();
    clock.advance(2000);
    expect(shedder.update()).toBe(2);
    clock.advance(1000);
    expect(shedder.update()).toBe(0);
  });

  it('property: a signal oscillating inside the hysteresis band never makes it flap', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 80, max: 99.9, noNaN: true }), { minLength: 1, maxLength: 100 }), (delays) => {
        const { clock, sampler, shedder } = setup(0);
        sampler.set(100);
        shedder.update();
        for (const d of delays) {
          clock.advance(100);
          sampler.set(d);
          expect(shedder.update()).toBe(1);
        }
        expect(shedder.counters.levelChanges).toBe(1);
      }),
    );
  });

  it('property: level changes only when a threshold is crossed (up) or the calm condition holds (down)', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ delay: fc.integer({ min: 0, max: 400 }), dt: fc.integer({ min: 0, max: 2000 }) }), { maxLength: 100 }), (steps) => {
        const { clock, sampler, shedder } = setup(1500);
        let calmSince: number | undefined;
        for (const { delay, dt } of steps) {
          clock.advance(dt);
          sampler.set(delay);
          const before = shedder.level;
          const enter = delay >= 250 ? 2 : delay >= 100 ? 1 : 0;
          const stay = delay >= 200 ? 2 : delay >= 80 ? 1 : 0;
          const after = shedder.update();
          if (enter > before) expect(after).toBe(enter);
          else if (stay >= before) {
            expect(after).toBe(before);
            calmSince = undefined;
          } else {
            calmSince ??= clock.now();
            expect(after).toBe(clock.now() - calmSince >= 1500 ? stay : before);
          }
          if (after !== before) calmSince = undefined;
        }
      }),
    );
  });

  it('tells listeners about level changes with the sample', () => {
    const { sampler, shedder } = setup();
    const seen: string[] = [];
    shedder.onLevelChange((level, prev, s) => seen.push(`${prev}>${level}@${s.eventLoopDelayMs}`));
    sampler.set(300);
    shedder.update();
    expect(seen).toEqual(['0>2@300']);
    expect(shedder.lastSample?.eventLoopDelayMs).toBe(300);
  });

  it('rejects thresholds that go down from one level to the next', () => {
    const sampler = new SetSampler();
    expect(() => new LoadShedder({ sampler, levels: [] })).toThrow(/levels/);
    expect(() => new LoadShedder({ sampler, levels: [{ eventLoopDelayMs: 200 }, { eventLoopDelayMs: 100 }] })).toThrow(/levels\[1\]/);
  });

  it('NodeLoadSampler sees a blocked event loop, and reads memory', async () => {
    const s = new NodeLoadSampler({ resolutionMs: 10, stat: 'max' });
    /** Waits (deadline 2 s) until the histogram has measured `n` more ticks. */
    const ticks = async (n: number): Promise<void> => {
      const want = s.ticks + n;
      const deadline = performance.now() + 2000;
      while (s.ticks < want && performance.now() < deadline) await new Promise((r) => setTimeout(r, 1));
    };
    s.start();
    try {
      await ticks(1);
      s.sample();
      const block = (ms: number): void => {
        const until = performance.now() + ms;
        while (performance.now() < until);
      };
      block(150);
      // a stall in progress is seen at sample time, before the measuring timer has run
      expect(s.sample().eventLoopDelayMs).toBeGreaterThanOrEqual(100);
      block(150);
      await ticks(1);
      // ... and a stall measured after a sample goes into the next sample
      const sample = s.sample();
      expect(sample.eventLoopDelayMs).toBeGreaterThanOrEqual(100);
      expect(sample.heapUsedBytes).toBeGreaterThan(0);
      expect(sample.rssBytes).toBeGreaterThanOrEqual(sample.heapUsedBytes);
      expect(s.ticks).toBe(0);
    } finally {
      s.stop();
    }
  });
});
