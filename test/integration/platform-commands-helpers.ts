/**
 * Shared by the shadow and command integration tests: a real broker with real listeners
 * (ephemeral port) and the shadow and command services started on it, wired to the
 * onConnected hook as the platform composition does; and a device as an MQTT.js client
 * (v5 or 3.1.1) subscribed to its own `$holdfast/devices/{id}/#`, recording what it gets.
 */
import mqtt, { type IClientPublishOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { MemoryStore } from '../../src/adapters/persistence/memory/index.js';
import { MemoryPlatformStore } from '../../src/adapters/persistence/memory/memory-platform-store.js';
import { Broker } from '../../src/broker/broker.js';
import { startListeners, type Listeners } from '../../src/broker/transport/index.js';
import { CommandServiceImpl, type CommandConfig } from '../../src/platform/commands/index.js';
import { ShadowServiceImpl } from '../../src/platform/shadows/index.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { Clock } from '../../src/ports/clock.js';
import type { DeviceRecord, PlatformStore } from '../../src/ports/platform-store.js';
import type { Store } from '../../src/ports/store.js';
import { testConfig } from '../helpers/broker.js';
import { waitUntil } from '../helpers/transport-wait.js';

export const DEFAULT_COMMANDS: CommandConfig = {
  defaultTimeoutMs: 30_000,
  maxAttempts: 3,
  window: 1,
  maxQueuedPerDevice: 100,
  retryBackoffMs: 50,
  sweepIntervalMs: 50,
};

export interface PlatformBroker {
  broker: Broker;
  port: number;
  store: Store;
  platform: PlatformStore;
  shadows: ShadowServiceImpl;
  commands: CommandServiceImpl;
  listeners: Listeners;
  /** Services first, then the broker, then the listeners (the platform store stays open unless closePlatform). */
  stop(opts?: { closePlatform?: boolean }): Promise<void>;
}

export async function startPlatformBroker(
  opts: {
    store?: Store;
    platform?: PlatformStore;
    clock?: Clock;
    commands?: Partial<CommandConfig>;
    shadowMaxBytes?: number;
    historyLimit?: number;
  } = {},
): Promise<PlatformBroker> {
  const store = opts.store ?? new MemoryStore();
  const platform = opts.platform ?? new MemoryPlatformStore();
  await platform.open();
  const services: { shadows?: ShadowServiceImpl; commands?: CommandServiceImpl } = {};
  const broker = new Broker(testConfig(), {
    store,
    logger: silentLogger(),
    clock: opts.clock,
    hooks: {
      onConnected: (client) => {
        services.shadows?.onDeviceConnected(client.clientId);
        services.commands?.onDeviceConnected(client.clientId);
      },
    },
  });
  await broker.start();
  const clock = broker.clock;
  const shadows = new ShadowServiceImpl({
    store: platform,
    broker,
    clock,
    logger: silentLogger(),
    maxBytes: opts.shadowMaxBytes ?? 8192,
    historyLimit: opts.historyLimit ?? 10,
    devices: async (id) => (await platform.getDevice(id)) !== undefined,
  });
  const commands = new CommandServiceImpl({ store: platform, broker, clock, logger: silentLogger(), config: { ...DEFAULT_COMMANDS, ...opts.commands } });
  shadows.start();
  await commands.start();
  services.shadows = shadows;
  services.commands = commands;
  const listeners = await startListeners(
    broker,
    { bind: '127.0.0.1', mqttPort: 0, wsPort: null, wsPath: '/mqtt', tls: null, backlog: 511 },
    silentLogger(),
  );
  return {
    broker,
    port: listeners.addresses.mqtt!,
    store,
    platform,
    shadows,
    commands,
    listeners,
    async stop(o = {}) {
      await commands.stop();
      await shadows.stop();
      await broker.close();
      await listeners.close();
      if (o.closePlatform === true) await platform.close();
    },
  };
}

export async function addDevice(platform: PlatformStore, id: string, type = 'meter'): Promise<DeviceRecord> {
  const d: DeviceRecord = { id, type, labels: {}, metadata: {}, enabled: true, createdAt: 1, updatedAt: 1 };
  await platform.putDevice(d);
  return d;
}

export interface DeviceOptions {
  version?: 4 | 5;
  /** Persistent session (clean: false; v5 with a one-hour session expiry). Default false. */
  persistent?: boolean;
  /** Subscribe to `$holdfast/devices/{id}/#` after connecting. Default true. */
  subscribe?: boolean;
}

/** A device: an MQTT.js client whose every received PUBLISH is recorded in order. */
export class Device {
  readonly messages: IPublishPacket[] = [];
  sessionPresent = false;

  private constructor(
    readonly id: string,
    readonly client: MqttClient,
  ) {
    client.on('message', (_t, _p, packet) => this.messages.push(packet));
  }

  static async connect(port: number, id: string, o: DeviceOptions = {}): Promise<Device> {
    const version = o.version ?? 5;
    const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
      protocolVersion: version,
      clientId: id,
      clean: o.persistent !== true,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      ...(version === 5 && o.persistent === true ? { properties: { sessionExpiryInterval: 3600 } } : {}),
    });
    const device = new Device(id, client); // the handler is on before CONNACK: queued messages follow it at once
    await new Promise<void>((resolve, reject) => {
      client.once('connect', (connack) => {
        device.sessionPresent = connack.sessionPresent;
        resolve();
      });
      client.once('error', reject);
    });
    if (o.subscribe !== false) await client.subscribeAsync(`$holdfast/devices/${id}/#`, { qos: 1 });
    return device;
  }

  topic(suffix: string): string {
    return `$holdfast/devices/${this.id}/${suffix}`;
  }

  /** Messages received on `$holdfast/devices/{id}/{suffix}`, in order. */
  on(suffix: string): IPublishPacket[] {
    const t = this.topic(suffix);
    return this.messages.filter((m) => m.topic === t);
  }

  json(p: IPublishPacket): Record<string, unknown> {
    return JSON.parse(p.payload.toString('utf8')) as Record<string, unknown>;
  }

  /** Waits until at least `count` messages arrived on `suffix`; returns them. */
  async waitFor(suffix: string, count = 1, timeoutMs = 5000): Promise<IPublishPacket[]> {
    await waitUntil(() => this.on(suffix).length >= count, timeoutMs, `${count} message(s) on ${this.topic(suffix)}`, () =>
      this.messages.map((m) => m.topic),
    );
    return this.on(suffix);
  }

  async publishJson(suffix: string, body: unknown, opts: IClientPublishOptions = {}): Promise<void> {
    await this.client.publishAsync(this.topic(suffix), JSON.stringify(body), { qos: 1, ...opts });
  }

  /** Commands received, in order. */
  commands(): IPublishPacket[] {
    return this.on('commands');
  }

  /** The id of a received command: v5 Correlation Data, 3.1.1 the envelope's "id". */
  commandId(p: IPublishPacket): string {
    const cd = p.properties?.correlationData;
    if (cd !== undefined) return Buffer.from(cd).toString('utf8');
    return String(this.json(p).id);
  }

  /** The name of a received command: v5 User Property "command", 3.1.1 the envelope's "name". */
  commandName(p: IPublishPacket): string {
    const up = p.properties?.userProperties as Record<string, string | string[]> | undefined;
    if (up !== undefined) return String(up.command);
    return String(this.json(p).name);
  }

  /** Answers a command on the response topic, in the form of the device's protocol. */
  async respond(p: IPublishPacket, body: { ok: boolean; result?: unknown; error?: string }): Promise<void> {
    const cd = p.properties?.correlationData;
    if (cd !== undefined) {
      await this.publishJson('commands/response', body, { properties: { correlationData: Buffer.from(cd) } });
    } else {
      await this.publishJson('commands/response', { id: this.commandId(p), ...body });
    }
  }

  async end(): Promise<void> {
    await this.client.endAsync();
  }
}
