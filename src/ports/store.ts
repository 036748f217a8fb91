/**
 * The persistence port. The broker keeps its working state in memory and tells the store
 * about every change to state that must outlive a connection (persistent sessions, their
 * subscriptions, queued and inflight messages, inbound QoS 2 ids, retained messages,
 * pending wills). Writes are synchronous calls that join the current batch; `flush()` is
 * the durability barrier the broker waits on before it acknowledges a QoS 1/2 publish
 * (PUBACK / PUBREC only after the message and its copies are committed).
 *
 * Sessions with expiry 0 (clean sessions that end with their connection) never reach the
 * store: they cannot be resumed, so persisting them would cost without protecting anything.
 *
 * Every adapter (memory, sqlite, nats) runs the same shared test suite.
 */
import type { Properties, QoS } from '../codec/mqtt/packets.js';
import type { Histogram } from '../observability/histogram.js';

/** A message as stored: the immutable part shared by every queue that holds it. */
export interface StoredMessage {
  /** Broker-assigned, unique within the store, increasing in publish order. */
  readonly id: number;
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  /** Forwardable MQTT 5 properties (never topic alias or subscription identifiers). */
  readonly properties: Properties | undefined;
  /** Absolute expiry, ms since epoch; 0 = never (MQTT5 3.3.2.3.3). */
  readonly expiresAt: number;
  /** Client id of the publisher, for No Local (MQTT-3.8.3-3). */
  readonly publisherId: string | undefined;
  readonly createdAt: number;
}

export interface StoredSubscription {
  readonly filter: string;
  readonly qos: QoS;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly retainHandling: 0 | 1 | 2;
  readonly subscriptionId: number | undefined;
}

/** One message queued for (or inflight to) one session. */
export interface StoredDelivery {
  /** Position in the session's outbound order; increasing. */
  readonly seq: number;
  readonly messageId: number;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly subscriptionIds: readonly number[] | undefined;
  /** Set when the message came through a shared subscription ("group/filter"). */
  readonly shareKey: string | undefined;
  /** Packet id once sent; undefined while queued. */
  readonly packetId: number | undefined;
  /** QoS 2 only: PUBREC received, PUBREL sent, waiting for PUBCOMP. */
  readonly pubrel: boolean;
}

export interface StoredWill {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly properties: Properties | undefined;
  /** When the will is due if the client has not come back, ms since epoch. */
  readonly fireAt: number;
}

export interface StoredSession {
  readonly clientId: string;
  readonly protocolVersion: number;
  /** Seconds; 0xFFFFFFFF = never (MQTT5 3.1.2.11.2). */
  readonly expiryIntervalS: number;
  /** ms since epoch of the last disconnect; undefined while connected. */
  readonly disconnectedAt: number | undefined;
  readonly username: string | undefined;
}

export interface DeliveryRecord {
  readonly delivery: StoredDelivery;
  readonly message: StoredMessage;
}

export interface SessionSnapshot {
  readonly session: StoredSession;
  readonly subscriptions: readonly StoredSubscription[];
  /**
   * Every inflight delivery (one with a packet id; bounded by the inflight window) and the
   * first `deliveryWindow` queued ones, all in seq order. The rest of the queue stays on
   * disk and is read with loadDeliveries() as the session drains.
   */
  readonly deliveries: readonly DeliveryRecord[];
  /** How many more queued deliveries the store holds for this session beyond `deliveries`. */
  readonly moreDeliveries: number;
  /** The highest delivery seq stored for this session (0 if none): new deliveries continue after it. */
  readonly lastSeq: number;
  readonly inboundQos2: readonly number[];
  readonly will: StoredWill | undefined;
}

/** Durability of acknowledged messages (docs/persistence.md). */
export type Durability = 'fsync' | 'commit' | 'none';

/**
 * A message on its way to a northbound sink (issue 9): written in the same commit as the
 * publish it comes from, deleted once the sink has it. `messageId` is the idempotency key
 * carried to the sink (stable across restarts and retries).
 */
export interface OutboxEntry {
  readonly sink: string;
  readonly messageId: number;
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly properties: Properties | undefined;
  /** Client id of the publisher (device id for devices). */
  readonly publisherId: string | undefined;
  readonly createdAt: number;
  /** Delivery attempts so far (updated by the dispatcher). */
  readonly attempts: number;
}

/** A message a sink refused for good (or that failed too often): kept for inspection and replay. */
export interface DeadLetter extends OutboxEntry {
  readonly error: string;
  readonly failedAt: number;
}

export interface OutboxStats {
  readonly count: number;
  readonly bytes: number;
  /** createdAt of the oldest entry, undefined when empty. */
  readonly oldestAt: number | undefined;
}

/** What a store reports for metrics. */
export interface StoreStats {
  commits: number;
  commitFailures: number;
  rowsWritten: number;
  /** Seconds per group commit; undefined for stores without commits. */
  commitLatency: Histogram | undefined;
}

