/**
 * The broker core: the session registry (open, take over, resume, expire), message
 * routing and retained messages, wills, and the one periodic sweep that drives every
 * timeout (keepalive, connect deadline, drain, will delay, session expiry) instead of a
 * timer per connection. Channels call into it; it never touches a socket.
 */
import { randomBytes } from 'node:crypto';
import { RC } from '../codec/mqtt/reason-codes.js';
import type { Logger } from '../observability/logger.js';
import { monotonicClock, systemClock, type Clock } from '../ports/clock.js';
import type { Store, StoredSubscription } from '../ports/store.js';
import { noopTracer, type Tracer } from '../ports/tracer.js';
import { DeadlineHeap } from '../resilience/deadline-heap.js';
import type { BrokerConfig } from './config.js';
import type { ClientInfo, Hooks } from './hooks.js';
import type { Properties, QoS } from '../codec/mqtt/packets.js';
import { CircuitBreaker, type LoadSampler } from '../resilience/index.js';
import { Admission } from './admission.js';
import { InternalSubscriptions, type InternalHandler } from './internal-subscriptions.js';
import { applyLiveBrokerConfig, type LiveBrokerConfig } from './live-config.js';
import { BackgroundPurge } from './purge.js';
import { RetainedFeed } from './retained-feed.js';
import { Router } from './router.js';
import { forwardable, ownPayload, type Message } from './session/message.js';
import { NEVER_EXPIRES, Session, type SessionLimits } from './session/session.js';
import type { PressureWaiter, SessionSink } from './session/session-sink.js';
import type { PendingWill } from './session/will.js';
import { BrokerStats } from './stats.js';
import { restoreSessions } from './session-restore.js';
import { drainConnections, type BrokerCloseOptions, type BrokerCloseReport, type ShutdownWillPolicy } from './shutdown-drain.js';

export type { BrokerCloseOptions, BrokerCloseReport, ShutdownWillPolicy } from './shutdown-drain.js';

export interface BrokerDeps {
  store: Store;
  logger: Logger;
  hooks?: Hooks;
  clock?: Clock;
  /** Load signals for the overload shedder (tests inject one); default: this process's event loop and memory. */
  loadSampler?: LoadSampler;
  /** Spans for connect/auth and publish -> store -> deliver; default: off. */
  tracer?: Tracer;
}

/** A live connection as the broker sees it: something the sweep checks and shutdown closes. */
export interface ConnectionHandle {
  /** Periodic check: keepalive, connect deadline, drain timeout, stalled subscribers. */
  check(now: number): void;
  /**
   * Server shutdown: the publishes read so far are acknowledged, then v5 clients get
   * DISCONNECT with `reasonCode` (and a Server Reference); `force` closes at once.
   */
  shutdown(reasonCode: number, serverReference: string | undefined, force?: boolean): void;
}

interface TimerEntry {
  kind: 'will' | 'expire';
  session: Session;
  gen: number;
}

export interface ServerPublish {
  topic: string;
  payload: Buffer;
  qos?: QoS;
  retain?: boolean;
  properties?: Properties;
  messageExpiryS?: number;
}

export interface OpenSessionRequest {
  clientId: string;
  cleanStart: boolean;
  expiryIntervalS: number;
  protocolVersion: number;
  username: string | undefined;
}

