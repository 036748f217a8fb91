/**
 * Per-event-kind rate limiting of log lines, so that a storm (ten thousand clients
 * failing auth, a flapping store) cannot flood the disk: each kind of line (its message
 * text, or its `event` field) has a token bucket of `burst` lines refilled at
 * `linesPerS`. Lines over the budget are dropped and counted; the next line of that kind
 * that passes carries `suppressed: N`, and a `log lines suppressed` summary (kind -> count)
 * goes out with the next line of any kind once `summaryIntervalMs` has passed, so that
 * nothing is dropped silently. `fatal` lines are never limited.
 *
 * The set of kinds is bounded (`maxKinds`): past it, new kinds share one bucket.
 */
export interface LogRateLimitOptions {
  /** Sustained lines per second per kind; 0 disables limiting. */
  linesPerS: number;
  /** Lines a kind may write at once before the rate applies. */
  burst: number;
  summaryIntervalMs?: number;
  maxKinds?: number;
  /** ms clock, for tests. */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  last: number;
  /** Dropped since the last line of this kind that passed. */
  pending: number;
}

const OTHER = '(other kinds)';

export class LogRateLimiter {
  readonly enabled: boolean;
  /** Lines dropped since start, by level label (bounded: the pino levels). */
  readonly suppressedByLevel = new Map<string, number>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly unreported = new Map<string, number>();
  private lastSummary: number;
  private readonly now: () => number;
  private readonly summaryIntervalMs: number;
  private readonly maxKinds: number;

  constructor(private readonly opts: LogRateLimitOptions) {
    this.enabled = opts.linesPerS > 0;
    this.now = opts.now ?? Date.now;
    this.summaryIntervalMs = opts.summaryIntervalMs ?? 10_000;
    this.maxKinds = opts.maxKinds ?? 1_000;
    this.lastSummary = this.now();
  }

  /**
   * Whether a line of `kind` may be written now. Returns -1 to drop it, otherwise the number
   * of lines of this kind dropped just before it (0 usually).
   */
  take(kind: string, level: string): number {
    const now = this.now();
    let b = this.buckets.get(kind);
    if (b === undefined && this.buckets.size >= this.maxKinds) {
      kind = OTHER;
      b = this.buckets.get(kind);
    }
    if (b === undefined) {
      b = { tokens: this.opts.burst, last: now, pending: 0 };
      this.buckets.set(kind, b);
    } else {
      b.tokens = Math.min(this.opts.burst, b.tokens + ((now - b.last) / 1000) * this.opts.linesPerS);
      b.last = now;
    }
    if (b.tokens < 1) {
      b.pending++;
      this.suppressedByLevel.set(level, (this.suppressedByLevel.get(level) ?? 0) + 1);
      this.unreported.set(kind, (this.unreported.get(kind) ?? 0) + 1);
      return -1;
    }
    b.tokens -= 1;
    const dropped = b.pending;
    b.pending = 0;
    if (dropped > 0) this.unreported.delete(kind); // reported on this very line
    return dropped;
  }

  /** Kinds with lines dropped and not yet reported, once per summary interval; else undefined. */
  dueSummary(): Record<string, number> | undefined {
    if (this.unreported.size === 0) return undefined;
    const now = this.now();
    if (now - this.lastSummary < this.summaryIntervalMs) return undefined;
    this.lastSummary = now;
    const out = Object.fromEntries(this.unreported);
    this.unreported.clear();
    return out;
  }

  get suppressedTotal(): number {
    let n = 0;
    for (const v of this.suppressedByLevel.values()) n += v;
    return n;
  }
}
