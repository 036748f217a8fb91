/**
 * The in-memory Store: everything lives in Maps in this process. It survives a broker
 * restart inside the same process (a new Broker given the same MemoryStore finds every
 * session, delivery and retained message again) but not a process exit. Writes are
 * durable as soon as they are made, so flush() never returns a promise.
 */
import type {
  DeliveryRecord,
  SessionSnapshot,
  StoreHealth,
  StoreStats,
  OutboxEntry,
  OutboxStats,
  DeadLetter,
  Store,
  StoredDelivery,
  StoredMessage,
  StoredSession,
  StoredSubscription,
  StoredWill,
} from '../../../ports/store.js';

interface SessionRecord {
  session: StoredSession;
  subscriptions: Map<string, StoredSubscription>;
  deliveries: Map<number, StoredDelivery>;
  inboundQos2: Set<number>;
  will: StoredWill | undefined;
}

interface MessageRecord {
  message: StoredMessage;
  refs: number;
}

export class MemoryStore implements Store {
  readonly kind = 'memory';
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly messages = new Map<number, MessageRecord>();
  private readonly retained = new Map<string, StoredMessage>();
  private maxMessageId = 0;
  private readonly meta = new Map<string, Buffer>();

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  putSession(session: StoredSession): void {
    const rec = this.sessions.get(session.clientId);
    if (rec) rec.session = session;
    else
      this.sessions.set(session.clientId, {
        session,
        subscriptions: new Map(),
        deliveries: new Map(),
        inboundQos2: new Set(),
        will: undefined,
      });
  }

  deleteSession(clientId: string): void {
    const rec = this.sessions.get(clientId);
    if (!rec) return;
    for (const d of rec.deliveries.values()) this.unref(d.messageId);
    this.sessions.delete(clientId);
  }

  putSubscription(clientId: string, sub: StoredSubscription): void {
    this.sessions.get(clientId)?.subscriptions.set(sub.filter, sub);
  }

  deleteSubscription(clientId: string, filter: string): void {
    this.sessions.get(clientId)?.subscriptions.delete(filter);
  }

  putDelivery(clientId: string, delivery: StoredDelivery, message: StoredMessage): void {
    const rec = this.sessions.get(clientId);
    if (!rec) return;
    const prev = rec.deliveries.get(delivery.seq);
    if (prev) this.unref(prev.messageId);
    rec.deliveries.set(delivery.seq, delivery);
    const m = this.messages.get(message.id);
    if (m) m.refs++;
    else this.messages.set(message.id, { message, refs: 1 });
    if (message.id > this.maxMessageId) this.maxMessageId = message.id;
  }

  updateDelivery(clientId: string, seq: number, packetId: number | undefined, pubrel: boolean): void {
    const rec = this.sessions.get(clientId);
    const d = rec?.deliveries.get(seq);
    if (!rec || !d) return;
    rec.deliveries.set(seq, { ...d, packetId, pubrel });
  }

  deleteDelivery(clientId: string, seq: number): void {
    const rec = this.sessions.get(clientId);
    const d = rec?.deliveries.get(seq);
    if (!rec || !d) return;
    rec.deliveries.delete(seq);
    this.unref(d.messageId);
  }

  putInboundQos2(clientId: string, packetId: number): void {
    this.sessions.get(clientId)?.inboundQos2.add(packetId);
  }

  deleteInboundQos2(clientId: string, packetId: number): void {
    this.sessions.get(clientId)?.inboundQos2.delete(packetId);
  }

  putRetained(message: StoredMessage): void {
    this.retained.set(message.topic, message);
    if (message.id > this.maxMessageId) this.maxMessageId = message.id;
  }

  deleteRetained(topic: string): void {
    this.retained.delete(topic);
  }

  putWill(clientId: string, will: StoredWill): void {
    const rec = this.sessions.get(clientId);
    if (rec) rec.will = will;
  }

  deleteWill(clientId: string): void {
    const rec = this.sessions.get(clientId);
    if (rec) rec.will = undefined;
  }

  flush(): Promise<void> | undefined {
    return undefined;
  }

  // ---- outbox -----------------------------------------------------------------------

  private readonly outbox = new Map<string, Map<number, OutboxEntry>>();
  private readonly dead = new Map<string, DeadLetter>();

  putOutbox(entry: OutboxEntry): void {
    let m = this.outbox.get(entry.sink);
    if (m === undefined) this.outbox.set(entry.sink, (m = new Map()));
    m.set(entry.messageId, { ...entry, payload: Buffer.from(entry.payload) });
    if (entry.messageId > this.maxMessageId) this.maxMessageId = entry.messageId;
  }

  deleteOutbox(sink: string, messageIds: readonly number[]): void {
    const m = this.outbox.get(sink);
    if (m !== undefined) for (const id of messageIds) m.delete(id);
  }

