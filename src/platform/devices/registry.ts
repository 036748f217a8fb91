/**
 * The device registry (issue 5): devices with id, type, labels, metadata, enabled flag and
 * created/updated times, stored in the platform store.
 *
 * - Every input is checked (validation.ts) and refused with INVALID_INPUT and a message
 *   saying what is allowed.
 * - Changes to one device are serialized (KeyedMutex), so create-vs-create races give one
 *   DEVICE_EXISTS and concurrent patches do not lose each other's fields.
 * - `labels` in a patch replaces the whole label map; `metadata` replaces the whole object.
 * - Disabling a device (setEnabled(false) or a patch with enabled: false) kicks it if it is
 *   connected (v5 DISCONNECT 0x98 Administrative action); the auth hook refuses its next
 *   CONNECTs with 0x87. Deleting a device kicks it too and clears its retained presence.
 * - list() pages by id with the store's cursor; the store never loads all devices.
 */
import type { Broker } from '../../broker/broker.js';
import { RC } from '../../codec/mqtt/reason-codes.js';
import type { Logger } from '../../observability/logger.js';
import type { Clock } from '../../ports/clock.js';
import type { DevicePage, DeviceQuery, DeviceRecord, PlatformStore, PresenceRecord } from '../../ports/platform-store.js';
import type { DevicePatch, DeviceRegistry, DeviceView, NewDevice } from '../contracts.js';
import { PlatformError } from '../errors.js';
import { presenceTopic } from '../presence/presence-topic.js';
import { KeyedMutex } from './keyed-mutex.js';
import { checkDeviceId, checkEnabled, checkLabels, checkLimit, checkMetadata, checkType } from './validation.js';

/** What the registry needs from the broker. */
export type RegistryBroker = Pick<Broker, 'disconnectClient' | 'publishFromServer'>;

/** The live presence view (PresenceTracker), fresher than the store while writes are queued. */
export interface PresenceView {
  current(deviceId: string): PresenceRecord | undefined;
  forget(deviceId: string): void;
}

export interface DeviceRegistryDeps {
  store: PlatformStore;
  broker: RegistryBroker;
  clock: Clock;
  logger: Logger;
  /** Share one with the credential service so that both serialize per device. */
  locks?: KeyedMutex;
  presence?: PresenceView;
}

const PRESENCE_STATES: readonly PresenceRecord['state'][] = ['connected', 'disconnected', 'reconnecting', 'never'];

export class DeviceRegistryService implements DeviceRegistry {
  private readonly store: PlatformStore;
  private readonly broker: RegistryBroker;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly locks: KeyedMutex;
  private readonly presence: PresenceView | undefined;

  constructor(deps: DeviceRegistryDeps) {
    this.store = deps.store;
    this.broker = deps.broker;
    this.clock = deps.clock;
    this.logger = deps.logger;
    this.locks = deps.locks ?? new KeyedMutex();
    this.presence = deps.presence;
  }

  async create(d: NewDevice): Promise<DeviceRecord> {
    if (typeof d !== 'object' || d === null) throw new PlatformError('INVALID_INPUT', 'a device must be an object');
    const id = checkDeviceId(d.id);
    const record: DeviceRecord = {
      id,
      type: checkType(d.type),
      labels: d.labels === undefined ? {} : checkLabels(d.labels),
      metadata: d.metadata === undefined ? {} : checkMetadata(d.metadata),
      enabled: d.enabled === undefined ? true : checkEnabled(d.enabled),
      createdAt: this.clock.now(),
      updatedAt: this.clock.now(),
    };
    return this.locks.run(id, async () => {
      if ((await this.store.getDevice(id)) !== undefined) {
        throw new PlatformError('DEVICE_EXISTS', `device "${id}" already exists`, { details: { id } });
      }
      await this.store.putDevice(record);
      return record;
    });
  }

  async get(id: string): Promise<DeviceView> {
    const record = await this.mustGet(checkDeviceId(id));
    const presence = this.presence?.current(id) ?? (await this.store.getPresence(id));
    return { ...record, presence };
  }

  async update(id: string, patch: DevicePatch): Promise<DeviceRecord> {
    checkDeviceId(id);
    if (typeof patch !== 'object' || patch === null) throw new PlatformError('INVALID_INPUT', 'a device patch must be an object');
    const type = patch.type === undefined ? undefined : checkType(patch.type);
    const labels = patch.labels === undefined ? undefined : checkLabels(patch.labels);
    const metadata = patch.metadata === undefined ? undefined : checkMetadata(patch.metadata);
    const enabled = patch.enabled === undefined ? undefined : checkEnabled(patch.enabled);
    const updated = await this.locks.run(id, async () => {
      const current = await this.mustGet(id);
      const next: DeviceRecord = {
        ...current,
        type: type ?? current.type,
        labels: labels ?? current.labels,
        metadata: metadata ?? current.metadata,
        enabled: enabled ?? current.enabled,
        updatedAt: Math.max(this.clock.now(), current.updatedAt),
      };
      await this.store.putDevice(next);
      return next;
    });
    if (!updated.enabled) this.kick(id, 'Device disabled');
    return updated;
  }

  setEnabled(id: string, enabled: boolean): Promise<DeviceRecord> {
    return this.update(id, { enabled: checkEnabled(enabled) });
  }

  async delete(id: string): Promise<void> {
    checkDeviceId(id);
    await this.locks.run(id, async () => {
      if (!(await this.store.deleteDevice(id))) {
        throw new PlatformError('DEVICE_NOT_FOUND', `device "${id}" does not exist`, { details: { id } });
      }
    });
    this.kick(id, 'Device deleted');
    this.presence?.forget(id);
    try {
      // MQTT-3.3.1-10: an empty retained message removes the retained presence event.
      this.broker.publishFromServer({ topic: presenceTopic(id), payload: Buffer.alloc(0), qos: 0, retain: true });
    } catch (err) {
      this.logger.warn({ err, deviceId: id }, 'could not clear the retained presence of a deleted device');
    }
  }

  async list(q: DeviceQuery): Promise<DevicePage> {
    if (typeof q !== 'object' || q === null) throw new PlatformError('INVALID_INPUT', 'a device query must be an object');
    const query: DeviceQuery = { limit: checkLimit(q.limit) };
    if (q.type !== undefined) query.type = checkType(q.type);
    if (q.labels !== undefined) query.labels = checkLabels(q.labels);
    if (q.enabled !== undefined) query.enabled = checkEnabled(q.enabled);
    if (q.presence !== undefined) {
      if (!PRESENCE_STATES.includes(q.presence)) {
        throw new PlatformError('INVALID_INPUT', `presence must be one of ${PRESENCE_STATES.join(', ')}`, { details: { field: 'presence' } });
      }
      query.presence = q.presence;
    }
    if (q.after !== undefined) {
      if (typeof q.after !== 'string' || q.after.length > 128) {
        throw new PlatformError('INVALID_INPUT', 'after must be the nextCursor of the previous page', { details: { field: 'after' } });
      }
      query.after = q.after;
    }
    return this.store.listDevices(query);
  }

  private async mustGet(id: string): Promise<DeviceRecord> {
    const d = await this.store.getDevice(id);
    if (d === undefined) throw new PlatformError('DEVICE_NOT_FOUND', `device "${id}" does not exist`, { details: { id } });
    return d;
  }

  private kick(id: string, reason: string): void {
    // MQTT5 3.14.2.1: 0x98 Administrative action.
    if (this.broker.disconnectClient(id, RC.ADMINISTRATIVE_ACTION, reason)) {
      this.logger.info({ deviceId: id, reason }, 'disconnected a device');
    }
  }
}
