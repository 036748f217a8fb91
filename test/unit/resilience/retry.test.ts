import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/ports/clock.js';
import { withDeadline } from '../../../src/resilience/deadline.js';
import { RETRY_EXHAUSTED } from '../../../src/resilience/errors.js';
import { Backoff, backoffDelay, retry } from '../../../src/resilience/retry.js';
import { VirtualTime } from './virtual-time.js';

const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('backoff jitter bounds', () => {
  it('property: full jitter is within [0, min(cap, base * 2^k))', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 1, max: 100 }), fc.integer({ min: 0, max: 60_000 }), unit, (k, base, cap, u) => {
        const d = backoffDelay('full', k, 0, base, cap, u);
        const ceiling = Math.min(cap, base * 2 ** Math.min(k, 62));
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(ceiling);
        if (ceiling > 0) expect(d).toBeLessThan(ceiling);
        expect(Number.isFinite(d)).toBe(true);
      }),
    );
  });

  it('property: decorrelated jitter stays within [base, min(cap, 3 x previous)] over a whole sequence', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 500, max: 30_000 }), fc.array(unit, { minLength: 1, maxLength: 50 }), (base, cap, draws) => {
        let i = 0;
        const b = new Backoff({ jitter: 'decorrelated', baseMs: base, capMs: cap, random: () => draws[i++ % draws.length] });
        let prev = base;
        for (let n = 0; n < draws.length; n++) {
          const d = b.next();
          expect(d).toBeGreaterThanOrEqual(base);
          expect(d).toBeLessThanOrEqual(Math.min(cap, 3 * prev));
          prev = d;
        }
      }),
    );
  });

  it('no jitter doubles up to the cap; the draw decides where full jitter lands', () => {
    const b = new Backoff({ jitter: 'none', baseMs: 100, capMs: 1000 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 800, 1000]);
    b.reset();
    expect(b.next()).toBe(100);
    expect(backoffDelay('full', 3, 0, 100, 10_000, 0.5)).toBe(400);
    expect(backoffDelay('decorrelated', 0, 100, 100, 10_000, 0.5)).toBe(200);
  });
});

describe('retry', () => {
  /** An injected sleep that moves the manual clock, and remembers the delays. */
  const setup = () => {
    const clock = new ManualClock(0);
    const slept: number[] = [];
    const sleep = async (ms: number) => {
      slept.push(ms);
      clock.advance(ms);
    };
    return { clock, slept, sleep };
  };

  it('retries until success with the backoff delays between attempts', async () => {
    const { clock, slept, sleep } = setup();
    const attempts: number[] = [];
    const v = await retry(
      async (attempt) => {
        attempts.push(attempt);
        if (attempt < 3) throw new Error(`fail ${attempt}`);
        return 'ok';
      },
      { clock, sleep, jitter: 'none', baseMs: 10, maxAttempts: 5 },
    );
    expect(v).toBe('ok');
    expect(attempts).toEqual([1, 2, 3]);
    expect(slept).toEqual([10, 20]);
  });

  it('gives up after maxAttempts with RETRY_EXHAUSTED carrying the last error', async () => {
    const { clock, sleep } = setup();
    const last = new Error('fail 3');
    let n = 0;
    const err = await retry(
      async () => {
        n++;
        throw n === 3 ? last : new Error(`fail ${n}`);
      },
      { clock, sleep, maxAttempts: 3, operation: 'sink.write' },
    ).catch((e: unknown) => e);
    expect(n).toBe(3);
    expect(err).toMatchObject({ code: RETRY_EXHAUSTED, cause: last, details: { operation: 'sink.write', attempts: 3, why: 'attempts' } });
  });

  it('rethrows at once an error that is not retryable', async () => {
    const { clock, sleep, slept } = setup();
    const fatal = new TypeError('bad config');
    let n = 0;
    const err = await retry(
      async () => {
        n++;
        throw fatal;
      },
      { clock, sleep, retryable: (e) => !(e instanceof TypeError) },
    ).catch((e: unknown) => e);
    expect(err).toBe(fatal);
    expect(n).toBe(1);
    expect(slept).toEqual([]);
  });

  it('stops before a sleep that would cross the total budget', async () => {
    const { clock, sleep, slept } = setup();
    const err = await retry(
      async () => {
        clock.advance(30);
        throw new Error('slow failure');
      },
      { clock, sleep, jitter: 'none', baseMs: 100, capMs: 100, maxAttempts: Infinity, budgetMs: 500 },
    ).catch((e: unknown) => e);
    // attempts take 30 ms, sleeps 100 ms: 30+100+30+100+30+100+30 = 420; one more sleep would end at 550
    expect(slept).toEqual([100, 100, 100]);
    expect(err).toMatchObject({ code: RETRY_EXHAUSTED, details: { attempts: 4, why: 'budget' } });
  });

  it("stops before a sleep that would cross the caller's deadline", async () => {
    const vt = new VirtualTime(0);
    const d = withDeadline(undefined, 250, 'caller', { clock: vt, scheduler: vt });
    const p = retry(
      async () => {
        throw new Error('down');
      },
      { clock: vt, scheduler: vt, jitter: 'none', baseMs: 100, maxAttempts: 10 },
      d.signal,
    ).catch((e: unknown) => e);
    await vt.advance(100);
    const err = await p;
    expect(vt.now()).toBe(100);
    // sleeps 100 (t=100), 200 would end at 300 > 250
    expect(err).toMatchObject({ code: RETRY_EXHAUSTED, details: { attempts: 2, why: 'deadline' } });
    d.dispose();
  });

  it('an abort during the sleep ends the loop at once with the reason, leaving no timer', async () => {
    const vt = new VirtualTime(0);
    const c = new AbortController();
    let n = 0;
    const p = retry(
      async () => {
        n++;
        throw new Error('down');
      },
      { clock: vt, scheduler: vt, jitter: 'none', baseMs: 1000, maxAttempts: 10 },
      c.signal,
    );
    const result = p.catch((e: unknown) => e);
    await vt.advance(10);
    expect(vt.pending).toBe(1);
    c.abort(new Error('shutting down'));
    expect(((await result) as Error).message).toBe('shutting down');
    expect(n).toBe(1);
    expect(vt.pending).toBe(0);
  });

  it('does not start when the signal is already aborted', async () => {
    const c = new AbortController();
    c.abort(new Error('no'));
    let called = false;
    await expect(
      retry(async () => {
        called = true;
      }, {}, c.signal),
    ).rejects.toThrow('no');
    expect(called).toBe(false);
  });

  it('property: the default full jitter sleeps never exceed the cap nor the exponential ceiling', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 12 }), fc.integer(), async (base, cap, attempts, seed) => {
        const { clock, slept, sleep } = setup();
        const random = mulberry(seed);
        await retry(
          async () => {
            throw new Error('x');
          },
          { clock, sleep, baseMs: base, capMs: cap, maxAttempts: attempts, random },
        ).catch(() => {});
        expect(slept.length).toBe(attempts - 1);
        slept.forEach((d, k) => {
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThanOrEqual(Math.min(cap, base * 2 ** k));
        });
      }),
      { numRuns: 100 },
    );
  });
});

/** A small seeded PRNG in [0, 1). */
function mulberry(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
