/**
 * Counters of one sink (plain numbers, read by status() and the metrics at scrape time),
 * the send/ack/failure rates over the last minute, and the last error seen.
 */
import type { Clock } from '../../ports/clock.js';
import { RateWindow } from './outbox-account.js';
import type { SinkStatus } from './types.js';

export class SinkStats {
  readonly totals: SinkStatus['totals'] = {
    enqueued: 0,
    sent: 0,
    acked: 0,
    failed: 0,
    batches: 0,
    batchFailures: 0,
    deadLettered: 0,
    replayed: 0,
    refused: 0,
    droppedQos0: 0,
    droppedOldest: 0,
  };
  /** Dead letters of this sink in the store. */
  deadLetters = 0;
  lastError: { message: string; at: number } | undefined;
  private readonly sentRate: RateWindow;
  private readonly ackedRate: RateWindow;
  private readonly failedRate: RateWindow;

  constructor(private readonly clock: Clock) {
    const now = (): number => clock.now();
    this.sentRate = new RateWindow(now);
    this.ackedRate = new RateWindow(now);
    this.failedRate = new RateWindow(now);
  }

  sent(n: number): void {
    this.totals.sent += n;
    this.totals.batches++;
    this.sentRate.add(n);
  }

  acked(n: number): void {
    this.totals.acked += n;
    this.ackedRate.add(n);
  }

  failed(n: number): void {
    this.totals.failed += n;
    this.failedRate.add(n);
  }

  error(err: unknown): void {
    this.lastError = { message: err instanceof Error ? err.message : String(err), at: this.clock.now() };
  }

  rates(): SinkStatus['rates'] {
    const r = (x: number): number => Math.round(x * 100) / 100;
    return { sentPerS: r(this.sentRate.perSecond()), ackedPerS: r(this.ackedRate.perSecond()), failedPerS: r(this.failedRate.perSecond()) };
  }
}
