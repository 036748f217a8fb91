/**
 * Calls and failures over a sliding time window, in a ring of time buckets: O(buckets)
 * memory whatever the call rate, no timers (buckets expire as time is read). The window
 * covers the current bucket and the `buckets - 1` before it, so it spans between
 * `windowMs - windowMs / buckets` and `windowMs` of history.
 */
import { checkNumber, invalidOption } from './errors.js';

export class OutcomeWindow {
  private readonly bucketMs: number;
  private readonly calls: number[];
  private readonly failures: number[];
  private head = Number.NaN;
  private totalCalls = 0;
  private totalFailures = 0;

  constructor(
    readonly windowMs: number,
    readonly buckets = 10,
  ) {
    checkNumber('windowMs', windowMs, 0, true);
    if (!Number.isInteger(buckets) || buckets < 1) throw invalidOption('buckets', buckets, 'must be an integer >= 1');
    this.bucketMs = windowMs / buckets;
    this.calls = new Array<number>(buckets).fill(0);
    this.failures = new Array<number>(buckets).fill(0);
  }

  record(now: number, failed: boolean): void {
    this.advance(now);
    const slot = this.slot(this.head);
    this.calls[slot]++;
    this.totalCalls++;
    if (failed) {
      this.failures[slot]++;
      this.totalFailures++;
    }
  }

  /** Calls recorded in the window that ends at `now`. */
  callsAt(now: number): number {
    this.advance(now);
    return this.totalCalls;
  }

  /** Failures recorded in the window that ends at `now`. */
  failuresAt(now: number): number {
    this.advance(now);
    return this.totalFailures;
  }

  reset(): void {
    this.calls.fill(0);
    this.failures.fill(0);
    this.totalCalls = 0;
    this.totalFailures = 0;
    this.head = Number.NaN;
  }

  private slot(bucket: number): number {
    const n = this.buckets;
    return ((bucket % n) + n) % n;
  }

  private advance(now: number): void {
    const idx = Math.floor(now / this.bucketMs);
    if (Number.isNaN(this.head)) {
      this.head = idx;
      return;
    }
    if (idx <= this.head) return; // same bucket, or the clock went back: keep counting in the newest
    if (idx - this.head >= this.buckets) {
      this.calls.fill(0);
      this.failures.fill(0);
      this.totalCalls = 0;
      this.totalFailures = 0;
    } else {
      for (let b = this.head + 1; b <= idx; b++) {
        const s = this.slot(b);
        this.totalCalls -= this.calls[s];
        this.totalFailures -= this.failures[s];
        this.calls[s] = 0;
        this.failures[s] = 0;
      }
    }
    this.head = idx;
  }
}
