/**
 * One MQTT session (MQTT5 4.1): subscriptions, the outbound inflight window and queue,
 * inbound QoS 2 packet ids, and the will. A session outlives its connections when its
 * expiry interval is above 0; it is then mirrored to the store as it changes, so that the
 * durable store can bring it back after a restart.
 *
 * Outbound flow (MQTT-4.3, MQTT-4.4, MQTT5 4.9):
 *   offer() -> queue -> inflight (packet id, sent) -> PUBACK | PUBREC -> PUBREL -> PUBCOMP
 * QoS 0 goes straight to the connection when it is online and not stalled.
 */
import type { QoS } from '../../codec/mqtt/packets.js';
import type { Clock } from '../../ports/clock.js';
import type { ClientInfo } from '../hooks.js';
import type { Store, StoredDelivery, StoredSubscription } from '../../ports/store.js';
import type { QueueDropPolicy } from '../config.js';
import type { BrokerStats } from '../stats.js';
import { BoundedQueue } from './bounded-queue.js';
import { ownPayload, type Delivery, type Message } from './message.js';
import { PacketIdAllocator } from './packet-ids.js';
import { SpillCursor } from './spill-cursor.js';
import type { PressureWaiter, SessionSink } from './session-sink.js';
import type { PendingWill } from './will.js';

export interface SessionLimits {
  maxQueuedMessages: number;
  /** Queued deliveries of a persistent session kept in memory; the rest are read back from the store. */
  maxInMemoryQueued: number;
  queueDropPolicy: QueueDropPolicy;
  queueQos0Offline: boolean;
  /** Cap on the outbound window, whatever the client allows. */
  maxInflightMessages: number;
}

const EMPTY_MAP: ReadonlyMap<never, never> = new Map<never, never>();
const EMPTY_SET: ReadonlySet<never> = new Set<never>();

export type OfferResult = 'sent' | 'queued' | 'dropped' | 'overflow';

/** Expiry interval meaning "never" (MQTT5 3.1.2.11.2). */
export const NEVER_EXPIRES = 0xffffffff;

export class Session {
  // Collections are created on first use: most sessions of an idle fleet never hold
  // anything inflight, and every byte per connection counts at 100k connections.
  private subs: Map<string, StoredSubscription> | undefined;
  private window: Map<number, Delivery> | undefined;
  private qos2In: Set<number> | undefined;
  readonly queue: BoundedQueue<Delivery>;
  sink: SessionSink | null = null;
  /** Who is connected to it now (set at attach; stays as the last one while offline). */
  client: ClientInfo | undefined;
  will: PendingWill | undefined;
  /** ms since epoch; undefined while a connection is attached. */
  disconnectedAt: number | undefined;
  username: string | undefined;
  protocolVersion: number;
  /** Set when the session has ended and must not be used any more. */
  ended = false;
  private readonly ids = new PacketIdAllocator();
  private nextSeq = 1;
  private waiters: Set<PressureWaiter> | undefined;
  /** Last acknowledgement or socket drain, for stall detection. */
  lastProgressAt = 0;
  /** Released its publishers for lack of progress; cleared by the next acknowledgement or drain. */
  private stalled = false;
  private _expiryIntervalS: number;

  constructor(
    readonly clientId: string,
    expiryIntervalS: number,
    protocolVersion: number,
    private readonly limits: SessionLimits,
    private readonly store: Store,
    private readonly stats: BrokerStats,
    private readonly clock: Clock,
  ) {
    this._expiryIntervalS = expiryIntervalS;
    this.protocolVersion = protocolVersion;
    this.queue = new BoundedQueue<Delivery>(limits.maxQueuedMessages);
  }

  get subscriptions(): ReadonlyMap<string, StoredSubscription> {
    return this.subs ?? EMPTY_MAP;
  }

  /** Outbound QoS 1/2 deliveries holding a packet id, in send order. */
  get inflight(): ReadonlyMap<number, Delivery> {
    return this.window ?? EMPTY_MAP;
  }

  /** Inbound QoS 2 packet ids awaiting PUBREL. */
  get inboundQos2(): ReadonlySet<number> {
    return this.qos2In ?? EMPTY_SET;
  }

  get expiryIntervalS(): number {
    return this._expiryIntervalS;
  }

  /** Persistent sessions (expiry > 0) are mirrored to the store. */
  get persistent(): boolean {
    return this._expiryIntervalS > 0;
  }

  get online(): boolean {
    return this.sink !== null;
  }

