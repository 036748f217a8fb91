/**
 * The durable store: SQLite (better-sqlite3) in WAL mode, one file under the data dir.
 *
 * Group commit: writes join an in-memory batch; the batch is committed in one
 * transaction at the end of the current event-loop turn (setImmediate), and flush()
 * hands out one promise per batch. The broker acknowledges QoS 1/2 publishes when it
 * resolves, so durability costs one transaction per turn, not one per message.
 *
 * Durability (docs/persistence.md):
 * - fsync:  synchronous=FULL, the WAL is fsynced at each commit: survives power loss;
 * - commit: synchronous=NORMAL, committed to the OS at each commit: survives a crash of
 *           the process (kill -9), not of the machine;
 * - none:   synchronous=OFF and acknowledgements do not wait for the commit: what was
 *           acknowledged in the last turn(s) before a crash may be lost.
 *
 * Faults: a failed commit (disk full, read-only, I/O error) leaves the batch queued, marks
 * the store unhealthy (once per change), rejects the promises of that batch, and retries
 * every `retryMs` until a commit succeeds; then the store is healthy again by itself.
 */
import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { HoldfastError } from '../../../errors/index.js';
import { Histogram, LATENCY_BUCKETS_S } from '../../../observability/histogram.js';
import type {
  DeliveryRecord,
  Durability,
  SessionSnapshot,
  Store,
  StoreHealth,
  StoreStats,
  OutboxEntry,
  OutboxStats,
  DeadLetter,
  StoredDelivery,
  StoredMessage,
  StoredSession,
  StoredSubscription,
  StoredWill,
} from '../../../ports/store.js';
import {
  propsFromJson,
  deliveryFromRow,
  messageFromRow,
  sessionFromRow,
  subscriptionFromRow,
  willFromRow,
  type DeliveryRow,
  type MessageRow,
  type SessionRow,
  type SubscriptionRow,
  type WillRow,
} from './rows.js';
import { SCHEMA, SCHEMA_VERSION } from './schema.js';
import { Statements } from './statements.js';
import { WriteBatch } from './write-batch.js';

export interface SqliteStoreOptions {
  file: string;
  durability?: Durability;
  /** How often a failed commit is retried. */
  retryMs?: number;
  /** Pending writes kept while the store fails; beyond it writes are dropped and counted. */
  maxPendingWrites?: number;
  /** Files larger than this skip the quick_check at open (it reads the whole file). */
  quickCheckMaxBytes?: number;
}

/** The message columns of the deliveries join (renamed where they clash with the delivery's). */
interface JoinedMessage {
  mid: number;
  topic: string;
  payload: Buffer;
  mqos: number;
  mretain: number;
  properties: string | null;
  expires_at: number;
  publisher_id: string | null;
  created_at: number;
}

interface OutboxRow {
  sink: string;
  message_id: number;
  topic: string;
  payload: Buffer;
  qos: number;
  retain: number;
  properties: string | null;
  publisher_id: string | null;
  created_at: number;
  attempts: number;
}

function outboxFromRow(r: OutboxRow): OutboxEntry {
  return {
    sink: r.sink,
    messageId: r.message_id,
    topic: r.topic,
    payload: r.payload,
    qos: r.qos as OutboxEntry['qos'],
    retain: r.retain === 1,
    properties: propsFromJson(r.properties),
    publisherId: r.publisher_id ?? undefined,
    createdAt: r.created_at,
    attempts: r.attempts,
  };
}

const HIGHEST_ID_KEY = 'holdfast.lastMessageId';

interface Pending {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly file: string;
  readonly durability: Durability;
  private db: Database.Database | undefined;
  private st!: Statements;
  private batch = new WriteBatch();
  private pending: Pending | undefined;
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private state: StoreHealth = { ok: true };
  private highestId = 0;
  private highestIdDirty = false;
  private readonly listeners: ((h: StoreHealth) => void)[] = [];
  private readonly retryMs: number;
  private readonly maxPendingWrites: number;
  private readonly quickCheckMaxBytes: number;
  /** Counters for metrics and tests. */
  readonly counters = { commits: 0, commitFailures: 0, rowsWritten: 0, coalesced: 0, droppedWrites: 0 };
  readonly commitLatency = new Histogram(LATENCY_BUCKETS_S);

