/**
 * Presence (issue 5): the connection state machine of every registered device, seen from
 * the server, wired as the broker's onConnected / onDisconnected observers.
 *
 *            CONNECT                        connection lost (socket closed or error,
 *   never ───────────► connected ─────────► keepalive timeout, protocol error, slow
 *                       ▲   │                consumer, rate limit) and graceMs > 0
 *        CONNECT within │   │                         │
 *        the grace      │   │ client DISCONNECT,      ▼
 *                       │   │ kicked, disabled,  reconnecting ──── grace over ───┐
 *                       │   │ server shutdown,                                   ▼
 *                       │   └─ or graceMs = 0 ────────────────────────────► disconnected
 *                       └────────────────────────────────────────── CONNECT ────┘
 *
 * - A connection that is *lost* enters `reconnecting` for graceMs: devices on flaky links
 *   drop and come back within seconds, and observers should not see a full offline/online
 *   cycle for that. If the device connects again within the grace, the events are
 *   `reconnecting` then `connected`, never `disconnected`. When the grace ends, the event is
 *   `disconnected` with the reason of the lost connection, and `at` (and the record's
 *   `since`) is when it was lost.
 * - A connection that is *ended on purpose* (client DISCONNECT, with or without will, kicked
 *   by an administrator, device disabled or deleted, server shutdown) is `disconnected` at
 *   once: nobody expects it back.
 * - Session takeover (a new connection with the same id) is not a disconnect: the old
 *   connection's end is ignored (only the device's current connection counts).
 *
 * Each change is published on `$holdfast/devices/{id}/presence` (retained, QoS 1, JSON
 * `{ deviceId, state, at, reason?, reasonCode?, remoteAddress?, protocolVersion? }`) and
 * kept on the record (store.putPresence) through a coalescing, bounded write queue
 * (presence-writer.ts): the hooks themselves never wait for the store. Publishing is
 * deferred to a microtask (hooks must not re-enter the broker), in event order.
 *
 * Only clients that are registered devices get presence (`isDevice`, usually from the
 * auth hook's DeviceIdentities). Memory: one entry per device connected or in grace, plus
 * devices that disconnected in the last `retentionMs` (their connects-per-minute window);
 * timers: one, for the earliest grace or retention deadline (DeadlineHeap).
 * start() marks devices the store still shows connected/reconnecting (a crash or restart
 * ended their connections unseen) as disconnected, reason `server-restart`.
 */
import type { Broker } from '../../broker/broker.js';
import type { ClientInfo, DisconnectCause } from '../../broker/hooks.js';
import type { Logger } from '../../observability/logger.js';
import type { Clock } from '../../ports/clock.js';
import type { PlatformStore, PresenceRecord } from '../../ports/platform-store.js';
import { DeadlineHeap } from '../../resilience/index.js';
import { presenceTopic } from './presence-topic.js';
import { PresenceWriter } from './presence-writer.js';

export type PresenceState = 'connected' | 'disconnected' | 'reconnecting';

/** The JSON published on the presence topic. */
export interface PresenceEvent {
  deviceId: string;
  state: PresenceState;
  at: number;
  reason?: string;
  reasonCode?: number;
  remoteAddress?: string;
  protocolVersion?: number;
}

export interface PresenceTrackerDeps {
  broker: Pick<Broker, 'publishFromServer'>;
  store: PlatformStore;
  clock: Clock;
  logger: Logger;
  /** Is this connection a registered device? */
  isDevice(client: ClientInfo): boolean;
  /** Reconnect grace (default 10 s); 0: every end is a disconnect at once. */
  graceMs?: number;
  /** Devices with a store write queued, at most (default 100,000). */
  maxPendingWrites?: number;
  /** How long a disconnected device stays in memory (default 60 s: its connects/minute window). */
  retentionMs?: number;
}

/** Causes that mean "the connection was lost", not "ended on purpose": they get the grace. */
const LOST: ReadonlySet<DisconnectCause> = new Set<DisconnectCause>([
  'socket-closed',
  'socket-error',
  'keepalive-timeout',
  'protocol-error',
  'slow-consumer',
  'rate-limited',
]);

const MINUTE_MS = 60_000;
/** Connect timestamps kept per device: connectsLastMinute saturates there. */
const MAX_CONNECTS_KEPT = 1000;