export class Broker {
  readonly stats = new BrokerStats();
  readonly config: BrokerConfig;
  readonly store: Store;
  readonly logger: Logger;
  readonly hooks: Hooks;
  readonly clock: Clock;
  /** For rates (token buckets): monotonic unless a test injects `clock`. */
  readonly rateClock: Clock;
  readonly tracer: Tracer;
  readonly router = new Router();
  readonly sessions = new Map<string, Session>();
  readonly connections = new Set<ConnectionHandle>();
  readonly sessionLimits: SessionLimits;
  /** Connection admission, overload shedding and flapping bans (issue 6). */
  readonly admission: Admission;
  /** The authentication hook's breaker: a failing backend costs a CONNACK 0x88, not a hang. */
  readonly authBreaker: CircuitBreaker;
  /** Connections that stopped reading publishes while the broker sheds load (level 2). */
  readonly overloadPaused = new Set<{ overloadRelieved(): void }>();
  private readonly timers = new DeadlineHeap<TimerEntry>();
  private readonly timerGen = new WeakMap<Session, number>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private nextMessageId = 1;
  private readonly internalSubs: InternalSubscriptions;
  /** Expired retained messages, deliveries and orphan messages, a few hundred at a time. */
  readonly purge: BackgroundPurge;
  /** Timer work (wills, expiries) done per sweep at most: spread over sweeps after a restart. */
  readonly timerBatch = 500;
  private started = false;
  private closing = false;
  private shutdownWills: ShutdownWillPolicy = 'session-end';
  /** Sweep period: the resolution of every timeout. */
  readonly sweepIntervalMs = 250;
  readonly topicLimits: { maxLength: number; maxLevels: number };

  constructor(config: BrokerConfig, deps: BrokerDeps) {
    this.config = config;
    this.store = deps.store;
    this.logger = deps.logger;
    this.hooks = deps.hooks ?? {};
    this.clock = deps.clock ?? systemClock;
    this.rateClock = deps.clock ?? monotonicClock;
    this.tracer = deps.tracer ?? noopTracer;
    this.admission = new Admission(config, this.clock, deps.loadSampler, this.rateClock);
    this.internalSubs = new InternalSubscriptions(this.logger);
    this.purge = new BackgroundPurge(this.router.retained, this.store, this.stats, this.logger);
    this.authBreaker = new CircuitBreaker({
      name: 'auth',
      consecutiveFailures: config.auth.breakerFailures,
      openMs: config.auth.breakerOpenMs,
      clock: this.clock,
    });
    this.topicLimits = { maxLength: config.mqtt.maxTopicLengthBytes, maxLevels: config.mqtt.maxTopicLevels };
    this.sessionLimits = {
      maxQueuedMessages: config.session.maxQueuedMessages,
      maxInMemoryQueued: config.session.maxInMemoryQueued,
      queueDropPolicy: config.session.queueDropPolicy,
      queueQos0Offline: config.session.queueQos0Offline,
      maxInflightMessages: config.mqtt.maxInflightMessages,
    };
  }

  async start(): Promise<void> {
    await this.store.open();
    this.store.onHealthChange((h) => {
      // Logged once per change of state, not per failed write (issue 4).
      if (h.ok) this.logger.warn({ store: this.store.kind }, 'store recovered: writes succeed again, QoS 1/2 accepted');
      else this.logger.error({ store: this.store.kind, code: h.code, reason: h.reason }, 'store failing: QoS 1/2 publishes refused until it recovers');
    });
    const now = this.clock.now();
    const restored = await restoreSessions(this, now);
    this.nextMessageId = this.store.lastMessageId() + 1;
    this.admission.start();
    this.sweepTimer = setInterval(() => this.sweep(this.clock.now()), this.sweepIntervalMs);
    this.sweepTimer.unref();
    this.started = true;
    this.logger.info({ store: this.store.kind, ...restored }, 'broker started');
  }

  /** Started, not stopping, the store takes writes, not shedding load (each makes /readyz fail). */
  isReady(): boolean {
    return this.started && !this.closing && this.store.health().ok && !this.admission.shedding;
  }

  /** Started and not stopping (whatever the store or the load). */
  get isStarted(): boolean {
    return this.started && !this.closing;
  }

  get isClosing(): boolean {
    return this.closing;
  }

