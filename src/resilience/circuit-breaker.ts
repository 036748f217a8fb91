/**
 * A circuit breaker: closed (calls flow, outcomes counted) -> open (calls refused at once)
 * -> half-open after `openMs` (a few trial calls) -> closed when every trial succeeds, or
 * open again at the first trial failure.
 *
 * Trip policies, either or both:
 * - consecutive failures (default 5);
 * - failure rate over a sliding window, with a minimum volume (e.g. > 35% of >= 500
 *   calls in 10 s).
 * A success slower than `slowCallMs` counts as a failure.
 *
 * Two ways in: `execute(fn, signal)` for promises, and `tryAcquire()` + `onSuccess` /
 * `onFailure` / `onIgnore` for hot paths that cannot wrap a promise. `tryAcquire` returns
 * a ticket (0 = refused) that must be handed back exactly once: a result whose ticket was
 * issued before the last state change is stale and not counted (a slow call admitted
 * while closed must not close a half-open breaker).
 *
 * No timers: open -> half-open happens on the first call or inspection (`state`,
 * `tryAcquire`) after the timeout. State changes go to listeners; counters are plain
 * numbers for the metrics layer to read.
 */
import type { Clock } from '../ports/clock.js';
import { systemClock } from '../ports/clock.js';
import { HoldfastError } from '../errors/index.js';
import { isDeadlineExceeded, raceSignal } from './deadline.js';
import { BREAKER_OPEN, checkNumber, invalidOption } from './errors.js';
import { OutcomeWindow } from './outcome-window.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

export type TransitionReason =
  | 'consecutive-failures'
  | 'failure-rate'
  | 'open-timeout'
  | 'trial-failed'
  | 'trials-succeeded'
  | 'forced-open'
  | 'reset';

export interface BreakerTransition {
  breaker: string;
  from: BreakerState;
  to: BreakerState;
  reason: TransitionReason;
  at: number;
}

export interface SlidingWindowPolicy {
  windowMs: number;
  /** No trip below this many calls in the window. */
  minimumCalls: number;
  /** Trips when failures / calls is strictly above this (0..1). */
  failureRateThreshold: number;
  /** Resolution of the window (default 10 buckets). */
  buckets?: number;
}

export interface CircuitBreakerOptions {
  name?: string;
  clock?: Clock;
  /** Trip after this many failures in a row (default 5); false to disable. */
  consecutiveFailures?: number | false;
  /** Trip on a failure rate over a time window (default: disabled). */
  slidingWindow?: SlidingWindowPolicy | false;
  /** A success that took longer than this counts as a failure (default Infinity). */
  slowCallMs?: number;
  /** Time spent open before trials are let through (default 10 000). */
  openMs?: number;
  /** Trial calls in half-open; all must succeed to close (default 3). */
  halfOpenTrials?: number;
  /**
   * Which errors thrown through `execute` are the dependency's failures (default: all).
   * An error that is not counts as a success: the dependency answered. A cancellation by
   * the caller's signal (an abort that is not DEADLINE_EXCEEDED) counts as neither.
   */
  isFailure?: (err: unknown) => boolean;
}

export interface BreakerCounters {
  admitted: number;
  succeeded: number;
  failed: number;
  /** Successes counted as failures because they were slow (also in `failed`). */
  slow: number;
  rejected: number;
  ignored: number;
  /** Results whose ticket predates the last state change, not counted. */
  stale: number;
  opened: number;
  halfOpened: number;
  closed: number;
}

export type BreakerListener = (t: BreakerTransition) => void;

export class CircuitBreaker {
  readonly name: string;
  readonly counters: Readonly<BreakerCounters>;
  private readonly c: BreakerCounters = {
    admitted: 0,
    succeeded: 0,
    failed: 0,
    slow: 0,
    rejected: 0,
    ignored: 0,
    stale: 0,
    opened: 0,
    halfOpened: 0,
    closed: 0,
  };
  private readonly clock: Clock;
  private readonly maxConsecutive: number;
  private readonly window: OutcomeWindow | undefined;
  private readonly minimumCalls: number;
  private readonly rateThreshold: number;
  private readonly slowCallMs: number;
  private readonly openMs: number;
  private readonly trials: number;
  private readonly isFailure: (err: unknown) => boolean;
  private listeners: BreakerListener[] = [];

