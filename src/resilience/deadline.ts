/**
 * Deadlines travel as AbortSignals. A callee either inherits its caller's deadline
 * (`inheritDeadline`: a cache read) or starts its own, bounded by the caller's
 * (`withDeadline`: a database write gets 800 ms, or less if the caller has less left).
 *
 * The abort reason is always visible: a fired deadline aborts with a HoldfastError
 * DEADLINE_EXCEEDED naming the operation whose deadline fired; a child aborted by its
 * parent carries the parent's reason unchanged (so an outer deadline is reported as the
 * outer operation, not the inner one).
 *
 * No leaks: a child holds one listener on its parent and at most one timer, both released
 * by `dispose()` (call it when the work ends, in a `finally`), by the deadline firing or
 * by the parent aborting. AbortSignal.any is not used: on Node 20 its links to a
 * long-lived parent (a connection's signal) are released only by garbage collection.
 */
import type { Clock } from '../ports/clock.js';
import { systemClock } from '../ports/clock.js';
import { HoldfastError, isHoldfastError } from '../errors/index.js';
import { DEADLINE_EXCEEDED, checkNumber } from './errors.js';
import { type Scheduler, timerScheduler } from './scheduler.js';

export interface Deadline {
  /** Aborts at the earlier of the parent's abort and this deadline. */
  readonly signal: AbortSignal;
  /** When it fires, in clock milliseconds (the earlier of its own and the inherited one); Infinity if never. */
  readonly deadlineAt: number;
  /** Milliseconds left (0 when passed), by the clock it was made with. */
  remainingMs(): number;
  /** Releases the timer and the listener on the parent. Idempotent. Does not abort the signal. */
  dispose(): void;
}

export interface DeadlineOptions {
  clock?: Clock;
  scheduler?: Scheduler;
}

/** The absolute deadline attached to signals made here, so that callees can see how much time is left. */
const deadlines = new WeakMap<AbortSignal, number>();
const never = new AbortController().signal;

/** The deadline (clock ms) a signal made by withDeadline carries, or undefined for any other signal. */
export function deadlineOf(signal: AbortSignal | undefined): number | undefined {
  return signal === undefined ? undefined : deadlines.get(signal);
}

export function deadlineExceeded(operation: string, timeoutMs: number, deadlineAt: number): HoldfastError {
  return new HoldfastError(DEADLINE_EXCEEDED, `${operation}: deadline of ${timeoutMs} ms exceeded`, {
    details: { operation, timeoutMs, deadlineAt },
  });
}

/** True for a DEADLINE_EXCEEDED error, optionally only the one of `operation`. */
export function isDeadlineExceeded(err: unknown, operation?: string): err is HoldfastError {
  return isHoldfastError(err, DEADLINE_EXCEEDED) && (operation === undefined || err.details?.operation === operation);
}

/**
 * A fresh deadline of `ms` for `operation`, bounded by `parent`: the child aborts when the
 * parent does (with the parent's reason) or after `ms` (with DEADLINE_EXCEEDED), whichever
 * comes first. `ms` may be Infinity (only the parent bounds it) or 0 (already expired).
 */
export function withDeadline(parent: AbortSignal | undefined, ms: number, operation: string, options: DeadlineOptions = {}): Deadline {
  checkNumber('deadline ms', ms, 0, false, true);
  const clock = options.clock ?? systemClock;
  const scheduler = options.scheduler ?? timerScheduler;
  const now = clock.now();
  const own = now + ms;
  const inherited = deadlineOf(parent) ?? Infinity;
  const deadlineAt = Math.min(own, inherited);
  const controller = new AbortController();
  const signal = controller.signal;
  deadlines.set(signal, deadlineAt);

  let cancelTimer: (() => void) | undefined;
  let onParentAbort: (() => void) | undefined;
  const dispose = (): void => {
    if (cancelTimer !== undefined) {
      cancelTimer();
      cancelTimer = undefined;
    }
    if (onParentAbort !== undefined) {
      parent!.removeEventListener('abort', onParentAbort);
      onParentAbort = undefined;
    }
  };
  const deadline: Deadline = {
    signal,
    deadlineAt,
    remainingMs: () => Math.max(0, deadlineAt - clock.now()),
    dispose,
  };

  if (parent?.aborted) {
    controller.abort(parent.reason);
    return deadline;
  }
  if (ms <= 0) {
    controller.abort(deadlineExceeded(operation, ms, own));
    return deadline;
  }
  if (parent !== undefined) {
    onParentAbort = (): void => {
      onParentAbort = undefined;
      dispose();
      controller.abort(parent.reason);
    };
    parent.addEventListener('abort', onParentAbort, { once: true });
  }
  // When the parent's own deadline comes first, it fires and reaches us through the
  // listener: no second timer.
  if (own < inherited && Number.isFinite(own)) {
    cancelTimer = scheduler.schedule(() => {
      cancelTimer = undefined;
      dispose();
      controller.abort(deadlineExceeded(operation, ms, own));
    }, ms);
  }
  return deadline;
}

/**
 * The caller's deadline, unchanged, in the same shape as withDeadline (dispose is a
 * no-op), so a callee can choose between the two in one line. No parent: never aborts.
 */
export function inheritDeadline(parent: AbortSignal | undefined, options: Pick<DeadlineOptions, 'clock'> = {}): Deadline {
  const clock = options.clock ?? systemClock;
  const deadlineAt = deadlineOf(parent) ?? Infinity;
  return {
    signal: parent ?? never,
    deadlineAt,
    remainingMs: () => Math.max(0, deadlineAt - clock.now()),
    dispose: () => {},
  };
}

/**
 * Settles like `promise`, or rejects with `signal.reason` as soon as the signal aborts,
 * for work that does not honour its signal itself. The listener is removed either way.
 */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      promise.catch(() => {});
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/**
 * Runs `fn` under a fresh deadline of `ms` bounded by `parent`, and settles no later than
 * the deadline even if `fn` ignores its signal. Disposes the deadline when done.
 */
export async function runWithDeadline<T>(
  parent: AbortSignal | undefined,
  ms: number,
  operation: string,
  fn: (signal: AbortSignal) => Promise<T>,
  options: DeadlineOptions = {},
): Promise<T> {
  const d = withDeadline(parent, ms, operation, options);
  try {
    d.signal.throwIfAborted();
    return await raceSignal(fn(d.signal), d.signal);
  } finally {
    d.dispose();
  }
}
