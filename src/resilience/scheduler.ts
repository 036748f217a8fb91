/**
 * Timers as a port, like the Clock: deadlines, retry sleeps and samplers schedule through
 * a Scheduler so that tests drive them with virtual time, and so that the broker can put
 * them on its own sweep instead of one Node timer each.
 */
export interface Scheduler {
  /** Runs `fn` once after `ms`; returns a function that cancels it (idempotent). */
  schedule(fn: () => void, ms: number): () => void;
}

/** The Node timers. */
export const timerScheduler: Scheduler = {
  schedule(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    return () => clearTimeout(t);
  },
};

/**
 * Resolves after `ms`, or rejects with `signal.reason` as soon as the signal aborts. Never
 * leaves a timer or a listener behind, whichever comes first.
 */
export function sleep(ms: number, signal?: AbortSignal, scheduler: Scheduler = timerScheduler): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    let done = false;
    function onAbort(): void {
      if (done) return;
      done = true;
      cancel();
      reject(signal!.reason);
    }
    const cancel = scheduler.schedule(() => {
      if (done) return;
      done = true;
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (!done) signal?.addEventListener('abort', onAbort, { once: true });
  });
}