  constructor(opts: SqliteStoreOptions) {
    this.file = opts.file;
    this.durability = opts.durability ?? 'commit';
    this.retryMs = opts.retryMs ?? 1000;
    this.maxPendingWrites = opts.maxPendingWrites ?? 1_000_000;
    this.quickCheckMaxBytes = opts.quickCheckMaxBytes ?? 256 * 1024 * 1024;
  }

  async open(): Promise<void> {
    let db: Database.Database;
    try {
      db = new Database(this.file);
    } catch (err) {
      throw new HoldfastError('STORE_OPEN_FAILED', `cannot open the store ${this.file}: ${(err as Error).message}`, {
        cause: err,
        details: { file: this.file },
      });
    }
    try {
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version > SCHEMA_VERSION) {
        throw new Error(`schema version ${version} is newer than this holdfast understands (${SCHEMA_VERSION})`);
      }
      if (sizeOf(this.file) <= this.quickCheckMaxBytes) {
        const check = db.pragma('quick_check', { simple: true }) as string;
        if (check !== 'ok') throw new Error(`quick_check: ${check}`);
      }
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${this.durability === 'fsync' ? 'FULL' : this.durability === 'commit' ? 'NORMAL' : 'OFF'}`);
      db.exec(SCHEMA);
      if (version < SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
    } catch (err) {
      db.close();
      throw new HoldfastError(
        'STORE_CORRUPT',
        `the store ${this.file} is damaged or not a holdfast store (${(err as Error).message}); it was left untouched - move it away or run 'holdfast store verify'`,
        { cause: err, details: { file: this.file } },
      );
    }
    this.db = db;
    this.st = new Statements(db);
  }

  async close(): Promise<void> {
    if (this.db === undefined) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.commit();
    this.db.close();
    this.db = undefined;
  }

  // ---- writes ---------------------------------------------------------------------

  private enqueue(): boolean {
    if (!this.state.ok && this.batch.size >= this.maxPendingWrites) {
      this.counters.droppedWrites++;
      return false;
    }
    if (!this.scheduled && this.state.ok) {
      this.scheduled = true;
      setImmediate(() => this.commit());
    }
    return true;
  }

  putSession(s: StoredSession): void {
    if (this.enqueue()) this.batch.push({ k: 'session', s });
  }
  deleteSession(id: string): void {
    if (this.enqueue()) this.batch.push({ k: 'delSession', id });
  }
  putSubscription(id: string, sub: StoredSubscription): void {
    if (this.enqueue()) this.batch.push({ k: 'sub', id, sub });
  }
  deleteSubscription(id: string, filter: string): void {
    if (this.enqueue()) this.batch.push({ k: 'delSub', id, filter });
  }
  putDelivery(id: string, d: StoredDelivery, m: StoredMessage): void {
    if (this.enqueue()) this.batch.putDelivery(id, d, m);
    this.noteMessageId(m.id);
  }

  /** Message ids never go back, even when the rows holding the highest are purged (kept in meta). */
  private noteMessageId(id: number): void {
    if (id <= this.highestId) return;
    this.highestId = id;
    this.highestIdDirty = true;
  }
  updateDelivery(id: string, seq: number, packetId: number | undefined, pubrel: boolean): void {
    if (this.enqueue()) this.batch.updateDelivery(id, seq, packetId, pubrel);
  }
  deleteDelivery(id: string, seq: number): void {
    if (this.enqueue()) this.batch.deleteDelivery(id, seq);
  }
  putInboundQos2(id: string, pid: number): void {
    if (this.enqueue()) this.batch.push({ k: 'qos2', id, pid });
  }
  deleteInboundQos2(id: string, pid: number): void {
    if (this.enqueue()) this.batch.push({ k: 'delQos2', id, pid });
  }
  putRetained(m: StoredMessage): void {
    if (this.enqueue()) this.batch.push({ k: 'retained', m });
    this.noteMessageId(m.id);
  }
  deleteRetained(topic: string): void {
    if (this.enqueue()) this.batch.push({ k: 'delRetained', topic });
  }
  putWill(id: string, w: StoredWill): void {
    if (this.enqueue()) this.batch.push({ k: 'will', id, w });
  }
  deleteWill(id: string): void {
    if (this.enqueue()) this.batch.push({ k: 'delWill', id });
  }
  putMeta(key: string, value: Buffer): void {
    if (this.enqueue()) this.batch.push({ k: 'meta', key, value: Buffer.from(value) });
  }

  async getMeta(key: string): Promise<Buffer | undefined> {
    if (this.db === undefined) return undefined;
    if (this.batch.size > 0 && this.state.ok) this.commit();
    const row = this.st.getMeta.get(key) as { value: Buffer } | undefined;
    return row?.value;
  }

  flush(): Promise<void> | undefined {
    if (this.batch.size === 0 && this.pending === undefined) return undefined;
    if (this.db === undefined) return Promise.reject(new HoldfastError('STORE_WRITE_FAILED', `the store ${this.file} is not open`));
    if (this.durability === 'none' && this.state.ok) return undefined;
    if (this.pending === undefined) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.pending = { promise, resolve, reject };
    }
    return this.pending.promise;
  }

  /** Commits the current batch now (synchronously). Returns false if the commit failed. */
  commit(): boolean {
    this.scheduled = false;
    const batch = this.batch;
    const waiting = this.pending;
    if (this.db === undefined) {
      // Not open (never opened, or closed): the writes cannot be made; say so to whoever waits.
      this.batch = new WriteBatch();
      this.pending = undefined;
      waiting?.reject(new HoldfastError('STORE_WRITE_FAILED', `the store ${this.file} is not open`));
      return false;
    }
    if (batch.size === 0) {
      this.pending = undefined;
      waiting?.resolve();
      return true;
    }
    this.batch = new WriteBatch();
    this.pending = undefined;
    if (this.highestIdDirty) {
      batch.push({ k: 'meta', key: HIGHEST_ID_KEY, value: Buffer.from(String(this.highestId)) });
      this.highestIdDirty = false;
    }
    const t0 = performance.now();
    try {
      const rows = this.st.apply(batch);
      this.commitLatency.observe((performance.now() - t0) / 1000);
      this.counters.commits++;
      this.counters.rowsWritten += rows;
      this.counters.coalesced += batch.coalesced;
      this.setHealth({ ok: true });
      waiting?.resolve();
      return true;
    } catch (err) {
      this.counters.commitFailures++;
      // Keep the writes, in order, ahead of anything written since, and keep their waiters
      // waiting: the writes are retried until they succeed, and only then acknowledged.
      this.batch.prepend(batch);
      if (waiting !== undefined) this.pending ??= waiting;
      const code = (err as { code?: string }).code ?? 'STORE_WRITE_FAILED';
      if (this.state.ok) this.setHealth({ ok: false, code, reason: (err as Error).message, since: Date.now() });
      this.scheduleRetry();
      return false;
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.commit()) return;
      // Writes queued while failing go out in the next turn's batch as usual.
      if (this.batch.size > 0 && !this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.commit());
      }
    }, this.retryMs);
    this.retryTimer.unref();
  }

  private failure(cause?: unknown): HoldfastError {
    const s = this.state;
    const reason = s.ok ? 'write failed' : `${s.code}: ${s.reason}`;
    return new HoldfastError('STORE_WRITE_FAILED', `storage unavailable (${reason})`, { cause });
  }

  // ---- northbound outbox ------------------------------------------------------------

  putOutbox(e: OutboxEntry): void {
    if (this.enqueue()) this.batch.push({ k: 'outbox', e });
    // An outbox entry may be a message's only stored copy: its id must never be handed out again.
    this.noteMessageId(e.messageId);
  }
  deleteOutbox(sink: string, ids: readonly number[]): void {
    if (ids.length > 0 && this.enqueue()) this.batch.push({ k: 'delOutbox', sink, ids });
  }
  updateOutboxAttempts(sink: string, id: number, attempts: number): void {
    if (this.enqueue()) this.batch.push({ k: 'outboxAttempts', sink, id, attempts });
  }
  putDeadLetter(d: DeadLetter): void {
    if (this.enqueue()) this.batch.push({ k: 'dead', d });
  }
  deleteDeadLetters(sink: string, ids: readonly number[]): void {
    if (ids.length > 0 && this.enqueue()) this.batch.push({ k: 'delDead', sink, ids });
  }

  async loadOutbox(sink: string, afterMessageId: number, limit: number): Promise<OutboxEntry[]> {
    if (this.batch.size > 0 && !this.commit()) throw this.failure();
    return (this.st.outboxAfter.all(sink, afterMessageId, limit) as OutboxRow[]).map(outboxFromRow);
  }

  async outboxStats(): Promise<Map<string, OutboxStats>> {
    this.commit();
    const out = new Map<string, OutboxStats>();
    for (const r of this.st.outboxStats.all() as { sink: string; count: number; bytes: number; oldest: number | null }[]) {
      out.set(r.sink, { count: r.count, bytes: r.bytes, oldestAt: r.oldest ?? undefined });
    }
    return out;
  }

  async deadLetters(sink: string | undefined, afterMessageId: number, limit: number): Promise<DeadLetter[]> {
    this.commit();
    const rows = (sink === undefined ? this.st.deadAfterAll.all(afterMessageId, limit) : this.st.deadAfter.all(sink, afterMessageId, limit)) as (OutboxRow & {
      error: string;
      failed_at: number;
    })[];
    return rows.map((r) => ({ ...outboxFromRow(r), error: r.error, failedAt: r.failed_at }));
  }

  stats(): StoreStats {
    const c = this.counters;
    return { commits: c.commits, commitFailures: c.commitFailures, rowsWritten: c.rowsWritten, commitLatency: this.commitLatency };
  }

  health(): StoreHealth {
    return this.state;
  }

  onHealthChange(listener: (h: StoreHealth) => void): void {
    this.listeners.push(listener);
  }

  private setHealth(h: StoreHealth): void {
    if (h.ok === this.state.ok) return;
    this.state = h;
    for (const l of this.listeners) l(h);
  }

  // ---- reads ------------------------------------------------------------------------

  async *loadSessions(deliveryWindow: number): AsyncIterable<SessionSnapshot> {
    this.commit();
    const st = this.st;
    for (const row of st.allSessions.iterate() as IterableIterator<SessionRow>) {
      const id = row.client_id;
      // Every inflight delivery (they keep their packet ids), then a window of the queue.
      const inflight = this.joinedRecords(st.inflightOf.all(id) as (DeliveryRow & JoinedMessage)[]);
      const queued = this.deliveryRecords(id, 0, deliveryWindow);
      const counts = st.countDeliveries.get(id) as { queued: number; last: number };
      const will = st.getWill.get(id) as WillRow | undefined;
      yield {
        session: sessionFromRow(row),
        subscriptions: (st.subsOf.all(id) as SubscriptionRow[]).map(subscriptionFromRow),
        deliveries: [...inflight, ...queued].sort((a, b) => a.delivery.seq - b.delivery.seq),
        moreDeliveries: Math.max(0, counts.queued - queued.length),
        lastSeq: counts.last,
        inboundQos2: (st.qos2Of.all(id) as { packet_id: number }[]).map((r) => r.packet_id),
        will: will === undefined ? undefined : willFromRow(will),
      };
    }
  }

  async loadDeliveries(clientId: string, afterSeq: number, limit: number): Promise<DeliveryRecord[]> {
    if (this.batch.size > 0 && !this.commit()) throw this.failure();
    return this.deliveryRecords(clientId, afterSeq, limit);
  }

  private deliveryRecords(clientId: string, afterSeq: number, limit: number): DeliveryRecord[] {
    return this.joinedRecords(this.st.deliveriesAfter.all(clientId, afterSeq, limit) as (DeliveryRow & JoinedMessage)[]);
  }

  private joinedRecords(rows: (DeliveryRow & JoinedMessage)[]): DeliveryRecord[] {
    return rows.map((r) => ({
      delivery: deliveryFromRow(r),
      message: messageFromRow({
        id: r.mid,
        topic: r.topic,
        payload: r.payload,
        qos: r.mqos,
        retain: r.mretain,
        properties: r.properties,
        expires_at: r.expires_at,
        publisher_id: r.publisher_id,
        created_at: r.created_at,
      }),
    }));
  }

  async *loadRetained(): AsyncIterable<StoredMessage> {
    this.commit();
    for (const r of this.st.allRetained.iterate() as IterableIterator<MessageRow>) yield messageFromRow({ ...r, retain: 1 });
  }

  lastMessageId(): number {
    const r = this.st.maxMessageId.get() as { m: number | null };
    const meta = this.st.getMeta.get(HIGHEST_ID_KEY) as { value: Buffer } | undefined;
    const kept = meta === undefined ? 0 : Number(meta.value.toString());
    return Math.max(r.m ?? 0, kept, this.highestId);
  }

  async purge(now: number, limit: number): Promise<number> {
    if (this.db === undefined || !this.state.ok) return 0;
    this.commit();
    const expired = this.st.purgeExpiredDeliveries.run(now, limit).changes;
    const orphans = this.st.purgeOrphanMessages.run(limit).changes;
    const retained = this.st.purgeExpiredRetained.run(now, limit).changes;
    return expired + orphans + retained;
  }
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
