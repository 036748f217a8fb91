/**
 * Device shadows (issue 5): a desired and a reported JSON document per device, with a
 * version (+1 per change), per-top-level-key timestamps, the delta pushed to the device on
 * `$holdfast/devices/{id}/shadow/delta` when desired changes (while it is connected) and
 * when it connects, optimistic concurrency (the store's putShadow checks the version),
 * a size cap per document and the history of the last N changes.
 *
 * Device messages arrive on the broker's synchronous publish path (subscribeInternal):
 * they are parsed there and the store work continues asynchronously on a per-device line
 * (KeyedSerial), which keeps one device's updates in order and bounds how many can wait.
 * API calls go through the same line, so an API write and a device write never interleave.
 */
import type { Broker } from '../../broker/broker.js';
import type { Logger } from '../../observability/logger.js';
import type { Clock } from '../../ports/clock.js';
import type { PlatformStore, ShadowChange, ShadowRecord } from '../../ports/platform-store.js';
import type { ShadowDocument, ShadowService } from '../contracts.js';
import { PlatformError, isPlatformError } from '../errors.js';
import { onlineClient } from './device-online.js';
import { KeyedSerial } from './keyed-serial.js';
import {
  deltaMessage,
  emptyShadow,
  isPlainObject,
  jsonBytes,
  mergePatch,
  stampKeys,
  toDocument,
  type JsonObject,
} from './shadow-document.js';
import {
  SHADOW_GET_FILTER,
  SHADOW_UPDATE_FILTER,
  deviceIdOfShadowTopic,
  parseDeviceUpdate,
  shadowTopic,
  type ShadowReplyTopic,
} from './shadow-topics.js';

/** What the shadows need from the broker (its server publish/subscribe API). */
export type ShadowBroker = Pick<Broker, 'subscribeInternal' | 'publishFromServer' | 'sessions'>;

export interface ShadowServiceOptions {
  store: PlatformStore;
  broker: ShadowBroker;
  clock: Clock;
  logger: Logger;
  /** Cap of each document (desired, reported) as JSON, in bytes: beyond it SHADOW_TOO_LARGE. */
  maxBytes: number;
  /** Changes kept in the history per device. */
  historyLimit: number;
  /** Whether `id` is a registered device. */
  devices: (id: string) => Promise<boolean>;
  /** Device messages waiting per device before more are rejected (default 64). */
  maxPendingPerDevice?: number;
}

type Side = 'desired' | 'reported';

/** Attempts of a write without an expected version when another writer got in first. */
const WRITE_TRIES = 3;

export class ShadowServiceImpl implements ShadowService {
  private readonly store: PlatformStore;
  private readonly broker: ShadowBroker;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly maxBytes: number;
  private readonly historyLimit: number;
  private readonly isDevice: (id: string) => Promise<boolean>;
  private readonly lines: KeyedSerial;
  private unsubscribe: Array<() => void> = [];

  constructor(opts: ShadowServiceOptions) {
    this.store = opts.store;
    this.broker = opts.broker;
    this.clock = opts.clock;
    this.logger = opts.logger;
    this.maxBytes = opts.maxBytes;
    this.historyLimit = opts.historyLimit;
    this.isDevice = opts.devices;
    this.lines = new KeyedSerial(opts.maxPendingPerDevice ?? 64);
  }

  start(): void {
    if (this.unsubscribe.length > 0) return;
    this.unsubscribe = [
      this.broker.subscribeInternal(SHADOW_UPDATE_FILTER, (msg, publisher) => this.onDeviceUpdate(msg.topic, msg.payload, publisher?.clientId)),
      this.broker.subscribeInternal(SHADOW_GET_FILTER, (msg, publisher) => this.onDeviceGet(msg.topic, publisher?.clientId)),
    ];
  }

  /** Stops taking device messages and waits for the work already accepted. */
  async stop(): Promise<void> {
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    await this.lines.drain();
  }

  /** Resolves once the device messages and pushes under way have been handled (tests, shutdown). */
  async idle(): Promise<void> {
    await this.lines.drain();
  }

  // ---- API ---------------------------------------------------------------------------

  async get(deviceId: string): Promise<ShadowDocument> {
    await this.requireDevice(deviceId);
    return this.lines.runAlways(deviceId, async () => toDocument(await this.load(deviceId)));
  }