  /**
   * Stops the broker: every connection gets its in-flight publishes acknowledged and is
   * closed (v5 clients get DISCONNECT 0x8B), those still open after `drainTimeoutMs` are cut;
   * then sessions are detached and the store is flushed and closed.
   */
  async close(opts: BrokerCloseOptions = {}): Promise<BrokerCloseReport> {
    if (this.closing) return { connections: 0, drained: 0, cut: 0, drainMs: 0 };
    this.closing = true;
    this.shutdownWills = opts.wills ?? 'session-end';
    this.admission.stop();
    const report = await drainConnections(this.connections, opts, this.clock);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (report.cut > 0) this.logger.warn(report, 'stop: connections cut at the drain deadline; their unacknowledged publishes will be resent by the clients');
    try {
      await this.store.flush();
    } catch (err) {
      this.logger.error({ err }, 'store flush failed during stop: writes since the store failed are lost');
    }
    await this.store.close();
    this.started = false;
    this.logger.info(report, 'broker stopped');
    return report;
  }

  /**
   * Hot reload: takes the live sections of a new config (mqtt, limits, admission,
   * clientLimits, acl, auth users / anonymous policy) without touching any connection; see
   * live-config.ts for when each takes effect. Returns the sections that changed.
   */
  updateConfig(next: LiveBrokerConfig): string[] {
    return applyLiveBrokerConfig(this, next);
  }

  newMessageId(): number {
    return this.nextMessageId++;
  }

  /** A fresh client identifier for clients that sent none (MQTT-3.1.3-6, MQTT5 3.2.2.3.7). */
  assignClientId(): string {
    for (;;) {
      const id = 'hf-' + randomBytes(12).toString('base64url');
      if (!this.sessions.has(id)) return id;
    }
  }

  // ---- sessions --------------------------------------------------------------------

  /**
   * Finds or creates the session for a CONNECT (MQTT-3.1.2-4..6, MQTT5 3.1.2.4). An existing
   * connection for the same client id is taken over: it gets DISCONNECT 0x8E and its session,
   * with everything queued for it, passes to the new connection unless Clean Start is set.
   * The caller sends CONNACK and then calls attach().
   */
  openSession(req: OpenSessionRequest): { session: Session; present: boolean } {
    let existing = this.sessions.get(req.clientId);
    if (existing?.sink) {
      this.stats.takeovers++;
      existing.sink.disconnect(RC.SESSION_TAKEN_OVER, 'Session taken over by a new connection', 'taken-over');
      existing = this.sessions.get(req.clientId);
    }
    if (existing && req.cleanStart) {
      this.endSession(existing);
      existing = undefined;
    }
    if (existing) {
      this.bumpTimers(existing); // cancels a pending will delay and expiry (MQTT-3.1.3-9)
      if (existing.will) this.dropWill(existing);
      existing.protocolVersion = req.protocolVersion;
      existing.username = req.username;
      existing.setExpiry(req.expiryIntervalS);
      return { session: existing, present: true };
    }
    const session = new Session(
      req.clientId,
      req.expiryIntervalS,
      req.protocolVersion,
      this.sessionLimits,
      this.store,
      this.stats,
      this.clock,
    );
    session.username = req.username;
    this.sessions.set(req.clientId, session);
    session.persistMeta();
    return { session, present: false };
  }

  attach(session: Session, sink: SessionSink, client?: ClientInfo): void {
    session.client = client;
    session.attach(sink, this.clock.now());
  }

  /**
   * The connection of `session` is gone. `will` is the connection's will unless a normal
   * DISCONNECT removed it. Sessions with expiry 0 end now; others wait for their expiry.
   */
  connectionClosed(session: Session, sink: SessionSink, will: PendingWill | undefined, deferWill = false): void {
    if (session.sink !== sink || session.ended) return;
    const now = this.clock.now();
    session.detach(now);
    this.redistributeShared(session);
    if (deferWill && will !== undefined) {
      // A server stop (shutdown.wills): 'always' treats it as a network failure, 'never' fires nothing now.
      if (this.shutdownWills === 'always') deferWill = false;
      else if (this.shutdownWills === 'never' && !session.persistent) will = undefined;
    }
    if (will !== undefined) {
      // On server shutdown a persistent session's will waits (it fires after a restart if the client does not return).
      if (!session.persistent || (will.fireAt <= now && !deferWill)) {
        this.publishWill(will, session.clientId);
      } else {
        session.will = will;
        this.store.putWill(session.clientId, will);
      }
    }
    if (!session.persistent) {
      this.endSession(session);
      return;
    }
    this.scheduleTimers(session, now);
  }