interface Entry {
  readonly deviceId: string;
  state: PresenceState;
  since: number;
  lastSeen: number;
  remoteAddress: string | undefined;
  protocolVersion: number | undefined;
  lastCause: string | undefined;
  lastReasonCode: number | undefined;
  connects: number[];
  /** The device's current connection. */
  client: ClientInfo | undefined;
  /** Bumped on every transition: invalidates older grace/retention deadlines. */
  gen: number;
  /** The last-disconnect fields are known (else they are read from the stored record). */
  hydrated: boolean;
}

interface Deadline {
  entry: Entry;
  gen: number;
  kind: 'grace' | 'evict';
}

export class PresenceTracker {
  private readonly broker: Pick<Broker, 'publishFromServer'>;
  private readonly store: PlatformStore;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly isDevice: (client: ClientInfo) => boolean;
  readonly graceMs: number;
  private readonly retentionMs: number;
  private readonly entries = new Map<string, Entry>();
  private readonly deadlines = new DeadlineHeap<Deadline>();
  private readonly writer: PresenceWriter;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private stopped = false;
  readonly counters = { events: 0, publishFailures: 0, reconciled: 0 };

  constructor(deps: PresenceTrackerDeps) {
    this.broker = deps.broker;
    this.store = deps.store;
    this.clock = deps.clock;
    this.logger = deps.logger;
    this.isDevice = deps.isDevice;
    this.graceMs = deps.graceMs ?? 10_000;
    this.retentionMs = deps.retentionMs ?? MINUTE_MS;
    this.writer = new PresenceWriter(deps.store, deps.logger, deps.maxPendingWrites ?? 100_000);
  }

  /** The broker's onConnected hook. */
  readonly onConnected = (client: ClientInfo): void => {
    if (this.stopped || !this.isDevice(client)) return;
    const now = this.clock.now();
    let e = this.entries.get(client.clientId);
    if (e === undefined) {
      e = {
        deviceId: client.clientId,
        state: 'connected',
        since: now,
        lastSeen: now,
        remoteAddress: undefined,
        protocolVersion: undefined,
        lastCause: undefined,
        lastReasonCode: undefined,
        connects: [],
        client: undefined,
        gen: 0,
        hydrated: false,
      };
      this.entries.set(client.clientId, e);
    }
    e.gen++;
    const since = now - MINUTE_MS;
    while (e.connects.length > 0 && (e.connects[0] <= since || e.connects.length >= MAX_CONNECTS_KEPT)) e.connects.shift();
    e.connects.push(now);
    e.client = client;
    e.state = 'connected';
    e.since = now;
    e.lastSeen = now;
    e.remoteAddress = client.remoteAddress;
    e.protocolVersion = client.protocolVersion;
    this.changed(e, { deviceId: e.deviceId, state: 'connected', at: now, remoteAddress: e.remoteAddress, protocolVersion: e.protocolVersion });
  };

  /** The broker's onDisconnected hook. */
  readonly onDisconnected = (client: ClientInfo, cause: DisconnectCause, reasonCode: number): void => {
    const e = this.entries.get(client.clientId);
    // Not a device, or not its current connection (taken over by a newer one).
    if (this.stopped || e === undefined || e.client !== client || cause === 'taken-over') return;
    const now = this.clock.now();
    e.client = undefined;
    e.gen++;
    e.lastSeen = now;
    e.since = now;
    e.lastCause = cause;
    e.lastReasonCode = reasonCode;
    e.hydrated = true;
    if (this.graceMs > 0 && LOST.has(cause)) {
      e.state = 'reconnecting';
      this.schedule(now + this.graceMs, { entry: e, gen: e.gen, kind: 'grace' });
    } else {
      e.state = 'disconnected';
      this.schedule(now + this.retentionMs, { entry: e, gen: e.gen, kind: 'evict' });
    }
    this.changed(e, { deviceId: e.deviceId, state: e.state, at: now, reason: cause, reasonCode });
  };

  /** The device's presence as tracked now (undefined: not in memory, read the store). */
  current(deviceId: string): PresenceRecord | undefined {
    const e = this.entries.get(deviceId);
    return e === undefined ? undefined : this.snapshot(e, this.clock.now());
  }

  /** The device was deleted: drop its state and queued write. */
  forget(deviceId: string): void {
    const e = this.entries.get(deviceId);
    if (e !== undefined) {
      e.gen++;
      this.entries.delete(deviceId);
    }
    this.writer.cancel(deviceId);
  }

