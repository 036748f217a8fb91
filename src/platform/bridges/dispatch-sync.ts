/**
 * Two small synchronisation helpers of the dispatcher:
 * - SerialLock: runs async sections one after the other (FIFO), so that reading the
 *   outbox, completing a batch, trimming it (drop-oldest) and replaying dead letters into
 *   it never interleave and the in-memory counters stay exact;
 * - Waker: a sleep that something else can cut short (new message while idle, overflow,
 *   replay, stop). Spurious wake-ups are fine: the dispatcher re-checks its state.
 */
export class SerialLock {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

export class Waker {
  private resolve: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** A wake() while nobody waited: the next wait returns at once. */
  private pending = false;

  /** Resolves after `ms` (Infinity: only on wake) or at the next wake(). */
  wait(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.resolve = resolve;
      if (Number.isFinite(ms)) {
        this.timer = setTimeout(() => this.fire(), Math.max(0, ms));
        this.timer.unref();
      }
    });
  }

  wake(): void {
    if (this.resolve === undefined) this.pending = true;
    else this.fire();
  }

  get waiting(): boolean {
    return this.resolve !== undefined;
  }

  private fire(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const r = this.resolve;
    this.resolve = undefined;
    this.pending = false;
    r?.();
  }
}
