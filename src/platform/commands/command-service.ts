/**
 * Commands (RPC) to devices (issue 5): a durable queue per device in the platform store,
 * delivered in seq order to the connected device, `window` commands in flight at a time,
 * acknowledged on the response topic (MQTT 5 correlation data or the 3.1.1 JSON envelope),
 * with a per-command deadline, retries and a long-poll wait().
 *
 * Concurrency: every change of one device's commands (enqueue, delivery, acknowledgement,
 * deadline) runs on that device's line (KeyedSerial), so seq numbers, order and the window
 * hold without locks. One periodic sweep (unref'd) handles every deadline: queued past it
 * -> expired (never sent); sent past it -> sent again as a new attempt, or failed once
 * maxAttempts attempts went unanswered.
 *
 * Each device's open commands and last seq are kept in memory (CommandWindows), loaded
 * from the store on first use and changed only after the store write they mirror: the
 * store stays the source of truth (restarts, a failed write), the round trip reads it once.
 *
 * Delivery is at least once: a command is published before its 'sent' state is written,
 * and sent commands are published again when their device reconnects (or the broker
 * restarted), so a device must treat a command id it has already executed as done.
 */
import type { Broker } from '../../broker/broker.js';
import type { Logger } from '../../observability/logger.js';
import type { Clock } from '../../ports/clock.js';
import type { CommandRecord, CommandState, PlatformStore } from '../../ports/platform-store.js';
import type { CommandService, NewCommand } from '../contracts.js';
import { PlatformError } from '../errors.js';
import { onlineClient } from '../shadows/device-online.js';
import { KeyedSerial } from '../shadows/keyed-serial.js';
import {
  OPEN_STATES,
  acked,
  attempted,
  checkNewCommand,
  expired,
  failed,
  isFinal,
  newCommandRecord,
} from './command-records.js';
import { COMMAND_RESPONSE_FILTER, commandTopic, deviceIdOfResponseTopic, encodeCommand, parseResponse } from './command-topics.js';
import { CommandWaiters } from './command-waiters.js';
import { CommandWindows, type DeviceWindow } from './command-windows.js';

/** What the commands need from the broker (its server publish/subscribe API). */
export type CommandBroker = Pick<Broker, 'subscribeInternal' | 'publishFromServer' | 'sessions'>;

export interface CommandConfig {
  /** Deadline of a command when send() gives none: to be sent by then, and per attempt to be acknowledged. */
  defaultTimeoutMs: number;
  /** Attempts (sends) of a command when send() gives none. */
  maxAttempts: number;
  /** Commands in flight (sent, not yet acknowledged) per device. Default 1: strictly one after the other. */
  window: number;
  /** Queued + in-flight commands per device; beyond it send() fails with COMMAND_QUEUE_FULL. */
  maxQueuedPerDevice: number;
  /** When a command reached no subscriber (the device connected but has not subscribed yet), try again after this. */
  retryBackoffMs: number;
  /** Period of the deadline sweep (default 1000). */
  sweepIntervalMs?: number;
  /** Long-poll waiters in this process (default 10000); beyond it wait() answers at once. */
  maxWaiters?: number;
  /** Cap of a command payload as JSON (default 65536). */
  maxPayloadBytes?: number;
}

export interface CommandServiceOptions {
  store: PlatformStore;
  broker: CommandBroker;
  clock: Clock;
  logger: Logger;
  config: CommandConfig;
}

/** Commands handled per sweep at most (the rest at the next one). */
const SWEEP_BATCH = 500;
/** Devices with commands looked at on start(). */
const START_DEVICES = 10_000;
/** Responses waiting per device before more are dropped (the command is then retried at its deadline). */
const MAX_PENDING_PER_DEVICE = 1024;
/** Reads of one delivery pass at most (when expired commands fill them). */
const PUMP_ROUNDS = 8;
/** Devices whose open commands are kept in memory, and records kept in all (least recently used dropped). */
const WINDOW_DEVICES = 100_000;
const WINDOW_COMMANDS = 200_000;
/** setTimeout's longest delay (about 24.8 days). */
const MAX_TIMER_MS = 2_147_483_647;

export class CommandServiceImpl implements CommandService {
  private readonly store: PlatformStore;
  private readonly broker: CommandBroker;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly cfg: Required<CommandConfig>;
  private readonly lines = new KeyedSerial(MAX_PENDING_PER_DEVICE);
  private readonly waiters: CommandWaiters;
  private readonly windows: CommandWindows;
  /** Devices whose sent commands must be published again (they reconnected). */
  private readonly republish = new Set<string>();
  /** Devices connected but not subscribed when we published: when to try again. */
  private readonly undelivered = new Map<string, number>();
  /** Devices with a delivery pass waiting on their line (at most one each). */
  private readonly pumpPending = new Set<string>();
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;