  /** Marks devices the store shows connected or reconnecting, but that are not, as disconnected. */
  async start(): Promise<void> {
    this.stopped = false;
    for (const state of ['connected', 'reconnecting'] as const) {
      let after: string | undefined;
      do {
        const page = await this.store.listDevices({ presence: state, limit: 500, after });
        for (const d of page.items) {
          const prev = await this.store.getPresence(d.id);
          if (prev === undefined || this.entries.has(d.id) || prev.state !== state) continue;
          const now = this.clock.now();
          const record: PresenceRecord = {
            ...prev,
            state: 'disconnected',
            since: now,
            lastDisconnectCause: 'server-restart',
            lastDisconnectReasonCode: undefined,
            connectsLastMinute: 0,
          };
          this.writer.enqueue(d.id, { readStored: false, build: () => record });
          this.publish({ deviceId: d.id, state: 'disconnected', at: now, reason: 'server-restart' });
          this.counters.reconciled++;
        }
        after = page.nextCursor;
      } while (after !== undefined);
    }
    await this.writer.flush();
  }

  /** Stops the timer and writes what is queued. Call after the broker closed (its disconnects are recorded). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    await this.writer.flush();
  }

  /** Resolves when every queued store write is done (tests, shutdown). */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  get trackedDevices(): number {
    return this.entries.size;
  }

  get writeCounters(): PresenceWriter['counters'] {
    return this.writer.counters;
  }

  /** Runs the grace and retention deadlines due at `now` (the timer calls it; tests may too). */
  sweep(now = this.clock.now()): void {
    for (const d of this.deadlines.popDue(now)) {
      const e = d.entry;
      if (e.gen !== d.gen || this.entries.get(e.deviceId) !== e) continue;
      if (d.kind === 'grace' && e.state === 'reconnecting') {
        e.state = 'disconnected';
        e.gen++;
        this.schedule(now + this.retentionMs, { entry: e, gen: e.gen, kind: 'evict' });
        this.changed(e, { deviceId: e.deviceId, state: 'disconnected', at: e.since, reason: e.lastCause, reasonCode: e.lastReasonCode });
      } else if (d.kind === 'evict' && e.state === 'disconnected') {
        this.entries.delete(e.deviceId);
      }
    }
    this.arm();
  }

  private schedule(at: number, d: Deadline): void {
    this.deadlines.push(at, d);
    this.arm();
  }

  private arm(): void {
    const next = this.deadlines.peekDeadline();
    if (this.stopped || next === Infinity || next >= this.timerAt) {
      if (next === Infinity && this.timer !== undefined) {
        clearTimeout(this.timer);
        this.timer = undefined;
        this.timerAt = Infinity;
      }
      return;
    }
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.sweep();
    }, Math.max(0, next - this.clock.now()));
    this.timer.unref();
  }

  private snapshot(e: Entry, now: number): PresenceRecord {
    let connects = 0;
    for (const t of e.connects) if (t > now - MINUTE_MS) connects++;
    return {
      deviceId: e.deviceId,
      state: e.state,
      since: e.since,
      lastSeen: e.state === 'connected' ? now : e.lastSeen,
      remoteAddress: e.remoteAddress,
      protocolVersion: e.protocolVersion,
      lastDisconnectCause: e.lastCause,
      lastDisconnectReasonCode: e.lastReasonCode,
      connectsLastMinute: connects,
    };
  }

  private changed(e: Entry, event: PresenceEvent): void {
    this.writer.enqueue(e.deviceId, {
      readStored: !e.hydrated,
      build: (stored) => {
        if (this.entries.get(e.deviceId) !== e) return undefined; // forgotten (device deleted)
        if (!e.hydrated) {
          // The tracker forgot this device's past (restart, or retention over): keep the
          // stored reason of its last disconnect.
          e.lastCause ??= stored?.lastDisconnectCause;
          e.lastReasonCode ??= stored?.lastDisconnectReasonCode;
          e.hydrated = true;
        }
        return this.snapshot(e, this.clock.now());
      },
    });
    this.publish(event, e);
  }

  /** `entry`: skip the publish if the device was forgotten (deleted) meanwhile. */
  private publish(event: PresenceEvent, entry?: Entry): void {
    this.counters.events++;
    const payload = Buffer.from(JSON.stringify(event));
    queueMicrotask(() => {
      if (entry !== undefined && this.entries.get(entry.deviceId) !== entry) return;
      try {
        this.broker.publishFromServer({ topic: presenceTopic(event.deviceId), payload, qos: 1, retain: true });
      } catch (err) {
        this.counters.publishFailures++;
        this.logger.warn({ err, deviceId: event.deviceId }, 'could not publish a presence event');
      }
    });
  }
}