export type StoreHealth = { ok: true } | { ok: false; code: string; reason: string; since: number };

export interface Store {
  /** 'memory', 'sqlite', ... for logs and /healthz. */
  readonly kind: string;

  open(): Promise<void>;
  close(): Promise<void>;

  // ---- sessions -----------------------------------------------------------------
  putSession(session: StoredSession): void;
  /** Deletes the session and everything it owns (subscriptions, deliveries, qos2 ids, will). */
  deleteSession(clientId: string): void;
  putSubscription(clientId: string, sub: StoredSubscription): void;
  deleteSubscription(clientId: string, filter: string): void;

  // ---- outbound deliveries ------------------------------------------------------
  /** Stores the message if it is not yet stored, then queues a delivery of it. */
  putDelivery(clientId: string, delivery: StoredDelivery, message: StoredMessage): void;
  /** Records the packet id (sent) or the PUBREL stage of a delivery. */
  updateDelivery(clientId: string, seq: number, packetId: number | undefined, pubrel: boolean): void;
  /** Acknowledged, expired or dropped. A message no delivery refers to may be freed. */
  deleteDelivery(clientId: string, seq: number): void;

  // ---- inbound QoS 2 ------------------------------------------------------------
  putInboundQos2(clientId: string, packetId: number): void;
  deleteInboundQos2(clientId: string, packetId: number): void;

  // ---- retained -----------------------------------------------------------------
  putRetained(message: StoredMessage): void;
  deleteRetained(topic: string): void;

  // ---- wills --------------------------------------------------------------------
  putWill(clientId: string, will: StoredWill): void;
  deleteWill(clientId: string): void;

  // ---- northbound outbox (issue 9) ----------------------------------------------
  /** Queues a message for a sink; joins the current batch (the publisher's ack waits for it). */
  putOutbox(entry: OutboxEntry): void;
  /** The sink has these messages (or they went to the dead letters). */
  deleteOutbox(sink: string, messageIds: readonly number[]): void;
  /** Records another failed attempt. */
  updateOutboxAttempts(sink: string, messageId: number, attempts: number): void;
  /** The next entries of a sink after `afterMessageId`, in message id order (writes made before are visible). */
  loadOutbox(sink: string, afterMessageId: number, limit: number): Promise<OutboxEntry[]>;
  /** Depth, bytes and age of every sink's outbox (for the bounds and the metrics, at start-up). */
  outboxStats(): Promise<Map<string, OutboxStats>>;
  putDeadLetter(letter: DeadLetter): void;
  deleteDeadLetters(sink: string, messageIds: readonly number[]): void;
  deadLetters(sink: string | undefined, afterMessageId: number, limit: number): Promise<DeadLetter[]>;

  // ---- durability ---------------------------------------------------------------
  /**
   * Durability barrier. Returns undefined when every write issued so far is already
   * durable (the memory adapter always), otherwise a promise that resolves when they are.
   * A store that fails keeps the writes and retries them, so the promise waits for the
   * recovery; it rejects (HoldfastError STORE_WRITE_FAILED) only if the writes are given up
   * (the store is closed or was never opened).
   */
  flush(): Promise<void> | undefined;

  // ---- small values of other components ------------------------------------------
  /**
   * Stores an opaque value under `key` (the SLO engine keeps its coarse windows here so
   * that they survive a restart). Joins the current batch like every write: durable at the
   * next flush(). Keys are short ASCII names owned by one component each ("slo/...").
   */
  putMeta(key: string, value: Buffer): void;
  /** The value last put under `key` (writes made before the call are visible), or undefined. */
  getMeta(key: string): Promise<Buffer | undefined>;

  stats(): StoreStats;
  /** Whether writes currently succeed; a failing store refuses new QoS 1/2 work. */
  health(): StoreHealth;
  /** Called on every change of health (once per change, not per failed write). */
  onHealthChange(listener: (health: StoreHealth) => void): void;

  // ---- recovery and paging ------------------------------------------------------
  /** Every stored session with its state, for start-up; at most `deliveryWindow` deliveries each. */
  loadSessions(deliveryWindow: number): AsyncIterable<SessionSnapshot>;
  /**
   * The next queued deliveries (those without a packet id) of a session after `afterSeq`,
   * in seq order, at most `limit`: how deliveries spilled to disk are read back as the
   * session drains. Writes made before the call are visible to it.
   */
  loadDeliveries(clientId: string, afterSeq: number, limit: number): Promise<DeliveryRecord[]>;
  /** Removes up to `limit` expired deliveries and unreferenced messages; returns how many rows went. */
  purge(now: number, limit: number): Promise<number>;
  /** Every retained message, for start-up. */
  loadRetained(): AsyncIterable<StoredMessage>;
  /** The highest message id ever stored (ids continue after it; it never goes back). */
  lastMessageId(): number;
}