  constructor(opts: CommandServiceOptions) {
    this.store = opts.store;
    this.broker = opts.broker;
    this.clock = opts.clock;
    this.logger = opts.logger;
    this.cfg = { sweepIntervalMs: 1000, maxWaiters: 10_000, maxPayloadBytes: 65_536, ...opts.config };
    if (!(this.cfg.window >= 1)) throw new PlatformError('INVALID_INPUT', 'commands window must be at least 1');
    this.waiters = new CommandWaiters(this.cfg.maxWaiters);
    this.windows = new CommandWindows(this.store, {
      maxDevices: WINDOW_DEVICES,
      maxCommands: WINDOW_COMMANDS,
      loadLimit: this.cfg.maxQueuedPerDevice,
    });
  }

  /** Subscribes to responses, starts the sweep and delivers to the devices already connected. */
  async start(): Promise<void> {
    if (this.unsubscribe !== undefined) return;
    this.unsubscribe = this.broker.subscribeInternal(COMMAND_RESPONSE_FILTER, (msg, publisher) =>
      this.onResponse(msg.topic, msg.payload, msg.properties?.correlationData, publisher?.clientId),
    );
    this.timer = setInterval(() => void this.sweep(), this.cfg.sweepIntervalMs);
    this.timer.unref();
    // After a restart: devices that are connected already get their commands now (sent ones
    // again); the others when they connect. Deadlines are found by the sweep in the store.
    for (const id of await this.store.devicesWithCommands(OPEN_STATES, START_DEVICES)) {
      if (onlineClient(this.broker, id) !== undefined) this.onDeviceConnected(id);
    }
  }

  /** Stops the sweep and the responses, waits for the work under way, answers the waiters. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.sweeping;
    await this.lines.drain();
    for (const id of this.waiters.ids()) {
      const c = await this.store.getCommand(id).catch(() => undefined);
      if (c !== undefined) this.waiters.settle(c);
    }
  }

  /** Resolves once the deliveries, responses and deadline passes under way have finished (tests, shutdown). */
  async idle(): Promise<void> {
    await this.sweeping;
    await this.lines.drain();
  }

  // ---- API ---------------------------------------------------------------------------

  async send(deviceId: string, cmd: NewCommand): Promise<CommandRecord> {
    const limits = checkNewCommand(cmd, this.cfg);
    if ((await this.store.getDevice(deviceId)) === undefined) {
      throw new PlatformError('DEVICE_NOT_FOUND', `no device ${deviceId}`, { details: { deviceId } });
    }
    const queued = this.lines.run(deviceId, async () => {
      const w = await this.windows.get(deviceId);
      if (w.open.length >= this.cfg.maxQueuedPerDevice) throw queueFull(deviceId, this.cfg.maxQueuedPerDevice);
      const c = newCommandRecord(deviceId, w.lastSeq + 1, cmd, limits, this.clock.now());
      await this.put(w, c);
      return c;
    });
    if (queued === undefined) throw queueFull(deviceId, this.cfg.maxQueuedPerDevice);
    const c = await queued;
    this.schedulePump(deviceId);
    return c;
  }

  async get(commandId: string): Promise<CommandRecord> {
    const c = await this.store.getCommand(commandId);
    if (c === undefined) throw new PlatformError('COMMAND_NOT_FOUND', `no command ${commandId}`, { details: { commandId } });
    return c;
  }