  /** Changes the expiry (CONNECT or DISCONNECT, MQTT5 3.14.2.2.2), persisting or forgetting the session. */
  setExpiry(expiryIntervalS: number): void {
    const was = this.persistent;
    this._expiryIntervalS = expiryIntervalS;
    if (was && !this.persistent) this.store.deleteSession(this.clientId);
    else if (!was && this.persistent) this.persistAll();
    else if (this.persistent) this.persistMeta();
  }

  persistMeta(): void {
    if (!this.persistent) return;
    this.store.putSession({
      clientId: this.clientId,
      protocolVersion: this.protocolVersion,
      expiryIntervalS: this._expiryIntervalS,
      disconnectedAt: this.disconnectedAt,
      username: this.username,
    });
  }

  // ---- subscriptions ------------------------------------------------------------

  putSubscription(sub: StoredSubscription): boolean {
    const subs = (this.subs ??= new Map());
    const existed = subs.has(sub.filter);
    subs.set(sub.filter, sub);
    if (this.persistent) this.store.putSubscription(this.clientId, sub);
    return existed;
  }

  deleteSubscription(filter: string): boolean {
    const existed = this.subs !== undefined && this.subs.delete(filter);
    if (existed && this.persistent) this.store.deleteSubscription(this.clientId, filter);
    return existed;
  }

  // ---- outbound -----------------------------------------------------------------

  /**
   * Hands a message to the session. Returns what happened; 'overflow' means the queue of
   * an online session passed its bound (the caller disconnects it as a slow consumer).
   */
  offer(
    message: Message,
    qos: QoS,
    retain: boolean,
    subscriptionIds: number[] | undefined,
    shareKey: string | undefined,
    waiter: PressureWaiter | undefined,
  ): OfferResult {
    const sink = this.sink;
    if (qos === 0) {
      if (sink !== null) {
        const p = sink.pressure();
        if (p === 'stalled') {
          this.stats.drop('slow-consumer');
          return 'dropped';
        }
        if (p === 'congested' && waiter !== undefined) this.addWaiter(waiter);
        if (!sink.sendPublish(message, 0, retain, subscriptionIds, 0, false)) {
          this.stats.drop('packet-too-large');
          return 'dropped';
        }
        this.stats.messagesDelivered++;
        return 'sent';
      }
      if (!this.limits.queueQos0Offline || !this.persistent) return 'dropped';
    }
    const d: Delivery = {
      seq: this.nextSeq++,
      message,
      qos,
      retain,
      subscriptionIds,
      shareKey,
      packetId: undefined,
      pubrel: false,
      sent: false,
    };
    if (qos === 2 && this.persistent) return this.offerAfterCommit(d, waiter);
    if (sink !== null && this.queuedCount === 0 && this.unsentInflight === 0 && this.sentCount < sink.sendWindow) {
      const p = sink.pressure();
      if (p !== 'stalled') {
        if (p === 'congested' && waiter !== undefined) this.addWaiter(waiter);
        if (this.persistent) this.store.putDelivery(this.clientId, this.toStored(d), message);
        this.transmit(d, sink);
        return 'sent';
      }
    }
    return this.enqueue(d, waiter);
  }

  /**
   * QoS 2 to a persistent session: queued, and sent only once the store has committed it
   * (store before forward), so that exactly-once holds across a crash: a publisher whose
   * PUBREC never came resends, and the message must not already be with the subscriber.
   */
  private offerAfterCommit(d: Delivery, waiter: PressureWaiter | undefined): OfferResult {
    d.uncommitted = true;
    const result = this.enqueue(d, waiter);
    const release = () => {
      d.uncommitted = false;
      this.pump(this.clock.now());
    };
    const commit = this.store.flush();
    if (commit === undefined) release();
    else {
      // Rejected only when the store gave the writes up: the publisher was refused (0x80), so this copy goes.
      const withdraw = () => {
        if (this.queue.removeWhere((x) => x === d).length > 0) this.stats.drop('store-unavailable');
        this.pump(this.clock.now());
      };
      commit.then(release, withdraw);
    }
    return result;
  }