  /** Ends a session: pending will first (MQTT-3.1.3-9 "or the Session ends"), then its state. */
  endSession(session: Session): void {
    if (session.ended) return;
    if (session.will) {
      const will = session.will;
      this.dropWill(session);
      this.publishWill(will, session.clientId);
    }
    this.router.unindexAll(session);
    this.redistributeShared(session);
    session.end();
    if (this.sessions.get(session.clientId) === session) this.sessions.delete(session.clientId);
    this.bumpTimers(session);
  }

  private redistributeShared(session: Session): void {
    if (this.router.shared.size === 0) return;
    for (const d of session.takeSharedDeliveries()) {
      if (!this.router.redistribute(d.message, d.shareKey!, session)) {
        // No other member: it stays with this session if the session goes on.
        if (!session.ended && session.persistent) session.offer(d.message, d.qos, d.retain, d.subscriptionIds, d.shareKey, undefined);
        else this.stats.drop('session-ended');
      }
    }
  }

  scheduleTimers(session: Session, now: number): void {
    const gen = this.bumpTimers(session);
    if (session.will) this.timers.push(session.will.fireAt, { kind: 'will', session, gen });
    if (session.expiryIntervalS !== NEVER_EXPIRES) {
      const since = session.disconnectedAt ?? now;
      this.timers.push(since + session.expiryIntervalS * 1000, { kind: 'expire', session, gen });
    }
  }

  private bumpTimers(session: Session): number {
    const gen = (this.timerGen.get(session) ?? 0) + 1;
    this.timerGen.set(session, gen);
    return gen;
  }

  private dropWill(session: Session): void {
    session.will = undefined;
    if (session.persistent) this.store.deleteWill(session.clientId);
  }

  // ---- publishing ------------------------------------------------------------------

  /**
   * Routes an accepted message (the channel has checked topic, ACL and QoS already) and
   * updates the retained store. Returns the number of sessions it reached.
   */
  publish(msg: Message, waiter: PressureWaiter | undefined, publisher?: ClientInfo): number {
    this.stats.messagesPublished++;
    if (msg.retain) this.retain(msg);
    const { matched, overflowed } = this.router.route(msg, waiter);
    if (overflowed !== undefined) for (const s of overflowed) this.slowConsumer(s, 'outbound queue full');
    const internal = this.internalSubs.size > 0 ? this.internalSubs.deliver(msg, publisher) : 0;
    if (matched + internal === 0) this.stats.messagesNoSubscriber++;
    return matched + internal;
  }

  // ---- the server's own publish / subscribe API (for the platform: presence, shadows, commands) ----

  /**
   * Subscribes server-side code to a topic filter: `handler` sees every matching message
   * (after the clients' subscribers), with the publishing client when there is one. It runs
   * synchronously on the publish path, so it must be quick and must not throw (errors are
   * logged). Returns the function that unsubscribes.
   */
  subscribeInternal(filter: string, handler: InternalHandler): () => void {
    return this.internalSubs.add(filter, handler);
  }

  /** Publishes a message from the server itself (presence events, shadow deltas, commands...). */
  publishFromServer(p: ServerPublish): number {
    const now = this.clock.now();
    const msg: Message = {
      id: this.newMessageId(),
      topic: p.topic,
      payload: p.payload,
      qos: p.qos ?? 0,
      retain: p.retain ?? false,
      properties: p.properties,
      expiresAt: p.messageExpiryS !== undefined ? now + p.messageExpiryS * 1000 : 0,
      publisherId: undefined,
      createdAt: now,
    };
    return this.publish(msg, undefined);
  }

  /** The client connected with this id now, if any. */
  connectedClient(clientId: string): ClientInfo | undefined {
    const s = this.sessions.get(clientId);
    // An offline persistent session still remembers its last client: only an attached one counts.
    return s !== undefined && s.sink !== null ? s.client : undefined;
  }

