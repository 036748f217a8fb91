/**
 * A broker with the device platform composed by hand for the platform integration tests:
 * the device auth hook, the device ACL, presence, the registry and the credential service
 * over one platform store (memory unless a test passes one), real listeners (TCP, TLS).
 * Composition order of the observers: identities bind first, then presence.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { MemoryPlatformStore } from '../../src/adapters/persistence/memory/index.js';
import type { AclRule } from '../../src/broker/config.js';
import type { Hooks } from '../../src/broker/hooks.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createStaticAcl } from '../../src/platform/acl/index.js';
import { CredentialServiceImpl } from '../../src/platform/credentials/index.js';
import { createDeviceAcl, type AclTemplate } from '../../src/platform/device-acl/index.js';
import { createDeviceAuth, DeviceIdentities, type JwtOptions } from '../../src/platform/device-auth/index.js';
import { DeviceRegistryService, KeyedMutex } from '../../src/platform/devices/index.js';
import { PresenceTracker } from '../../src/platform/presence/index.js';
import { systemClock, type Clock } from '../../src/ports/clock.js';
import type { PlatformStore } from '../../src/ports/platform-store.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { serverTlsOptions } from '../helpers/transport-tls.js';
import { uniqueId } from '../helpers/transport-clients.js';
import { withTimeout } from '../helpers/transport-wait.js';

/** Cheap scrypt for tests (the minimum the hash parser accepts). */
export const TEST_SCRYPT = { N: 1024, r: 8, p: 1 };

export interface PlatformBrokerOptions {
  store?: PlatformStore;
  jwt?: JwtOptions;
  requireDevice?: boolean;
  fallback?: Hooks['authenticate'];
  templates?: AclTemplate[];
  staticRules?: AclRule[];
  graceMs?: number;
  tls?: boolean;
  secretCacheTtlMs?: number;
  /** The platform's clock (the broker keeps the system clock). */
  clock?: Clock;
}

export interface PlatformBroker {
  tb: TestBroker;
  store: PlatformStore;
  identities: DeviceIdentities;
  registry: DeviceRegistryService;
  credentials: CredentialServiceImpl;
  presence: PresenceTracker;
  url: string;
  tlsUrl: string;
  stop(): Promise<void>;
}

export async function startPlatformBroker(opts: PlatformBrokerOptions = {}): Promise<PlatformBroker> {
  const store = opts.store ?? new MemoryPlatformStore();
  if (opts.store === undefined) await store.open();
  const clock = opts.clock ?? systemClock;
  const logger = silentLogger();
  const identities = new DeviceIdentities();
  const authenticate = createDeviceAuth({
    store,
    clock,
    jwt: opts.jwt,
    fallback: opts.fallback,
    requireDevice: opts.requireDevice,
    identities,
    secrets: { cacheTtlMs: opts.secretCacheTtlMs ?? 60_000 },
  });
  const acl = createDeviceAcl({ templates: opts.templates ?? [], staticAcl: createStaticAcl(opts.staticRules ?? []), identities });
  // Presence needs the broker and the broker needs presence's hooks: a late binding.
  const late: { tb?: TestBroker } = {};
  const presence = new PresenceTracker({
    broker: { publishFromServer: (p) => late.tb!.broker.publishFromServer(p) },
    store,
    clock,
    logger,
    isDevice: (c) => identities.identityOf(c)?.registered === true,
    graceMs: opts.graceMs ?? 0,
  });
  const tb = await startTestBroker({
    tls: opts.tls === true ? serverTlsOptions(true) : undefined,
    hooks: {
      authenticate,
      authorizePublish: acl.authorizePublish,
      authorizeSubscribe: acl.authorizeSubscribe,
      onConnected: (client) => {
        identities.onConnected(client);
        presence.onConnected(client);
      },
      onDisconnected: (client, cause, rc) => presence.onDisconnected(client, cause, rc),
    },
  });
  late.tb = tb;
  await presence.start();
  const locks = new KeyedMutex();
  const registry = new DeviceRegistryService({ store, broker: tb.broker, clock, logger, locks, presence });
  const credentials = new CredentialServiceImpl({ store, clock, locks, scryptParams: TEST_SCRYPT });
  return {
    tb,
    store,
    identities,
    registry,
    credentials,
    presence,
    url: `mqtt://127.0.0.1:${tb.port}`,
    tlsUrl: `mqtts://127.0.0.1:${tb.tlsPort ?? 0}`,
    async stop() {
      await tb.stop();
      await presence.stop();
      await store.close();
    },
  };
}

export type ConnectOutcome = { ok: true; client: MqttClient } | { ok: false; code: number | undefined; message: string };

/**
 * Connects MQTT.js once (no reconnect) and reports the CONNACK: the client, or the refusal
 * code (v5 reason code, 3.1.1 return code).
 */
export function tryConnect(url: string, opts: IClientOptions): Promise<ConnectOutcome> {
  return withTimeout(
    new Promise<ConnectOutcome>((resolve) => {
      const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5_000, clientId: uniqueId('c'), ...opts });
      client.once('connect', () => resolve({ ok: true, client }));
      client.once('error', (err: Error & { code?: number }) => {
        client.end(true);
        resolve({ ok: false, code: typeof err.code === 'number' ? err.code : undefined, message: err.message });
      });
    }),
    8_000,
    `CONNACK for ${String(opts.clientId)}`,
  );
}

/** Connects or throws with the refusal. */
export async function connectOk(url: string, opts: IClientOptions): Promise<MqttClient> {
  const r = await tryConnect(url, opts);
  if (!r.ok) throw new Error(`connect refused: code ${r.code} ${r.message}`);
  return r.client;
}

/** Creates a device and issues its first secret. */
export async function deviceWithSecret(p: PlatformBroker, id: string, type = 'meter'): Promise<string> {
  await p.registry.create({ id, type });
  return (await p.credentials.issueSecret(id)).secret;
}