  private current: BreakerState = 'closed';
  private epoch = 1;
  private openedAt = 0;
  private consecutive = 0;
  private trialsAdmitted = 0;
  private trialsSucceeded = 0;

  constructor(options: CircuitBreakerOptions = {}) {
    this.name = options.name ?? 'breaker';
    this.clock = options.clock ?? systemClock;
    const cf = options.consecutiveFailures ?? 5;
    this.maxConsecutive = cf === false ? Infinity : checkNumber('consecutiveFailures', cf, 1);
    const w = options.slidingWindow ?? false;
    if (w !== false) {
      this.window = new OutcomeWindow(w.windowMs, w.buckets ?? 10);
      this.minimumCalls = checkNumber('slidingWindow.minimumCalls', w.minimumCalls, 1);
      this.rateThreshold = checkNumber('slidingWindow.failureRateThreshold', w.failureRateThreshold, 0);
      if (w.failureRateThreshold >= 1) throw invalidOption('slidingWindow.failureRateThreshold', w.failureRateThreshold, 'must be below 1');
    } else {
      this.minimumCalls = Infinity;
      this.rateThreshold = 1;
    }
    this.slowCallMs = checkNumber('slowCallMs', options.slowCallMs ?? Infinity, 0, false, true);
    this.openMs = checkNumber('openMs', options.openMs ?? 10_000, 0);
    const trials = options.halfOpenTrials ?? 3;
    if (!Number.isInteger(trials) || trials < 1) throw invalidOption('halfOpenTrials', trials, 'must be an integer >= 1');
    this.trials = trials;
    this.isFailure = options.isFailure ?? (() => true);
    this.counters = this.c;
  }

  /** The state now (moves open -> half-open when the timeout has passed). */
  get state(): BreakerState {
    this.poll();
    return this.current;
  }

  /** Milliseconds until an open breaker lets trials through; 0 when not open. */
  retryAfterMs(): number {
    this.poll();
    return this.current === 'open' ? Math.max(0, this.openedAt + this.openMs - this.clock.now()) : 0;
  }

  /** Admits a call: a ticket (> 0) to hand back to onSuccess/onFailure/onIgnore, or 0 if refused. */
  tryAcquire(): number {
    this.poll();
    if (this.current === 'closed') {
      this.c.admitted++;
      return this.epoch;
    }
    if (this.current === 'half-open' && this.trialsAdmitted < this.trials) {
      this.trialsAdmitted++;
      this.c.admitted++;
      return this.epoch;
    }
    this.c.rejected++;
    return 0;
  }

  /** The admitted call succeeded after `durationMs` (slower than slowCallMs: a failure). */
  onSuccess(ticket: number, durationMs = 0): void {
    if (!this.isCurrent(ticket)) return;
    if (durationMs > this.slowCallMs) {
      this.c.slow++;
      this.recordFailure();
    } else {
      this.c.succeeded++;
      this.recordSuccess();
    }
  }

  onFailure(ticket: number): void {
    if (!this.isCurrent(ticket)) return;
    this.recordFailure();
  }

  /** The admitted call ended without a verdict on the dependency (cancelled by its caller). */
  onIgnore(ticket: number): void {
    if (!this.isCurrent(ticket)) return;
    this.c.ignored++;
    if (this.current === 'half-open') this.trialsAdmitted--;
  }