  private enqueue(d: Delivery, waiter: PressureWaiter | undefined): OfferResult {
    // QoS 0 messages are not copied at publish time; one that is queued must own its payload.
    if (d.qos === 0) (d.message as { payload: Buffer }).payload = ownPayload(d.message.payload);
    let result: OfferResult = 'queued';
    if (this.queuedCount >= this.limits.maxQueuedMessages) {
      if (this.limits.queueDropPolicy === 'drop-newest' || this.queue.length === 0) {
        this.stats.drop('queue-full');
        return this.sink !== null ? 'overflow' : 'dropped';
      }
      this.forget(this.queue.shift()!, 'queue-full');
      result = this.sink !== null ? 'overflow' : 'queued';
    }
    if (this.persistent) {
      this.store.putDelivery(this.clientId, this.toStored(d), d.message);
      if (this.spill.spilled > 0 || this.queue.length >= this.limits.maxInMemoryQueued) {
        // Bounded memory: the rest of a long queue lives on disk only, read back in order as it drains.
        this.spill.spill(d.seq);
        return this.pressureCheck(waiter, result);
      }
    }
    this.queue.push(d);
    return this.pressureCheck(waiter, result);
  }

  private pressureCheck(waiter: PressureWaiter | undefined, result: OfferResult): OfferResult {
    if (waiter !== undefined && this.sink !== null && this.queuedCount >= this.pressureHigh()) {
      if (this.sink.pressure() !== 'stalled') this.addWaiter(waiter);
    }
    return result;
  }

  /** Queued deliveries, in memory and spilled to disk. */
  get queuedCount(): number {
    return this.queue.length + this.spill.spilled;
  }

  get queueFull(): boolean {
    return this.queuedCount >= this.limits.maxQueuedMessages;
  }

  /** Reads the next spilled deliveries back from the store (asynchronously), then pumps. */
  private readBack(): void {
    const spill = this.spill;
    if (spill.loading || spill.spilled === 0 || this.ended) return;
    spill.beginRead();
    const batch = Math.max(1, this.limits.maxInMemoryQueued >> 1);
    this.store.loadDeliveries(this.clientId, spill.diskCursor, batch).then(
      (rows) => {
        const fresh = spill.endRead(rows, batch);
        if (this.ended) return;
        for (const { delivery, message } of fresh) this.queue.push(fromStored(delivery, message));
        this.pump(this.clock.now());
      },
      () => spill.failRead(),
    );
  }

  /** Moves queued messages into the window while there is room and the connection takes them. */
  pump(now: number): void {
    const sink = this.sink;
    if (sink === null) return;
    // Resend what is inflight but not yet sent on this connection (after a reconnect or a smaller window).
    if (this.unsentInflight > 0) this.sendUnsentInflight(sink);
    while (this.queue.length > 0 && this.inflightSent() < sink.sendWindow) {
      if (sink.pressure() !== 'ok' || this.queue.peek()!.uncommitted === true) break;
      const d = this.queue.shift()!;
      if (d.message.expiresAt !== 0 && d.message.expiresAt <= now) {
        this.forget(d, 'expired'); // MQTT-3.3.2-5
        continue;
      }
      if (d.qos === 0) {
        if (this.persistent) this.store.deleteDelivery(this.clientId, d.seq);
        if (sink.sendPublish(d.message, 0, d.retain, d.subscriptionIds, 0, false)) this.stats.messagesDelivered++;
        else this.stats.drop('packet-too-large');
        continue;
      }
      this.transmit(d, sink);
    }
    if (this.spill.spilled > 0 && this.queue.length <= this.limits.maxInMemoryQueued >> 1) this.readBack();
    this.maybeRelease();
  }

  private transmit(d: Delivery, sink: SessionSink): void {
    const window = (this.window ??= new Map());
    const pid = this.ids.allocate(window);
    d.packetId = pid;
    window.set(pid, d);
    this.sentCount++;
    d.sent = true;
    d.sentAt = this.clock.now();
    if (this.persistent) this.store.updateDelivery(this.clientId, d.seq, pid, false);
    if (!sink.sendPublish(d.message, d.qos, d.retain, d.subscriptionIds, pid, false)) {
      // MQTT-3.1.2-25: too large for the client; behave as if it had been delivered.
      this.stats.drop('packet-too-large');
      this.complete(pid);
    }
  }

  /** PUBACK (QoS 1) or PUBCOMP (QoS 2) received. Returns false for an unknown id. */
  complete(packetId: number): boolean {
    const d = this.window?.get(packetId);
    if (d === undefined) return false;
    this.window!.delete(packetId);
    if (d.sent) this.sentCount--;
    else this.unsentInflight--;
    if (this.persistent) this.store.deleteDelivery(this.clientId, d.seq);
    this.stats.messagesDelivered++;
    const now = this.clock.now();
    if (d.sentAt !== undefined) this.stats.deliveryAckLatency.observe((now - d.sentAt) / 1000);
    this.lastProgressAt = now;
    this.stalled = false;
    return true;
  }