  async updateDesired(deviceId: string, patch: Record<string, unknown>, expectedVersion?: number, by = 'api'): Promise<ShadowDocument> {
    return this.update(deviceId, 'desired', patch, expectedVersion, by);
  }

  async updateReported(deviceId: string, patch: Record<string, unknown>, expectedVersion?: number, by = 'api'): Promise<ShadowDocument> {
    return this.update(deviceId, 'reported', patch, expectedVersion, by);
  }

  async history(deviceId: string, limit: number): Promise<ShadowChange[]> {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new PlatformError('INVALID_INPUT', 'limit must be a positive integer');
    await this.requireDevice(deviceId);
    return this.store.shadowHistory(deviceId, Math.min(limit, this.historyLimit));
  }

  /** The device connected (wired from the onConnected hook): push its delta if it is not empty. */
  onDeviceConnected(deviceId: string): void {
    const queued = this.lines.run(deviceId, async () => {
      const s = await this.store.getShadow(deviceId);
      if (s !== undefined) this.pushDelta(toDocument(s));
    });
    queued?.catch((err: unknown) => this.logger.error({ err, deviceId }, 'shadow delta on connect failed'));
  }

  // ---- the write path ------------------------------------------------------------------

  private async update(deviceId: string, side: Side, patch: unknown, expectedVersion: number | undefined, by: string): Promise<ShadowDocument> {
    checkPatch(patch, expectedVersion);
    await this.requireDevice(deviceId);
    return this.lines.runAlways(deviceId, () => this.apply(deviceId, side, patch, expectedVersion, by));
  }

