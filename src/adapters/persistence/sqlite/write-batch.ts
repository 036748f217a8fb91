/**
 * The writes of one group commit, in order, with one optimisation that matters for
 * persistent sessions that are online: a delivery queued and acknowledged within the same
 * batch (the common case for a subscriber that keeps up) is never written at all, and an
 * update of a delivery queued in this batch changes the pending insert instead of adding
 * a statement.
 */
import type { DeadLetter, OutboxEntry, StoredDelivery, StoredMessage, StoredSession, StoredSubscription, StoredWill } from '../../../ports/store.js';

export type Op =
  | { k: 'session'; s: StoredSession }
  | { k: 'delSession'; id: string }
  | { k: 'sub'; id: string; sub: StoredSubscription }
  | { k: 'delSub'; id: string; filter: string }
  | { k: 'delivery'; id: string; d: StoredDelivery; m: StoredMessage; cancelled: boolean }
  | { k: 'updDelivery'; id: string; seq: number; packetId: number | undefined; pubrel: boolean }
  | { k: 'delDelivery'; id: string; seq: number }
  | { k: 'qos2'; id: string; pid: number }
  | { k: 'delQos2'; id: string; pid: number }
  | { k: 'retained'; m: StoredMessage }
  | { k: 'delRetained'; topic: string }
  | { k: 'will'; id: string; w: StoredWill }
  | { k: 'delWill'; id: string }
  | { k: 'meta'; key: string; value: Buffer }
  | { k: 'outbox'; e: OutboxEntry }
  | { k: 'delOutbox'; sink: string; ids: readonly number[] }
  | { k: 'outboxAttempts'; sink: string; id: number; attempts: number }
  | { k: 'dead'; d: DeadLetter }
  | { k: 'delDead'; sink: string; ids: readonly number[] };

type DeliveryOp = Extract<Op, { k: 'delivery' }>;

export class WriteBatch {
  readonly ops: Op[] = [];
  private readonly puts = new Map<string, DeliveryOp>();
  /** Statements saved by coalescing (for tests and metrics). */
  coalesced = 0;

  get size(): number {
    return this.ops.length;
  }

  push(op: Op): void {
    this.ops.push(op);
  }

  putDelivery(id: string, d: StoredDelivery, m: StoredMessage): void {
    const op: DeliveryOp = { k: 'delivery', id, d: { ...d }, m, cancelled: false };
    this.puts.set(key(id, d.seq), op);
    this.ops.push(op);
  }

  updateDelivery(id: string, seq: number, packetId: number | undefined, pubrel: boolean): void {
    const put = this.puts.get(key(id, seq));
    if (put !== undefined) {
      put.d = { ...put.d, packetId, pubrel };
      this.coalesced++;
      return;
    }
    this.ops.push({ k: 'updDelivery', id, seq, packetId, pubrel });
  }

  deleteDelivery(id: string, seq: number): void {
    const k = key(id, seq);
    const put = this.puts.get(k);
    if (put !== undefined) {
      put.cancelled = true;
      this.puts.delete(k);
      this.coalesced += 2;
      return;
    }
    this.ops.push({ k: 'delDelivery', id, seq });
  }

  /** Puts another batch's operations (a failed commit to retry) in front of this one's. */
  prepend(older: WriteBatch): void {
    this.ops.unshift(...older.ops);
    for (const [k, v] of older.puts) if (!this.puts.has(k)) this.puts.set(k, v);
  }
}

function key(id: string, seq: number): string {
  return `${seq}\u0000${id}`;
}