  updateOutboxAttempts(sink: string, messageId: number, attempts: number): void {
    const m = this.outbox.get(sink);
    const e = m?.get(messageId);
    if (e !== undefined) m!.set(messageId, { ...e, attempts });
  }

  async loadOutbox(sink: string, afterMessageId: number, limit: number): Promise<OutboxEntry[]> {
    const m = this.outbox.get(sink);
    if (m === undefined) return [];
    return [...m.values()]
      .filter((e) => e.messageId > afterMessageId)
      .sort((a, b) => a.messageId - b.messageId)
      .slice(0, limit);
  }

  async outboxStats(): Promise<Map<string, OutboxStats>> {
    const out = new Map<string, OutboxStats>();
    for (const [sink, m] of this.outbox) {
      let bytes = 0;
      let oldestAt: number | undefined;
      for (const e of m.values()) {
        bytes += e.payload.length;
        if (oldestAt === undefined || e.createdAt < oldestAt) oldestAt = e.createdAt;
      }
      if (m.size > 0) out.set(sink, { count: m.size, bytes, oldestAt });
    }
    return out;
  }

  putDeadLetter(letter: DeadLetter): void {
    this.dead.set(`${letter.sink}\u0000${letter.messageId}`, letter);
  }

  deleteDeadLetters(sink: string, messageIds: readonly number[]): void {
    for (const id of messageIds) this.dead.delete(`${sink}\u0000${id}`);
  }

  async deadLetters(sink: string | undefined, afterMessageId: number, limit: number): Promise<DeadLetter[]> {
    return [...this.dead.values()]
      .filter((d) => (sink === undefined || d.sink === sink) && d.messageId > afterMessageId)
      .sort((a, b) => a.messageId - b.messageId)
      .slice(0, limit);
  }

  putMeta(key: string, value: Buffer): void {
    this.meta.set(key, Buffer.from(value));
  }

  async getMeta(key: string): Promise<Buffer | undefined> {
    return this.meta.get(key);
  }

  stats(): StoreStats {
    return { commits: 0, commitFailures: 0, rowsWritten: 0, commitLatency: undefined };
  }

  health(): StoreHealth {
    return { ok: true };
  }

  onHealthChange(): void {
    // Memory never fails a write.
  }

  async *loadSessions(deliveryWindow: number): AsyncIterable<SessionSnapshot> {
    for (const rec of [...this.sessions.values()]) {
      const all = this.sortedDeliveries(rec, 0, false);
      const inflight = all.filter((r) => r.delivery.packetId !== undefined);
      const queued = all.filter((r) => r.delivery.packetId === undefined);
      const window = queued.slice(0, deliveryWindow);
      yield {
        session: rec.session,
        subscriptions: [...rec.subscriptions.values()],
        deliveries: [...inflight, ...window].sort((a, b) => a.delivery.seq - b.delivery.seq),
        moreDeliveries: queued.length - window.length,
        lastSeq: all.length === 0 ? 0 : all[all.length - 1].delivery.seq,
        inboundQos2: [...rec.inboundQos2],
        will: rec.will,
      };
    }
  }

  async loadDeliveries(clientId: string, afterSeq: number, limit: number): Promise<DeliveryRecord[]> {
    const rec = this.sessions.get(clientId);
    return rec === undefined ? [] : this.sortedDeliveries(rec, afterSeq, true).slice(0, limit);
  }

  async purge(now: number, limit: number): Promise<number> {
    let n = 0;
    for (const rec of this.sessions.values()) {
      for (const [seq, d] of rec.deliveries) {
        if (n >= limit) return n;
        const m = this.messages.get(d.messageId)?.message;
        if (m !== undefined && m.expiresAt !== 0 && m.expiresAt <= now && d.packetId === undefined) {
          rec.deliveries.delete(seq);
          this.unref(d.messageId);
          n++;
        }
      }
    }
    return n;
  }

  /** Deliveries after `afterSeq` in seq order (only queued ones, without a packet id, when asked). */
  private sortedDeliveries(rec: SessionRecord, afterSeq: number, queuedOnly: boolean): DeliveryRecord[] {
    return [...rec.deliveries.values()]
      .filter((d) => d.seq > afterSeq && (!queuedOnly || d.packetId === undefined))
      .sort((a, b) => a.seq - b.seq)
      .map((delivery) => ({ delivery, message: this.messages.get(delivery.messageId)!.message }));
  }

  async *loadRetained(): AsyncIterable<StoredMessage> {
    for (const m of [...this.retained.values()]) yield m;
  }

  lastMessageId(): number {
    return this.maxMessageId;
  }

  /** Messages held for deliveries (for tests: nothing leaks once queues drain). */
  get storedMessageCount(): number {
    return this.messages.size;
  }

  private unref(messageId: number): void {
    const m = this.messages.get(messageId);
    if (m && --m.refs === 0) this.messages.delete(messageId);
  }
}
