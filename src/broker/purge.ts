/**
 * Background purge, in small batches so that it never stalls the event loop: expired
 * retained messages leave the index (and the store), and the store drops expired queued
 * deliveries and messages nothing refers to any more.
 */
import type { Logger } from '../observability/logger.js';
import type { Store } from '../ports/store.js';
import type { RetainedIndex } from './routing/index.js';
import type { Message } from './session/message.js';
import type { BrokerStats } from './stats.js';

export class BackgroundPurge {
  private nextAt = 0;
  private running = false;
  private retainedScan: Iterator<[string, Message]> | undefined;

  constructor(
    private readonly retained: RetainedIndex<Message>,
    private readonly store: Store,
    private readonly stats: BrokerStats,
    private readonly logger: Logger,
    readonly intervalMs = 5_000,
    readonly batch = 500,
  ) {}

  /** Called from the broker's sweep; does work at most every intervalMs. */
  maybeRun(now: number): void {
    if (now < this.nextAt) return;
    this.nextAt = now + this.intervalMs;
    this.purgeRetained(now);
    if (this.running || !this.store.health().ok) return;
    this.running = true;
    this.store.purge(now, this.batch).then(
      (n) => {
        this.running = false;
        this.stats.purgedRows += n;
      },
      (err: unknown) => {
        this.running = false;
        this.logger.warn({ err }, 'store purge failed');
      },
    );
  }

  private purgeRetained(now: number): void {
    const index = this.retained;
    this.retainedScan ??= index.entries();
    for (let i = 0; i < this.batch; i++) {
      const next = this.retainedScan.next();
      if (next.done) {
        this.retainedScan = undefined;
        return;
      }
      const [topic, msg] = next.value;
      if (msg.expiresAt !== 0 && msg.expiresAt <= now && index.get(topic) === msg) {
        index.delete(topic);
        this.store.deleteRetained(topic);
        this.stats.purgedRows++;
      }
    }
  }
}
