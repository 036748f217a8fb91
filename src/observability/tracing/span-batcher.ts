/**
 * The bounded queue between ended span records and an exporter: records are handed over in
 * batches (`batchSpans`, or `delayMs` after the first of a batch ended), at most `maxSpans`
 * are queued or being exported at a time, and past that a record is dropped and counted.
 * The broker never waits for an exporter: `push` is O(1) and never blocks.
 */
import type { SpanRecord, SpanRecordSink } from './span-record.js';

/** Hands one batch to the exporter; `done(ok)` once it is exported or failed (exactly once). */
export type SendBatch = (batch: SpanRecord[], done: (ok: boolean) => void) => void;

export interface SpanBatcherOptions {
  /** Spans queued plus being exported at most; more are dropped. */
  maxSpans: number;
  /** Spans per batch at most (a batch leaves as soon as it is full). */
  batchSpans: number;
  /** Longest wait of an ended span for its batch to leave. */
  delayMs: number;
  send: SendBatch;
}

export interface SpanExportStats {
  /** Waiting for their batch, and handed to the exporter but not yet done. */
  queued: number;
  exported: number;
  /** Export failed (collector down, timeout, refused). */
  failed: number;
  /** Not queued: the bound was reached. */
  dropped: number;
}

export class SpanBatcher implements SpanRecordSink {
  private batch: SpanRecord[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly stats_ = { exported: 0, failed: 0, dropped: 0 };

  constructor(private readonly opts: SpanBatcherOptions) {
    if (!(opts.maxSpans >= 1 && opts.batchSpans >= 1 && opts.delayMs >= 0)) throw new RangeError('span batcher: maxSpans and batchSpans must be >= 1, delayMs >= 0');
  }

  push(record: SpanRecord): void {
    if (this.batch.length + this.inFlight >= this.opts.maxSpans) {
      this.stats_.dropped++;
      return;
    }
    this.batch.push(record);
    if (this.batch.length >= this.opts.batchSpans) this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), this.opts.delayMs);
      this.timer.unref();
    }
  }

  /** Hands what is queued to the exporter now. */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = this.batch;
    if (batch.length === 0) return;
    this.batch = [];
    this.inFlight += batch.length;
    let settled = false;
    const done = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      this.inFlight -= batch.length;
      if (ok) this.stats_.exported += batch.length;
      else this.stats_.failed += batch.length;
    };
    try {
      this.opts.send(batch, done);
    } catch {
      done(false);
    }
  }

  stats(): SpanExportStats {
    return { queued: this.batch.length + this.inFlight, ...this.stats_ };
  }
}