  /** Runs on the device's line. */
  private async apply(deviceId: string, side: Side, patch: JsonObject, expectedVersion: number | undefined, by: string): Promise<ShadowDocument> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.load(deviceId);
      if (expectedVersion !== undefined && expectedVersion !== current.version) throw mismatch(deviceId, expectedVersion, current.version);
      if (Object.keys(patch).length === 0) return toDocument(current);
      const now = this.clock.now();
      const doc = mergePatch(current[side], patch);
      const bytes = jsonBytes(doc);
      if (bytes > this.maxBytes) {
        throw new PlatformError('SHADOW_TOO_LARGE', `the ${side} document would be ${bytes} bytes, over the ${this.maxBytes} bytes cap`, {
          details: { deviceId, side, bytes, maxBytes: this.maxBytes },
        });
      }
      const next: ShadowRecord =
        side === 'desired'
          ? { ...current, desired: doc, desiredTimestamps: stampKeys(current.desiredTimestamps, patch, now), version: current.version + 1, updatedAt: now }
          : { ...current, reported: doc, reportedTimestamps: stampKeys(current.reportedTimestamps, patch, now), version: current.version + 1, updatedAt: now };
      const change: ShadowChange = { deviceId, version: next.version, at: now, side, patch, by };
      // The store writes only if the stored version is still the one read (or the one expected).
      if (await this.store.putShadow(next, expectedVersion ?? current.version, change, this.historyLimit)) {
        const out = toDocument(next);
        if (side === 'desired') this.pushDelta(out);
        return out;
      }
      // Another writer (another process on the same store) got in between the read and the write.
      if (expectedVersion !== undefined || attempt >= WRITE_TRIES) throw mismatch(deviceId, expectedVersion ?? current.version, undefined);
    }
  }

  private async load(deviceId: string): Promise<ShadowRecord> {
    return (await this.store.getShadow(deviceId)) ?? emptyShadow(deviceId);
  }

  private async requireDevice(deviceId: string): Promise<void> {
    if (!(await this.isDevice(deviceId))) throw new PlatformError('DEVICE_NOT_FOUND', `no device ${deviceId}`, { details: { deviceId } });
  }

  /** The delta to the device, if it is connected and the delta is not empty (QoS 1). */
  private pushDelta(doc: ShadowDocument): void {
    if (Object.keys(doc.delta).length === 0) return;
    if (onlineClient(this.broker, doc.deviceId) === undefined) return;
    this.reply(doc.deviceId, 'delta', deltaMessage(doc));
  }

  private reply(deviceId: string, leaf: ShadowReplyTopic, body: unknown): number {
    return this.broker.publishFromServer({
      topic: shadowTopic(deviceId, leaf),
      payload: Buffer.from(JSON.stringify(body), 'utf8'),
      qos: 1,
      properties: { payloadFormatIndicator: 1, contentType: 'application/json' },
    });
  }

  // ---- device messages (synchronous, on the broker's publish path) ----------------------

  /** `$holdfast/devices/{id}/shadow/update` from the device itself. */
  private onDeviceUpdate(topic: string, payload: Buffer, publisherId: string | undefined): void {
    const deviceId = this.ownTopic(topic, publisherId);
    if (deviceId === undefined) return;
    const parsed = parseDeviceUpdate(payload); // parsed now: the payload may be a view into a socket buffer
    if (!parsed.ok) {
      this.reply(deviceId, 'update/rejected', { code: 'INVALID_INPUT', message: parsed.message });
      return;
    }
    const queued = this.lines.run(deviceId, async () => {
      try {
        if (!(await this.isDevice(deviceId))) {
          this.reply(deviceId, 'update/rejected', { code: 'DEVICE_NOT_FOUND', message: `no device ${deviceId}` });
          return;
        }
        const doc = await this.apply(deviceId, 'reported', parsed.reported, parsed.version, 'device');
        this.reply(deviceId, 'update/accepted', doc);
      } catch (err) {
        this.rejected(deviceId, 'update/rejected', err);
      }
    });
    if (queued === undefined) {
      this.reply(deviceId, 'update/rejected', { code: 'TOO_MANY_REQUESTS', message: 'too many shadow updates waiting for this device' });
    }
  }

  /** `$holdfast/devices/{id}/shadow/get` from the device itself. */
  private onDeviceGet(topic: string, publisherId: string | undefined): void {
    const deviceId = this.ownTopic(topic, publisherId);
    if (deviceId === undefined) return;
    const queued = this.lines.run(deviceId, async () => {
      try {
        if (!(await this.isDevice(deviceId))) {
          this.reply(deviceId, 'get/rejected', { code: 'DEVICE_NOT_FOUND', message: `no device ${deviceId}` });
          return;
        }
        this.reply(deviceId, 'get/accepted', toDocument(await this.load(deviceId)));
      } catch (err) {
        this.rejected(deviceId, 'get/rejected', err);
      }
    });
    if (queued === undefined) {
      this.reply(deviceId, 'get/rejected', { code: 'TOO_MANY_REQUESTS', message: 'too many shadow requests waiting for this device' });
    }
  }

  /** The topic's device id when the publisher is that device (the device ACL enforces it too). */
  private ownTopic(topic: string, publisherId: string | undefined): string | undefined {
    const deviceId = deviceIdOfShadowTopic(topic);
    if (deviceId === undefined) return undefined;
    if (publisherId !== deviceId) {
      this.logger.warn({ topic, publisherId }, 'shadow message from another client than the device: ignored');
      return undefined;
    }
    return deviceId;
  }

  private rejected(deviceId: string, leaf: 'update/rejected' | 'get/rejected', err: unknown): void {
    if (isPlatformError(err)) {
      this.reply(deviceId, leaf, { code: err.code, message: err.message });
      return;
    }
    this.logger.error({ err, deviceId }, 'shadow request failed');
    this.reply(deviceId, leaf, { code: 'INTERNAL_ERROR', message: 'the shadow could not be read or written' });
  }
}

function checkPatch(patch: unknown, expectedVersion: number | undefined): asserts patch is JsonObject {
  if (!isPlainObject(patch)) throw new PlatformError('INVALID_INPUT', 'a shadow patch must be a JSON object');
  if (expectedVersion !== undefined && !(Number.isSafeInteger(expectedVersion) && expectedVersion >= 0)) {
    throw new PlatformError('INVALID_INPUT', 'the expected version must be a non-negative integer');
  }
}

function mismatch(deviceId: string, expected: number, actual: number | undefined): PlatformError {
  const now = actual === undefined ? 'it changed meanwhile' : `it is ${actual}`;
  return new PlatformError('SHADOW_VERSION_MISMATCH', `expected shadow version ${expected}, ${now}`, {
    details: { deviceId, expectedVersion: expected, ...(actual === undefined ? {} : { version: actual }) },
  });
}
