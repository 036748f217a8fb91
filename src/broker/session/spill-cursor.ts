/**
 * Bounded memory for long queues of persistent sessions: past `maxInMemoryQueued`, new
 * deliveries are only written to the store ("spilled") and read back, in seq order and in
 * batches, as the in-memory queue drains. This cursor tracks what is on disk only.
 *
 * Every spilled delivery has a higher seq than every queued one in memory, so reading
 * "the queued deliveries after `diskCursor`" continues the queue exactly where memory ends.
 */
import type { DeliveryRecord } from '../../ports/store.js';

export class SpillCursor {
  /** Queued deliveries that are only in the store. */
  spilled = 0;
  /** The highest seq read into memory: spilled deliveries are those after it. */
  diskCursor = 0;
  /** A read-back is running. */
  loading = false;
  /** Spilled while a read-back was running (the read may not have seen them). */
  private duringRead = 0;

  /** A delivery with this seq goes to the store only. */
  spill(seq: number): void {
    if (this.spilled === 0) this.diskCursor = seq - 1;
    this.spilled++;
    if (this.loading) this.duringRead++;
  }

  /** A queued delivery restored into memory at start-up. */
  restored(seq: number): void {
    if (seq > this.diskCursor) this.diskCursor = seq;
  }

  beginRead(): void {
    this.loading = true;
    this.duringRead = 0;
  }

  /** The rows of a read of at most `batch`: returns those to append to the queue, in order. */
  endRead(rows: readonly DeliveryRecord[], batch: number): DeliveryRecord[] {
    this.loading = false;
    const fresh: DeliveryRecord[] = [];
    for (const r of rows) {
      if (r.delivery.seq <= this.diskCursor) continue;
      this.diskCursor = r.delivery.seq;
      fresh.push(r);
    }
    // A short read reached the end of what was on disk when the query ran; what was
    // spilled while it ran (an async store) is still there and is read next time.
    this.spilled = rows.length < batch ? this.duringRead : Math.max(0, this.spilled - rows.length);
    this.duringRead = 0;
    return fresh;
  }

  /** The read failed (the store reports its own failure): tried again on the next pump. */
  failRead(): void {
    this.loading = false;
  }

  clear(): void {
    this.spilled = 0;
    this.duringRead = 0;
  }
}
