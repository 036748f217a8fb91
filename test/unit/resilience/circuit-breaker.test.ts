import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/ports/clock.js';
import { HoldfastError } from '../../../src/errors/index.js';
import { CircuitBreaker, type BreakerState, type BreakerTransition } from '../../../src/resilience/circuit-breaker.js';
import { BREAKER_OPEN } from '../../../src/resilience/errors.js';
import { deadlineExceeded } from '../../../src/resilience/deadline.js';

interface ModelOptions {
  consecutive: number;
  window?: { windowMs: number; buckets: number; minimumCalls: number; rate: number };
  slowCallMs: number;
  openMs: number;
  trials: number;
}

/** The breaker's rules written the naive way: every outcome kept in a list, the window filtered on demand. */
class BreakerModel {
  state: BreakerState = 'closed';
  epoch = 1;
  private openedAt = 0;
  private consecutive = 0;
  private events: { t: number; failed: boolean }[] = [];
  private admitted = 0;
  private succeeded = 0;

  constructor(private readonly o: ModelOptions) {}

  poll(now: number): void {
    if (this.state === 'open' && now >= this.openedAt + this.o.openMs) this.go('half-open', now);
  }

  go(to: BreakerState, now: number): void {
    this.state = to;
    this.epoch++;
    this.consecutive = 0;
    this.events = [];
    this.admitted = 0;
    this.succeeded = 0;
    if (to === 'open') this.openedAt = now;
  }

  acquire(now: number): number {
    this.poll(now);
    if (this.state === 'closed') return this.epoch;
    if (this.state === 'half-open' && this.admitted < this.o.trials) {
      this.admitted++;
      return this.epoch;
    }
    return 0;
  }

  settle(now: number, ticket: number, kind: 'ok' | 'fail' | 'ignore', durationMs: number): void {
    if (ticket === 0 || ticket !== this.epoch) return;
    if (kind === 'ignore') {
      if (this.state === 'half-open') this.admitted--;
      return;
    }
    const failed = kind === 'fail' || durationMs > this.o.slowCallMs;
    if (this.state === 'half-open') {
      if (failed) this.go('open', now);
      else if (++this.succeeded >= this.o.trials) this.go('closed', now);
      return;
    }
    this.consecutive = failed ? this.consecutive + 1 : 0;
    this.events.push({ t: now, failed });
    if (failed && this.consecutive >= this.o.consecutive) {
      this.go('open', now);
      return;
    }
    const w = this.o.window;
    if (w === undefined) return;
    const bucketMs = w.windowMs / w.buckets;
    const cur = Math.floor(now / bucketMs);
    const inWindow = this.events.filter((e) => Math.floor(e.t / bucketMs) > cur - w.buckets);
    const failures = inWindow.filter((e) => e.failed).length;
    if (inWindow.length >= w.minimumCalls && failures / inWindow.length > w.rate) this.go('open', now);
  }
}

type Command =
  | { kind: 'acquire' }
  | { kind: 'settle'; pick: number; outcome: 'ok' | 'fail' | 'ignore'; durationMs: number }
  | { kind: 'advance'; ms: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Command>({ kind: 'acquire' }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('settle' as const),
      pick: fc.nat(),
      outcome: fc.constantFrom('ok' as const, 'ok' as const, 'fail' as const, 'ignore' as const),
      durationMs: fc.integer({ min: 0, max: 120 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 400 }) }) },
);

const modelOptions: fc.Arbitrary<ModelOptions> = fc.record({
  consecutive: fc.integer({ min: 1, max: 6 }),
  window: fc.option(
    fc.record({
      windowMs: fc.constantFrom(400, 1000, 1200),
      buckets: fc.integer({ min: 1, max: 5 }),
      minimumCalls: fc.integer({ min: 1, max: 8 }),
      rate: fc.constantFrom(0, 0.2, 0.35, 0.5, 0.75),
    }),
    { nil: undefined },
  ),
  slowCallMs: fc.constantFrom(50, 100, Infinity),
  openMs: fc.constantFrom(0, 100, 500),
  trials: fc.integer({ min: 1, max: 3 }),
});