  /** PUBREC received (MQTT-4.3.3). Returns 'pubrel' to answer with PUBREL, 'unknown' for 0x92. */
  pubrec(packetId: number, reasonCode: number): 'pubrel' | 'released' | 'unknown' {
    const d = this.inflight.get(packetId);
    if (d === undefined || d.qos !== 2) return 'unknown';
    if (reasonCode >= 0x80) {
      // MQTT5 4.3.3: an error PUBREC ends the exchange; the packet id is free again.
      this.complete(packetId);
      return 'released';
    }
    d.pubrel = true;
    if (this.persistent) this.store.updateDelivery(this.clientId, d.seq, packetId, true);
    return 'pubrel';
  }

  // ---- connection lifecycle -------------------------------------------------------

  /** A connection takes the session (MQTT-4.4.0-1: resend unacknowledged PUBLISH and PUBREL). */
  attach(sink: SessionSink, now: number): void {
    this.sink = sink;
    this.stalled = false;
    this.lastProgressAt = now;
    this.disconnectedAt = undefined;
    for (const d of this.inflight.values()) {
      if (d.sent) {
        d.sent = false;
        this.sentCount--;
        this.unsentInflight++;
      }
    }
    if (this.persistent) this.persistMeta();
    this.pump(now);
  }

  detach(now: number): void {
    this.sink = null;
    this.disconnectedAt = now;
    this.releaseWaiters();
    if (this.persistent) this.persistMeta();
  }

  /** Removes and returns deliveries that came through shared subscriptions (for redistribution). */
  takeSharedDeliveries(shareKey?: string): Delivery[] {
    const out: Delivery[] = [];
    for (const [pid, d] of this.inflight) {
      if (d.shareKey === undefined || (shareKey !== undefined && d.shareKey !== shareKey)) continue;
      // MQTT-4.8.2-4/5: a QoS 2 delivery that has started stays with its member (completed on reconnect, or dropped).
      if (d.qos === 2 && (d.sent || d.pubrel)) continue;
      this.window!.delete(pid);
      if (d.sent) this.sentCount--;
      else this.unsentInflight--;
      if (this.persistent) this.store.deleteDelivery(this.clientId, d.seq);
      out.push(d);
    }
    const queued = this.queue.removeWhere((d) => d.shareKey !== undefined && (shareKey === undefined || d.shareKey === shareKey));
    for (const d of queued) if (this.persistent) this.store.deleteDelivery(this.clientId, d.seq);
    return out.concat(queued);
  }

  /** Ends the session: everything it holds is dropped (counted) and removed from the store. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    const lost = this.queuedCount + this.inflight.size;
    this.spill.clear();
    if (lost > 0) this.stats.drop('session-ended', lost);
    this.queue.removeWhere(() => true);
    this.window = undefined;
    this.sentCount = 0;
    this.unsentInflight = 0;
    this.releaseWaiters();
    if (this.persistent) this.store.deleteSession(this.clientId);
  }

  // ---- inbound QoS 2 ----------------------------------------------------------------

  addInboundQos2(packetId: number): void {
    (this.qos2In ??= new Set()).add(packetId);
    if (this.persistent) this.store.putInboundQos2(this.clientId, packetId);
  }

  releaseInboundQos2(packetId: number): boolean {
    const had = this.qos2In !== undefined && this.qos2In.delete(packetId);
    if (had && this.persistent) this.store.deleteInboundQos2(this.clientId, packetId);
    return had;
  }

  // ---- backpressure -------------------------------------------------------------------

  /** Queue length above which an online, reading subscriber slows its publishers down. */
  pressureHigh(): number {
    return Math.max(1, Math.min(1000, this.limits.maxQueuedMessages >> 2));
  }

  /** Registers a publisher to be slowed down until this session drains. */
  addWaiter(w: PressureWaiter): void {
    // A subscriber already found stalled slows nobody down again until it makes progress.
    if (this.stalled) return;
    const ws = (this.waiters ??= new Set());
    if (ws.has(w)) return;
    ws.add(w);
    w.pressureApplied(this);
  }

  get hasWaiters(): boolean {
    return this.waiters !== undefined && this.waiters.size > 0;
  }

  /** Called when the connection drained or acknowledged: wakes publishers once below the low-water mark. */
  maybeRelease(): void {
    if (this.waiters === undefined || this.waiters.size === 0) return;
    const sink = this.sink;
    if (sink !== null) {
      const p = sink.pressure();
      if (p === 'congested') return;
      if (p === 'ok' && this.queuedCount > this.pressureHigh() >> 1) return;
    }
    this.releaseWaiters();
  }

