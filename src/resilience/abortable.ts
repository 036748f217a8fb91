/**
 * Waits for `work` unless `signal` aborts first; then rejects with `onAbort()` and leaves
 * `work` to finish in the background (its result or error is dropped). The caller bounds
 * such background work (a NATS publish has its own timeout, a PostgreSQL query its statement
 * timeout).
 */
export function abortable<T>(work: Promise<T>, signal: AbortSignal, onAbort: () => Error): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(onAbort());
  }
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => reject(onAbort());
    signal.addEventListener('abort', abort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', abort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(e);
      },
    );
  });
}