describe('CircuitBreaker', () => {
  it('property: under random call sequences it agrees with a naive model (state, admission, ticket)', () => {
    fc.assert(
      fc.property(modelOptions, fc.array(command, { maxLength: 150 }), (o, commands) => {
        const clock = new ManualClock(1_000_000);
        const model = new BreakerModel(o);
        const breaker = new CircuitBreaker({
          clock,
          consecutiveFailures: o.consecutive,
          slidingWindow:
            o.window === undefined
              ? false
              : { windowMs: o.window.windowMs, buckets: o.window.buckets, minimumCalls: o.window.minimumCalls, failureRateThreshold: o.window.rate },
          slowCallMs: o.slowCallMs,
          openMs: o.openMs,
          halfOpenTrials: o.trials,
        });
        const outstanding: number[] = [];
        for (const c of commands) {
          if (c.kind === 'advance') clock.advance(c.ms);
          else if (c.kind === 'acquire') {
            const expected = model.acquire(clock.now());
            const ticket = breaker.tryAcquire();
            expect(ticket).toBe(expected);
            if (ticket !== 0) outstanding.push(ticket);
          } else if (outstanding.length > 0) {
            const [ticket] = outstanding.splice(c.pick % outstanding.length, 1);
            model.settle(clock.now(), ticket, c.outcome, c.durationMs);
            if (c.outcome === 'ok') breaker.onSuccess(ticket, c.durationMs);
            else if (c.outcome === 'fail') breaker.onFailure(ticket);
            else breaker.onIgnore(ticket);
          }
          model.poll(clock.now());
          expect(breaker.state).toBe(model.state);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('trips after 5 consecutive failures by default; a success in between resets the count', () => {
    const b = new CircuitBreaker({ clock: new ManualClock() });
    for (let i = 0; i < 4; i++) b.onFailure(b.tryAcquire());
    b.onSuccess(b.tryAcquire(), 1);
    for (let i = 0; i < 4; i++) b.onFailure(b.tryAcquire());
    expect(b.state).toBe('closed');
    b.onFailure(b.tryAcquire());
    expect(b.state).toBe('open');
    expect(b.tryAcquire()).toBe(0);
    expect(b.counters.rejected).toBe(1);
    expect(b.counters.failed).toBe(9);
  });

  it('sliding window: > 35% of >= 500 calls in 10 s trips, exactly 35% does not, older calls do not count', () => {
    const run = (failures: number, calls: number, spreadMs: number): BreakerState => {
      const clock = new ManualClock(0);
      const b = new CircuitBreaker({
        clock,
        consecutiveFailures: false,
        slidingWindow: { windowMs: 10_000, minimumCalls: 500, failureRateThreshold: 0.35 },
      });
      for (let i = 0; i < calls; i++) {
        clock.set(Math.floor((i * spreadMs) / calls));
        const t = b.tryAcquire();
        if (t === 0) break;
        // failures spread evenly: never enough in a row to matter, and the rate is reached only at the end
        if ((i * failures) % calls < failures) b.onFailure(t);
        else b.onSuccess(t, 1);
      }
      return b.state;
    };
    expect(run(176, 500, 5_000)).toBe('open'); // 35.2%
    expect(run(175, 500, 5_000)).toBe('closed'); // 35.0%
    expect(run(400, 499, 5_000)).toBe('closed'); // below the minimum volume
    // 1000 calls over 40 s: never 500 within one 10 s window
    expect(run(900, 1000, 40_000)).toBe('closed');
  });

  it('a success slower than slowCallMs counts as a failure', () => {
    const b = new CircuitBreaker({ clock: new ManualClock(), consecutiveFailures: 2, slowCallMs: 100 });
    b.onSuccess(b.tryAcquire(), 100);
    b.onSuccess(b.tryAcquire(), 101);
    expect(b.state).toBe('closed');
    b.onSuccess(b.tryAcquire(), 5000);
    expect(b.state).toBe('open');
    expect(b.counters.slow).toBe(2);
  });

  it('open -> half-open after openMs; 3 trials by default, the 4th is refused; all 3 succeeding closes', () => {
    const clock = new ManualClock();
    const b = new CircuitBreaker({ clock, consecutiveFailures: 1, openMs: 1000 });
    b.onFailure(b.tryAcquire());
    expect(b.retryAfterMs()).toBe(1000);
    clock.advance(999);
    expect(b.state).toBe('open');
    clock.advance(1);
    expect(b.state).toBe('half-open');
    const trials = [b.tryAcquire(), b.tryAcquire(), b.tryAcquire()];
    expect(trials.every((t) => t > 0)).toBe(true);
    expect(b.tryAcquire()).toBe(0);
    b.onSuccess(trials[0], 1);
    b.onSuccess(trials[1], 1);
    expect(b.state).toBe('half-open');
    b.onSuccess(trials[2], 1);
    expect(b.state).toBe('closed');
  });

  it('one failed trial re-opens for a fresh openMs; a cancelled trial frees its place', () => {
    const clock = new ManualClock();
    const b = new CircuitBreaker({ clock, consecutiveFailures: 1, openMs: 1000, halfOpenTrials: 2 });
    b.onFailure(b.tryAcquire());
    clock.advance(1000);
    const t1 = b.tryAcquire();
    const t2 = b.tryAcquire();
    expect(b.tryAcquire()).toBe(0);
    b.onIgnore(t2);
    const t3 = b.tryAcquire();
    expect(t3).toBeGreaterThan(0);
    b.onSuccess(t1, 1);
    b.onFailure(t3);
    expect(b.state).toBe('open');
    expect(b.retryAfterMs()).toBe(1000);
  });

  it('a result from before the last state change is stale: a slow call admitted while closed cannot close a half-open breaker', () => {
    const clock = new ManualClock();
    const b = new CircuitBreaker({ clock, consecutiveFailures: 1, openMs: 10, halfOpenTrials: 1 });
    const old = b.tryAcquire();
    b.onFailure(b.tryAcquire());
    clock.advance(10);
    expect(b.state).toBe('half-open');
    b.onSuccess(old, 1);
    expect(b.state).toBe('half-open');
    expect(b.counters.stale).toBe(1);
  });

  it('state changes are events with a reason; a throwing listener does not break the breaker', () => {
    const clock = new ManualClock();
    const b = new CircuitBreaker({ name: 'auth', clock, consecutiveFailures: 1, openMs: 5, halfOpenTrials: 1 });
    const seen: BreakerTransition[] = [];
    b.onStateChange(() => {
      throw new Error('listener bug');
    });
    const off = b.onStateChange((t) => seen.push(t));
    b.onFailure(b.tryAcquire());
    clock.advance(5);
    b.onSuccess(b.tryAcquire(), 0);
    b.trip();
    b.reset();
    off();
    b.trip();
    expect(seen.map((t) => `${t.from}>${t.to}:${t.reason}`)).toEqual([
      'closed>open:consecutive-failures',
      'open>half-open:open-timeout',
      'half-open>closed:trials-succeeded',
      'closed>open:forced-open',
      'open>closed:reset',
    ]);
    expect(seen[0].breaker).toBe('auth');
    expect(b.counters).toMatchObject({ opened: 3, halfOpened: 1, closed: 2 });
  });

  describe('execute', () => {
    it('refuses with BREAKER_OPEN naming the breaker, its state and the wait', async () => {
      const clock = new ManualClock();
      const b = new CircuitBreaker({ name: 'db', clock, consecutiveFailures: 1, openMs: 2000 });
      await expect(b.execute(() => Promise.reject(new Error('down')))).rejects.toThrow('down');
      let called = false;
      const err = await b
        .execute(async () => {
          called = true;
        })
        .catch((e: unknown) => e);
      expect(called).toBe(false);
      expect(err).toBeInstanceOf(HoldfastError);
      expect(err).toMatchObject({ code: BREAKER_OPEN, details: { breaker: 'db', state: 'open', retryAfterMs: 2000 } });
    });

    it('measures the duration with its clock: a slow success is a failure', async () => {
      const clock = new ManualClock();
      const b = new CircuitBreaker({ clock, consecutiveFailures: 1, slowCallMs: 50 });
      await b.execute(async () => {
        clock.advance(51);
        return 1;
      });
      expect(b.state).toBe('open');
    });

    it('a DEADLINE_EXCEEDED abort is a failure; a plain cancellation by the caller is not counted', async () => {
      const b = new CircuitBreaker({ clock: new ManualClock(), consecutiveFailures: 1 });
      const cancel = new AbortController();
      const p1 = b.execute(() => new Promise<never>(() => {}), cancel.signal);
      cancel.abort(new Error('client went away'));
      await expect(p1).rejects.toThrow('client went away');
      expect(b.state).toBe('closed');
      expect(b.counters.ignored).toBe(1);

      const deadline = new AbortController();
      const p2 = b.execute(() => new Promise<never>(() => {}), deadline.signal);
      deadline.abort(deadlineExceeded('auth', 800, 0));
      await expect(p2).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
      expect(b.state).toBe('open');
    });

    it('errors that isFailure rejects count as answers, not failures', async () => {
      const b = new CircuitBreaker({ clock: new ManualClock(), consecutiveFailures: 1, isFailure: (e) => !(e instanceof RangeError) });
      await expect(b.execute(() => Promise.reject(new RangeError('bad password')))).rejects.toThrow(RangeError);
      expect(b.state).toBe('closed');
      expect(b.counters.succeeded).toBe(1);
    });

    it('an already aborted signal throws its reason without admitting', async () => {
      const b = new CircuitBreaker({ clock: new ManualClock() });
      const c = new AbortController();
      c.abort(new Error('gone'));
      await expect(b.execute(async () => 1, c.signal)).rejects.toThrow('gone');
      expect(b.counters.admitted).toBe(0);
    });
  });

  it('rejects options it cannot work with', () => {
    expect(() => new CircuitBreaker({ halfOpenTrials: 0 })).toThrow(/halfOpenTrials/);
    expect(() => new CircuitBreaker({ consecutiveFailures: 0 })).toThrow(/consecutiveFailures/);
    expect(() => new CircuitBreaker({ slidingWindow: { windowMs: 1000, minimumCalls: 1, failureRateThreshold: 1 } })).toThrow(/failureRateThreshold/);
  });
});