  async list(deviceId: string, states?: readonly CommandState[], limit = 100): Promise<CommandRecord[]> {
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) throw new PlatformError('INVALID_INPUT', 'limit must be an integer in 1..1000');
    if ((await this.store.getDevice(deviceId)) === undefined) {
      throw new PlatformError('DEVICE_NOT_FOUND', `no device ${deviceId}`, { details: { deviceId } });
    }
    return this.store.commandsOf(deviceId, states, limit);
  }

  async wait(commandId: string, waitMs: number, signal?: AbortSignal): Promise<CommandRecord> {
    if (!Number.isFinite(waitMs) || waitMs < 0) throw new PlatformError('INVALID_INPUT', 'waitMs must be a non-negative number');
    const first = await this.get(commandId);
    if (isFinal(first.state) || waitMs === 0) return first;
    signal?.throwIfAborted();
    return new Promise<CommandRecord>((resolve, reject) => {
      let done = false;
      // `finish` runs only after the timer and the waiter exist (never synchronously below).
      const finish = (settle: () => void): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        remove?.();
        signal?.removeEventListener('abort', onAbort);
        settle();
      };
      const onAbort = (): void => finish(() => reject(signal?.reason as Error));
      const remove = this.waiters.add(commandId, (c) => finish(() => resolve(c)));
      if (remove === undefined) {
        this.logger.warn({ commandId, waiters: this.waiters.size }, 'command waiters full: answering at once');
        resolve(first);
        return;
      }
      const timer = setTimeout(
        () => finish(() => this.store.getCommand(commandId).then((c) => resolve(c ?? first), reject)),
        Math.min(waitMs, MAX_TIMER_MS),
      );
      timer.unref();
      signal?.addEventListener('abort', onAbort, { once: true });
      // It may have become final between the first read and add(). Not when the device's
      // window holds it as open now: its final state is written, then the window changed and
      // the waiters settled, all after this point.
      if (this.windows.isOpen(first.deviceId, commandId)) return;
      this.store.getCommand(commandId).then(
        (c) => {
          if (c !== undefined && isFinal(c.state)) finish(() => resolve(c));
        },
        () => undefined,
      );
    });
  }

  /** The device was deleted (with its commands): its in-memory window goes too. */
  async forgetDevice(deviceId: string): Promise<void> {
    this.windows.forget(deviceId); // at once: nothing new reads the old window
    // And again behind the device's queued work, which may have loaded it meanwhile.
    await this.lines.runAlways(deviceId, async () => this.windows.forget(deviceId));
  }

  /** The device connected (wired from the onConnected hook): its sent commands again, then the queue. */
  onDeviceConnected(deviceId: string): void {
    this.republish.add(deviceId);
    this.undelivered.delete(deviceId);
    // Called from onConnected, before the broker attaches the connection to the session:
    // the pass runs on the line, after the attach.
    this.schedulePump(deviceId, true);
  }

  // ---- delivery ------------------------------------------------------------------------

  private schedulePump(deviceId: string, connecting = false): void {
    if (this.pumpPending.has(deviceId)) return;
    if (!connecting && onlineClient(this.broker, deviceId) === undefined) return;
    this.pumpPending.add(deviceId);
    this.lines
      .runAlways(deviceId, async () => {
        this.pumpPending.delete(deviceId);
        await this.pump(deviceId);
      })
      .catch((err: unknown) => this.logger.error({ err, deviceId }, 'command delivery failed'));
  }

  /**
   * On the device's line: publishes sent commands again after a reconnect, then queued ones
   * in seq order while fewer than `window` are in flight. Sent commands always have lower
   * seqs than queued ones (queued ones are sent in order), so one read sees both.
   */
  private async pump(deviceId: string): Promise<void> {
    const client = onlineClient(this.broker, deviceId);
    if (client === undefined) {
      this.republish.delete(deviceId);
      this.undelivered.delete(deviceId);
      return;
    }
    const window = this.cfg.window;
    const again = this.republish.has(deviceId);
    let missedAgain = false;
    let missedNew = false;
    const w = await this.windows.get(deviceId);
    // A snapshot: settling and sending change w.open. At most PUMP_ROUNDS * 2 * window
    // commands looked at per pass (expired ones beyond it are left to the sweep).
    const open = w.open.slice(0, PUMP_ROUNDS * 2 * window);
    let inflight = 0;
    for (const c of open) {
      const now = this.clock.now();
      if (c.state === 'sent') {
        inflight++;
        if (again && this.publish(c, client.protocolVersion, now) === 0) missedAgain = true;
        continue;
      }
      if (inflight >= window) break;
      if (c.deadlineAt <= now) {
        await this.settle(w, expired(c, now));
        continue;
      }
      const next = attempted(c, now);
      if (this.publish(next, client.protocolVersion, now) === 0) {
        missedNew = true; // not subscribed yet: it stays queued, and so do the ones after it
        break;
      }
      await this.put(w, next);
      inflight++;
    }
    if (!missedAgain) this.republish.delete(deviceId);
    if (missedAgain || missedNew) this.undelivered.set(deviceId, this.clock.now() + this.cfg.retryBackoffMs);
    else this.undelivered.delete(deviceId);
  }

  /** Publishes a command (QoS 1) in the device's protocol's form; returns how many subscribers it reached. */
  private publish(c: CommandRecord, protocolVersion: number, now: number): number {
    const { payload, properties } = encodeCommand(c, protocolVersion);
    return this.broker.publishFromServer({
      topic: commandTopic(c.deviceId),
      payload,
      qos: 1,
      properties,
      // MQTT5 3.3.2.3.3: not delivered from a queue once its attempt's deadline has passed.
      messageExpiryS: Math.max(1, Math.ceil((c.deadlineAt - now) / 1000)),
    });
  }

  /** Writes `c`, then mirrors it in the device's window; a failed write drops the window. */
  private async put(w: DeviceWindow, c: CommandRecord): Promise<void> {
    try {
      await this.store.putCommand(c);
    } catch (err) {
      this.windows.forget(c.deviceId);
      throw err;
    }
    this.windows.apply(w, c);
  }

  private async settle(w: DeviceWindow, c: CommandRecord): Promise<void> {
    await this.put(w, c);
    if (isFinal(c.state)) this.waiters.settle(c);
  }

  // ---- responses (synchronous, on the broker's publish path) --------------------------

  private onResponse(topic: string, payload: Buffer, correlationData: Buffer | undefined, publisherId: string | undefined): void {
    const deviceId = deviceIdOfResponseTopic(topic);
    if (deviceId === undefined) return;
    if (publisherId !== deviceId) {
      this.logger.warn({ topic, publisherId }, 'command response from another client than the device: ignored');
      return;
    }
    const r = parseResponse(payload, correlationData); // now: the payload may be a view into a socket buffer
    if (!r.ok) {
      this.logger.debug({ deviceId, why: r.message }, 'malformed command response ignored');
      return;
    }
    const queued = this.lines.run(deviceId, async () => {
      const w = await this.windows.get(deviceId);
      const c = w.open.find((x) => x.id === r.commandId);
      // A response to a command of another device, or a late / duplicate one: nothing to do.
      if (c === undefined) {
        this.logger.debug({ deviceId, commandId: r.commandId }, 'command response for no open command');
        return;
      }
      const now = this.clock.now();
      await this.settle(w, r.success ? acked(c, r.result, now) : failed(c, r.error, now));
      await this.pump(deviceId);
    });
    if (queued === undefined) this.logger.warn({ deviceId }, 'too many command responses waiting: dropped (retried at its deadline)');
    else queued.catch((err: unknown) => this.logger.error({ err, deviceId }, 'command response failed'));
  }

  // ---- deadlines ------------------------------------------------------------------------

  /** One pass over the due deadlines and the deliveries to try again; concurrent calls share one pass. */
  sweep(): Promise<void> {
    if (this.sweeping !== undefined) return this.sweeping;
    this.sweeping = this.sweepOnce()
      .catch((err: unknown) => this.logger.error({ err }, 'command sweep failed'))
      .finally(() => {
        this.sweeping = undefined;
      });
    return this.sweeping;
  }

  private async sweepOnce(): Promise<void> {
    const now = this.clock.now();
    const due = await this.store.commandsDue(OPEN_STATES, now, SWEEP_BATCH);
    const byDevice = new Map<string, string[]>();
    for (const c of due) {
      const ids = byDevice.get(c.deviceId) ?? [];
      ids.push(c.id);
      byDevice.set(c.deviceId, ids);
    }
    const work: Promise<void>[] = [];
    for (const [deviceId, ids] of byDevice) {
      work.push(
        this.lines.runAlways(deviceId, async () => {
          const w = await this.windows.get(deviceId);
          let beyond = false;
          for (const id of ids) {
            let c = w.open.find((x) => x.id === id); // it may have moved on since the query
            if (c === undefined && w.truncated) {
              // Past the part of the queue held in memory (more open commands than maxQueuedPerDevice).
              c = await this.store.getCommand(id);
              beyond = true;
            }
            if (c !== undefined && !isFinal(c.state) && c.deadlineAt <= now) await this.deadlinePassed(w, c, now);
          }
          if (beyond) this.windows.forget(deviceId); // read again from the store by the pass below
          await this.pump(deviceId);
        }),
      );
    }
    for (const [deviceId, at] of this.undelivered) {
      if (onlineClient(this.broker, deviceId) === undefined) this.undelivered.delete(deviceId); // tried again on its next connect
      else if (at <= now) this.schedulePump(deviceId);
    }
    await Promise.all(work);
  }

  /** Queued -> expired; sent -> a new attempt (published if the device is connected, else on its return) or failed. */
  private async deadlinePassed(w: DeviceWindow, c: CommandRecord, now: number): Promise<void> {
    if (c.state === 'queued') {
      await this.settle(w, expired(c, now));
      return;
    }
    if (c.attempts >= c.maxAttempts) {
      await this.settle(w, failed(c, `no response after ${c.attempts} attempt${c.attempts === 1 ? '' : 's'}`, now));
      return;
    }
    const next = attempted(c, now);
    const client = onlineClient(this.broker, c.deviceId);
    if (client !== undefined && this.publish(next, client.protocolVersion, now) === 0) {
      this.undelivered.set(c.deviceId, now + this.cfg.retryBackoffMs);
      this.republish.add(c.deviceId);
    }
    await this.put(w, next);
  }
}

function queueFull(deviceId: string, max: number): PlatformError {
  return new PlatformError('COMMAND_QUEUE_FULL', `device ${deviceId} has ${max} commands queued or in flight already`, {
    details: { deviceId, maxQueuedPerDevice: max },
  });
}
