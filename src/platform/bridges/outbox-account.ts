/**
 * What one sink's outbox holds, as counters in memory (the entries themselves stay on
 * disk): depth, bytes, the age of the oldest entry, and whether the bounds are reached.
 * Restored from store.outboxStats() at start; kept up to date by the engine on every
 * enqueue, delivery, dead letter, drop and replay. Bytes are body bytes (the payload or
 * the rendered template), as the store counts them.
 */
import type { OutboxEntry, OutboxStats } from '../../ports/store.js';

export interface OutboxBounds {
  maxMessages: number;
  maxBytes: number;
}

export class OutboxAccount {
  count = 0;
  bytes = 0;
  /** createdAt of the oldest waiting entry (as far as known), undefined when empty. */
  oldestAt: number | undefined;

  constructor(public bounds: OutboxBounds) {}

  restore(stats: OutboxStats | undefined): void {
    this.count = stats?.count ?? 0;
    this.bytes = stats?.bytes ?? 0;
    this.oldestAt = stats?.oldestAt;
  }

  add(bytes: number, createdAt: number): void {
    this.count++;
    this.bytes += bytes;
    if (this.oldestAt === undefined || createdAt < this.oldestAt) this.oldestAt = createdAt;
  }

  remove(e: Pick<OutboxEntry, 'payload'>): void {
    this.count = Math.max(0, this.count - 1);
    this.bytes = Math.max(0, this.bytes - e.payload.length);
    if (this.count === 0) {
      this.bytes = 0;
      this.oldestAt = undefined;
    }
  }

  /** The head of the outbox moved on (the dispatcher loaded a batch starting at this entry). */
  headAt(createdAt: number | undefined): void {
    if (this.count === 0) this.oldestAt = undefined;
    else if (createdAt !== undefined) this.oldestAt = createdAt;
  }

  /** At or over a bound: policy refuse turns new QoS 1/2 publishes away. */
  get full(): boolean {
    return this.count >= this.bounds.maxMessages || this.bytes >= this.bounds.maxBytes;
  }

  /** Over a bound: policy drop-oldest deletes from the head. */
  get over(): boolean {
    return this.count > this.bounds.maxMessages || this.bytes > this.bounds.maxBytes;
  }

  oldestAgeMs(now: number): number {
    return this.oldestAt === undefined || this.count === 0 ? 0 : Math.max(0, now - this.oldestAt);
  }
}

/**
 * Events per second over the last `windowMs` (default one minute), in `buckets` time
 * buckets: a ring of counts, advanced lazily from the clock (no timer).
 */
export class RateWindow {
  private readonly counts: number[];
  private readonly bucketMs: number;
  private head = 0;
  private headStart: number;

  constructor(
    private readonly now: () => number,
    windowMs = 60_000,
    buckets = 12,
  ) {
    this.counts = new Array<number>(buckets).fill(0);
    this.bucketMs = windowMs / buckets;
    this.headStart = Math.floor(now() / this.bucketMs) * this.bucketMs;
  }

  add(n = 1): void {
    this.advance();
    this.counts[this.head]! += n;
  }

  perSecond(): number {
    this.advance();
    const total = this.counts.reduce((a, b) => a + b, 0);
    // The head bucket is partly elapsed: count the window as full buckets behind it plus the elapsed part.
    const spanMs = (this.counts.length - 1) * this.bucketMs + Math.max(1, this.now() - this.headStart);
    return (total * 1000) / spanMs;
  }

  private advance(): void {
    const t = this.now();
    let steps = Math.floor((t - this.headStart) / this.bucketMs);
    if (steps <= 0) return;
    if (steps > this.counts.length) steps = this.counts.length;
    for (let i = 0; i < steps; i++) {
      this.head = (this.head + 1) % this.counts.length;
      this.counts[this.head] = 0;
    }
    this.headStart = Math.floor(t / this.bucketMs) * this.bucketMs;
  }
}