  /**
   * Runs `fn` if the breaker admits it, else throws BREAKER_OPEN. Settles no later than
   * `signal` aborts, even when `fn` ignores the signal; a DEADLINE_EXCEEDED abort counts
   * as a failure of the dependency, any other abort as a cancellation (not counted).
   */
  async execute<T>(fn: (signal: AbortSignal | undefined) => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    const ticket = this.tryAcquire();
    if (ticket === 0) throw this.openError();
    const start = this.clock.now();
    let result: T;
    try {
      result = await raceSignal(fn(signal), signal);
    } catch (err) {
      if (signal?.aborted && err === signal.reason && !isDeadlineExceeded(err)) this.onIgnore(ticket);
      else if (isDeadlineExceeded(err) || this.isFailure(err)) this.onFailure(ticket);
      else this.onSuccess(ticket, this.clock.now() - start);
      throw err;
    }
    this.onSuccess(ticket, this.clock.now() - start);
    return result;
  }

  /** The error `execute` throws when refused. */
  openError(): HoldfastError {
    const state = this.state;
    return new HoldfastError(BREAKER_OPEN, `circuit breaker ${this.name} is ${state}`, {
      details: { breaker: this.name, state, retryAfterMs: this.retryAfterMs() },
    });
  }

  /** Forces the breaker open (for `openMs`, then trials as usual). */
  trip(): void {
    this.transition('open', 'forced-open');
  }

  /** Forces the breaker closed, forgetting what it counted. */
  reset(): void {
    this.transition('closed', 'reset');
  }

  /** Listens to state changes; returns the unsubscribe function. Listener errors are swallowed. */
  onStateChange(listener: BreakerListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  snapshot(): { name: string; state: BreakerState; retryAfterMs: number; consecutiveFailures: number; windowCalls: number; windowFailures: number } {
    const now = this.clock.now();
    return {
      name: this.name,
      state: this.state,
      retryAfterMs: this.retryAfterMs(),
      consecutiveFailures: this.consecutive,
      windowCalls: this.window?.callsAt(now) ?? 0,
      windowFailures: this.window?.failuresAt(now) ?? 0,
    };
  }

  private isCurrent(ticket: number): boolean {
    if (ticket === this.epoch && ticket > 0) return true;
    this.c.stale++;
    return false;
  }

  private poll(): void {
    if (this.current === 'open' && this.clock.now() >= this.openedAt + this.openMs) this.transition('half-open', 'open-timeout');
  }

  private recordSuccess(): void {
    if (this.current === 'half-open') {
      if (++this.trialsSucceeded >= this.trials) this.transition('closed', 'trials-succeeded');
      return;
    }
    if (this.current !== 'closed') return;
    this.consecutive = 0;
    if (this.window !== undefined) {
      this.window.record(this.clock.now(), false);
      this.checkRate();
    }
  }

  private recordFailure(): void {
    this.c.failed++;
    if (this.current === 'half-open') {
      this.transition('open', 'trial-failed');
      return;
    }
    if (this.current !== 'closed') return;
    this.consecutive++;
    this.window?.record(this.clock.now(), true);
    if (this.consecutive >= this.maxConsecutive) this.transition('open', 'consecutive-failures');
    else this.checkRate();
  }

  private checkRate(): void {
    const w = this.window;
    if (w === undefined) return;
    const now = this.clock.now();
    const calls = w.callsAt(now);
    if (calls >= this.minimumCalls && w.failuresAt(now) / calls > this.rateThreshold) this.transition('open', 'failure-rate');
  }

  private transition(to: BreakerState, reason: TransitionReason): void {
    const from = this.current;
    const at = this.clock.now();
    this.current = to;
    this.epoch++;
    this.consecutive = 0;
    this.trialsAdmitted = 0;
    this.trialsSucceeded = 0;
    this.window?.reset();
    if (to === 'open') {
      this.openedAt = at;
      this.c.opened++;
    } else if (to === 'half-open') this.c.halfOpened++;
    else this.c.closed++;
    const t: BreakerTransition = { breaker: this.name, from, to, reason, at };
    for (const l of this.listeners) {
      try {
        l(t);
      } catch {
        // a listener (metrics, logs) must not break the breaker
      }
    }
  }
}
