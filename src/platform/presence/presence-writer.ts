/**
 * Presence records go to the store off the connect path: the broker's onConnected and
 * onDisconnected hooks are synchronous observers, so the tracker only queues a write here.
 *
 * The queue is keyed by device and coalescing: a device that connects and disconnects ten
 * times before the writer gets to it costs one write, of its latest state. It is bounded
 * (`maxPending` devices); when full, a write for a device not already queued is dropped and
 * counted (presence is soft state: the next event of that device writes it again). One
 * writer loop, started on the next turn (setImmediate), one store write at a time, in
 * queue order.
 */
import type { Logger } from '../../observability/logger.js';
import type { PlatformStore, PresenceRecord } from '../../ports/platform-store.js';

export interface PresenceWrite {
  /** The record to write, built at write time (the latest state); undefined: nothing to write any more. */
  build(stored: PresenceRecord | undefined): PresenceRecord | undefined;
  /** build() needs the stored record first (the tracker forgot the device's past). */
  readStored: boolean;
}

export class PresenceWriter {
  private readonly pending = new Map<string, PresenceWrite>();
  private running = false;
  private idle: { promise: Promise<void>; resolve: () => void } | undefined;
  readonly counters = { written: 0, coalesced: 0, dropped: 0, failed: 0 };

  constructor(
    private readonly store: PlatformStore,
    private readonly logger: Logger,
    private readonly maxPending: number,
  ) {}

  enqueue(deviceId: string, write: PresenceWrite): boolean {
    const queued = this.pending.get(deviceId);
    if (queued !== undefined) {
      this.counters.coalesced++;
      // Keep the need to read the stored record if the queued write had it.
      this.pending.set(deviceId, { build: write.build, readStored: write.readStored || queued.readStored });
    } else {
      if (this.pending.size >= this.maxPending) {
        this.counters.dropped++;
        return false;
      }
      this.pending.set(deviceId, write);
    }
    if (!this.running) {
      // Started on a later turn: the hook that enqueued returns at once, and what else
      // happens in this turn (more events of the device, a cancel) is coalesced first.
      this.running = true;
      setImmediate(() => void this.drain());
    }
    return true;
  }

  /** Drops a device's queued write (the device was deleted). */
  cancel(deviceId: string): void {
    this.pending.delete(deviceId);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Resolves when everything queued so far (and since) is written. */
  flush(): Promise<void> {
    if (!this.running && this.pending.size === 0) return Promise.resolve();
    if (this.idle === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.idle = { promise, resolve };
    }
    return this.idle.promise;
  }

  private async drain(): Promise<void> {
    try {
      for (;;) {
        const next = this.pending.entries().next();
        if (next.done === true) break;
        const [deviceId, write] = next.value;
        this.pending.delete(deviceId);
        try {
          const stored = write.readStored ? await this.store.getPresence(deviceId) : undefined;
          const record = write.build(stored);
          if (record === undefined) continue;
          await this.store.putPresence(record);
          this.counters.written++;
        } catch (err) {
          this.counters.failed++;
          this.logger.warn({ err, deviceId }, 'could not store a presence record');
        }
      }
    } finally {
      this.running = false;
      const idle = this.idle;
      this.idle = undefined;
      idle?.resolve();
    }
  }
}