  /**
   * Periodic check (the broker's sweep): a session that holds publishers back but has made
   * no progress (no acknowledgement, no drain) for `stallMs` lets them go, so that a stuck
   * subscriber, or two clients waiting on each other, cannot stop the others.
   */
  releaseIfStalled(now: number, stallMs: number): void {
    if (this.waiters === undefined || this.waiters.size === 0) return;
    if (this.sink === null || this.sink.pressure() === 'stalled' || now - this.lastProgressAt >= stallMs) {
      this.stalled = this.sink !== null;
      this.releaseWaiters();
    } else {
      this.maybeRelease();
    }
  }

  /** The connection's socket made progress (a write completed). */
  noteProgress(now: number): void {
    this.lastProgressAt = now;
    this.stalled = false;
  }

  releaseWaiters(): void {
    const ws = this.waiters;
    if (ws === undefined || ws.size === 0) return;
    this.waiters = undefined;
    for (const w of ws) w.pressureRelieved(this);
  }

  // ---- internals --------------------------------------------------------------------

  private sentCount = 0;
  private unsentInflight = 0;
  /** Queued deliveries that are only in the store (persistent sessions with long queues). */
  /** What of a long queue is only on disk (persistent sessions). */
  private readonly spill = new SpillCursor();

  private inflightSent(): number {
    return this.sentCount;
  }

  private sendUnsentInflight(sink: SessionSink): void {
    for (const [pid, d] of this.inflight) {
      if (d.sent) continue;
      if (this.sentCount >= sink.sendWindow) break;
      d.sent = true;
      this.sentCount++;
      this.unsentInflight--;
      if (d.pubrel) sink.sendPubrel(pid, 0);
      else if (!sink.sendPublish(d.message, d.qos, d.retain, d.subscriptionIds, pid, true)) {
        this.stats.drop('packet-too-large');
        this.complete(pid);
      }
    }
  }

  private forget(d: Delivery, reason: 'expired' | 'queue-full'): void {
    this.stats.drop(reason);
    if (this.persistent) this.store.deleteDelivery(this.clientId, d.seq);
  }

  private toStored(d: Delivery) {
    return {
      seq: d.seq,
      messageId: d.message.id,
      qos: d.qos,
      retain: d.retain,
      subscriptionIds: d.subscriptionIds,
      shareKey: d.shareKey,
      packetId: d.packetId,
      pubrel: d.pubrel,
    };
  }

  /** Restores a delivery from the store at start-up. */
  restoreDelivery(d: Delivery): void {
    if (d.seq >= this.nextSeq) this.nextSeq = d.seq + 1;
    // The read-back cursor follows the queue only: inflight deliveries are all in memory.
    if (d.packetId === undefined) this.spill.restored(d.seq);
    if (d.packetId !== undefined) {
      d.sent = false;
      (this.window ??= new Map()).set(d.packetId, d);
      this.unsentInflight++;
    } else {
      this.queue.push(d);
    }
  }

  /** Restores a subscription from the store at start-up (the caller indexes it). */
  restoreSubscription(sub: StoredSubscription): void {
    (this.subs ??= new Map()).set(sub.filter, sub);
  }

  /** At start-up: deliveries the store holds beyond those loaded (read back as the queue drains). */
  restoreSpilled(count: number, lastSeq: number): void {
    this.spill.spilled = count;
    if (lastSeq >= this.nextSeq) this.nextSeq = lastSeq + 1;
  }

  restoreInboundQos2(packetId: number): void {
    (this.qos2In ??= new Set()).add(packetId);
  }

  /** Writes everything to the store (a session that just became persistent). */
  private persistAll(): void {
    this.persistMeta();
    for (const sub of this.subscriptions.values()) this.store.putSubscription(this.clientId, sub);
    for (const d of this.inflight.values()) this.store.putDelivery(this.clientId, this.toStored(d), d.message);
    for (const d of this.queue.values()) this.store.putDelivery(this.clientId, this.toStored(d), d.message);
    for (const id of this.inboundQos2) this.store.putInboundQos2(this.clientId, id);
  }
}

function fromStored(sd: StoredDelivery, message: Message): Delivery {
  return {
    seq: sd.seq,
    message,
    qos: sd.qos,
    retain: sd.retain,
    subscriptionIds: sd.subscriptionIds ? [...sd.subscriptionIds] : undefined,
    shareKey: sd.shareKey,
    packetId: undefined,
    pubrel: false,
    sent: false,
  };
}
