/**
 * Deadline-bounded waiting for the transport / chaos tests: a condition polled until it
 * holds or the deadline passes (with a message saying what was awaited and what was seen),
 * and a small promise pool to run many connections at once without opening all at once.
 */

/** Resolves once `cond()` is true; rejects after `timeoutMs` with `what` and the last `seen()`. */
export function waitUntil(cond: () => boolean, timeoutMs: number, what: string, seen?: () => unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const tick = () => {
      let ok = false;
      try {
        ok = cond();
      } catch (err) {
        reject(err as Error);
        return;
      }
      if (ok) {
        resolve();
        return;
      }
      if (Date.now() >= deadline) {
        const extra = seen === undefined ? '' : `; last seen: ${JSON.stringify(seen())}`;
        reject(new Error(`timeout after ${timeoutMs} ms waiting for ${what}${extra}`));
        return;
      }
      setTimeout(tick, 10);
    };
    tick();
  });
}

/** Rejects with `what` when `p` does not settle within `timeoutMs`. */
export function withTimeout<T>(p: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e as Error);
      },
    );
  });
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` running at once; returns results in order. */
export async function pool<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(count);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      out[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return out;
}