  /** Every connected client (a live view: iterate, don't keep). */
  *connectedClients(): Generator<ClientInfo> {
    for (const s of this.sessions.values()) if (s.sink !== null && s.client !== undefined) yield s.client;
  }

  /** Administrative disconnect (kick): v5 DISCONNECT with `reasonCode` (default 0x98). False if not connected. */
  disconnectClient(clientId: string, reasonCode: number = RC.ADMINISTRATIVE_ACTION, reason = 'Disconnected by an administrator'): boolean {
    const sink = this.sessions.get(clientId)?.sink;
    if (sink === null || sink === undefined) return false;
    sink.disconnect(reasonCode, reason, 'administrative');
    return true;
  }

  /** Disconnects a subscriber that cannot keep up (counted, v5 reason 0x97). */
  slowConsumer(session: Session, why: string): void {
    const sink = session.sink;
    if (sink === null) return;
    this.stats.slowConsumersDisconnected++;
    this.logger.warn({ clientId: session.clientId, why }, 'disconnecting slow consumer');
    sink.disconnect(RC.QUOTA_EXCEEDED, `Slow consumer: ${why}`, 'slow-consumer');
  }

  /** MQTT-3.3.1-5..7, MQTT-3.3.1-10/11: store, replace or (empty payload) delete. */
  private retain(msg: Message): void {
    const index = this.router.retained;
    if (msg.payload.length === 0) {
      if (index.delete(msg.topic)) this.store.deleteRetained(msg.topic);
      return;
    }
    if (index.size >= this.config.mqtt.maxRetainedMessages && !index.has(msg.topic)) {
      this.stats.drop('retained-limit');
      return;
    }
    const kept: Message = msg.payload === ownPayload(msg.payload) ? msg : { ...msg, payload: ownPayload(msg.payload) };
    index.set(msg.topic, kept);
    this.store.putRetained(kept);
  }

  /** Publishes a will (or any broker-originated message). */
  publishWill(will: PendingWill, clientId: string): void {
    this.stats.willsPublished++;
    const now = this.clock.now();
    const expiry = will.properties?.messageExpiryInterval;
    const msg: Message = {
      id: this.newMessageId(),
      topic: will.topic,
      payload: will.payload,
      qos: will.qos,
      retain: will.retain,
      properties: forwardable(will.properties),
      expiresAt: expiry !== undefined ? now + expiry * 1000 : 0,
      publisherId: clientId,
      createdAt: now,
    };
    this.publish(msg, undefined);
  }

  // ---- subscriptions -----------------------------------------------------------------

  subscribe(session: Session, sub: StoredSubscription): boolean {
    return this.router.add(session, sub);
  }

  unsubscribe(session: Session, filter: string): boolean {
    return this.router.remove(session, filter);
  }

  /** Sends the retained messages matching a new subscription, in batches (MQTT-3.3.1-9). */
  deliverRetained(session: Session, sub: StoredSubscription): void {
    new RetainedFeed(this, session, sub).start();
  }

  // ---- the sweep -----------------------------------------------------------------------

  sweep(now: number): void {
    for (const c of this.connections) c.check(now);
    if (this.admission.update() < 2 && this.overloadPaused.size > 0) {
      const paused = [...this.overloadPaused];
      this.overloadPaused.clear();
      for (const c of paused) c.overloadRelieved();
    }
    this.purge.maybeRun(now);
    if (this.timers.peekDeadline() > now) return;
    // Small batches: thousands of sessions expiring together (after a restart) are spread over sweeps.
    for (const t of this.timers.popDue(now, this.timerBatch)) {
      const { session } = t;
      if (this.timerGen.get(session) !== t.gen || session.ended || session.online) continue;
      if (t.kind === 'will') {
        const will = session.will;
        if (will !== undefined && will.fireAt <= now) {
          this.dropWill(session);
          this.publishWill(will, session.clientId);
        }
      } else {
        this.stats.sessionsExpired++;
        this.endSession(session);
      }
    }
  }
}

export type { InternalHandler } from './internal-subscriptions.js';
