/**
 * Retry with exponential backoff and jitter (AWS Architecture Blog, "Exponential Backoff
 * and Jitter"):
 * - full:         delay_k = random(0, min(cap, base * 2^k))
 * - decorrelated: delay_k = min(cap, random(base, 3 * delay_{k-1})), delay_{-1} = base
 * - none:         delay_k = min(cap, base * 2^k)
 * bounded by a number of attempts, a total time budget and the caller's deadline, and
 * only for errors the `retryable` predicate accepts. An abort of the signal ends the
 * sleep and the loop at once, with the signal's reason.
 */
import type { Clock } from '../ports/clock.js';
import { systemClock } from '../ports/clock.js';
import { HoldfastError } from '../errors/index.js';
import { deadlineOf } from './deadline.js';
import { RETRY_EXHAUSTED, checkNumber } from './errors.js';
import { sleep as schedulerSleep, type Scheduler } from './scheduler.js';

export type Jitter = 'full' | 'decorrelated' | 'none';

export interface BackoffOptions {
  /** First delay scale (default 100 ms). */
  baseMs?: number;
  /** No delay is longer (default 10 000 ms). */
  capMs?: number;
  /** Default 'full'. */
  jitter?: Jitter;
  /** Uniform in [0, 1) (default Math.random). */
  random?: () => number;
}

/** The delay sequence of one retry loop. */
export class Backoff {
  private readonly baseMs: number;
  private readonly capMs: number;
  private readonly jitter: Jitter;
  private readonly random: () => number;
  private retries = 0;
  private prev: number;

  constructor(options: BackoffOptions = {}) {
    this.baseMs = checkNumber('baseMs', options.baseMs ?? 100, 0);
    this.capMs = checkNumber('capMs', options.capMs ?? 10_000, 0);
    this.jitter = options.jitter ?? 'full';
    this.random = options.random ?? Math.random;
    this.prev = this.baseMs;
  }

  /** The delay before the next retry. */
  next(): number {
    const k = this.retries++;
    const d = backoffDelay(this.jitter, k, this.prev, this.baseMs, this.capMs, this.random());
    this.prev = d;
    return d;
  }

  reset(): void {
    this.retries = 0;
    this.prev = this.baseMs;
  }
}

/** The k-th delay (k from 0) given the previous delay and one uniform draw `u` in [0, 1). */
export function backoffDelay(jitter: Jitter, k: number, prevMs: number, baseMs: number, capMs: number, u: number): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(k, 62));
  switch (jitter) {
    case 'none':
      return ceiling;
    case 'full':
      return u * ceiling;
    case 'decorrelated': {
      const lo = baseMs;
      const hi = Math.max(lo, 3 * prevMs);
      return Math.min(capMs, lo + u * (hi - lo));
    }
  }
}

export interface RetryOptions extends BackoffOptions {
  /** Named in the RETRY_EXHAUSTED error (default 'operation'). */
  operation?: string;
  /** Attempts in all, the first one included (default 3; Infinity allowed with a budget). */
  maxAttempts?: number;
  /** No retry starts (sleep included) later than this after the first attempt began (default Infinity). */
  budgetMs?: number;
  /** Which errors are worth another attempt (default: all). */
  retryable?: (err: unknown, attempt: number) => boolean;
  /** Default: a timer (through `scheduler`), aborted by the signal. */
  sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
  scheduler?: Scheduler;
  clock?: Clock;
  /** Told before each sleep. */
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
}

export type RetryGiveUp = 'attempts' | 'budget' | 'deadline';

/**
 * Calls `fn(attempt, signal)` (attempt from 1) until it resolves. Rethrows at once an
 * error that is not retryable, or any error once the signal has aborted; throws
 * RETRY_EXHAUSTED (cause: the last error; details.why: attempts | budget | deadline)
 * when it gives up; rejects with the signal's reason if it aborts during a sleep.
 */
export async function retry<T>(
  fn: (attempt: number, signal: AbortSignal | undefined) => Promise<T>,
  options: RetryOptions = {},
  signal?: AbortSignal,
): Promise<T> {
  const maxAttempts = checkNumber('maxAttempts', options.maxAttempts ?? 3, 1, false, true);
  const budgetMs = checkNumber('budgetMs', options.budgetMs ?? Infinity, 0, false, true);
  const clock = options.clock ?? systemClock;
  const retryable = options.retryable ?? (() => true);
  const scheduler = options.scheduler;
  const sleep = options.sleep ?? ((ms: number, s: AbortSignal | undefined) => schedulerSleep(ms, s, scheduler));
  const backoff = new Backoff(options);
  const start = clock.now();
  const deadlineAt = deadlineOf(signal) ?? Infinity;
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await fn(attempt, signal);
    } catch (err) {
      if (signal?.aborted || !retryable(err, attempt)) throw err;
      const why: RetryGiveUp | undefined = attempt >= maxAttempts ? 'attempts' : undefined;
      const delayMs = why === undefined ? backoff.next() : 0;
      const now = clock.now();
      const giveUp = why ?? (now - start + delayMs > budgetMs ? 'budget' : now + delayMs >= deadlineAt ? 'deadline' : undefined);
      if (giveUp !== undefined) throw exhausted(options.operation ?? 'operation', attempt, now - start, giveUp, err);
      options.onRetry?.({ attempt, delayMs, error: err });
      await sleep(delayMs, signal);
    }
  }
}

function exhausted(operation: string, attempts: number, elapsedMs: number, why: RetryGiveUp, cause: unknown): HoldfastError {
  const last = cause instanceof Error ? cause.message : String(cause);
  return new HoldfastError(RETRY_EXHAUSTED, `${operation}: gave up after ${attempts} attempt(s) (${why}): ${last}`, {
    cause,
    details: { operation, attempts, elapsedMs, why },
  });
}
