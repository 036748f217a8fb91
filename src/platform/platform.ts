/**
 * The device platform, composed: registry, credentials, device authentication and ACL,
 * presence, shadows and commands, and the broker views the admin API needs. It plugs into
 * the broker only through hooks (returned here, for the app to install) and the broker's
 * server publish/subscribe API.
 *
 * Clients that are not registered devices keep the broker's static auth and ACL; while the
 * registry is empty, no CONNECT pays for a device lookup at all.
 */
import type { Broker } from '../broker/broker.js';
import type { ClientInfo, DisconnectCause, Hooks } from '../broker/hooks.js';
import type { Logger } from '../observability/logger.js';
import type { PlatformStore } from '../ports/platform-store.js';
import type { AclHooks } from './acl/index.js';
import { BrokerAdminView } from './broker-admin.js';
import { CommandServiceImpl, type CommandConfig } from './commands/index.js';
import type { DeviceRegistry, Platform } from './contracts.js';
import { CredentialServiceImpl } from './credentials/index.js';
import type { AclTemplate } from './device-acl/index.js';
import { createDeviceAcl } from './device-acl/index.js';
import { allowEveryone, createDeviceAuth, DeviceIdentities, type JwtOptions } from './device-auth/index.js';
import { DeviceRegistryService, KeyedMutex } from './devices/index.js';
import { PresenceTracker } from './presence/index.js';
import { ShadowServiceImpl } from './shadows/index.js';

export interface PlatformConfig {
  auth: {
    requireDevice: boolean;
    jwt?: JwtOptions;
    secretCacheTtlMs: number;
    secretCacheMaxEntries: number;
    maxConcurrentHashes: number;
    maxWaitingHashes: number;
  };
  acl: { templates: readonly AclTemplate[] };
  presence: { graceMs: number; maxPendingWrites: number };
  shadows: { maxBytes: number; historyLimit: number };
  commands: CommandConfig;
}

export interface PlatformDeps {
  broker: Broker;
  store: PlatformStore;
  config: PlatformConfig;
  logger: Logger;
  /** The broker's static user check (config users); undefined = everyone may connect. */
  staticAuth: Hooks['authenticate'];
  staticAcl: AclHooks;
}

export interface ComposedPlatform extends Platform {
  /** To install on the broker (Object.assign(broker.hooks, hooks)). */
  readonly hooks: Hooks;
}

export function createPlatform(d: PlatformDeps): ComposedPlatform {
  const { broker, store, config, logger } = d;
  const clock = broker.clock;
  const locks = new KeyedMutex();
  const identities = new DeviceIdentities();
  let deviceCount = 0;

  const presence = new PresenceTracker({
    broker,
    store,
    clock,
    logger,
    isDevice: (c) => identities.identityOf(c)?.registered === true,
    graceMs: config.presence.graceMs,
    maxPendingWrites: config.presence.maxPendingWrites,
  });
  const registryImpl = new DeviceRegistryService({ store, broker, clock, logger, locks, presence });
  // Counts devices so that an empty registry costs connecting clients nothing.
  const devices: DeviceRegistry = {
    create: async (n) => {
      const r = await registryImpl.create(n);
      deviceCount++;
      return r;
    },
    get: (id) => registryImpl.get(id),
    update: (id, p) => registryImpl.update(id, p),
    setEnabled: (id, e) => registryImpl.setEnabled(id, e),
    delete: async (id) => {
      await registryImpl.delete(id);
      deviceCount = Math.max(0, deviceCount - 1);
      await commands.forgetDevice(id); // its commands went with it: not its in-memory queue
    },
    list: (q) => registryImpl.list(q),
  };
  const credentials = new CredentialServiceImpl({ store, clock, locks });
  const shadows = new ShadowServiceImpl({
    store,
    broker,
    clock,
    logger,
    maxBytes: config.shadows.maxBytes,
    historyLimit: config.shadows.historyLimit,
    devices: async (id) => (await store.getDevice(id)) !== undefined,
  });
  const commands = new CommandServiceImpl({ store, broker, clock, logger, config: config.commands });

  const fallback = d.staticAuth ?? allowEveryone;
  const deviceAuth = createDeviceAuth({
    store,
    clock,
    logger,
    identities,
    fallback,
    requireDevice: config.auth.requireDevice,
    secrets: {
      cacheTtlMs: config.auth.secretCacheTtlMs,
      cacheMaxEntries: config.auth.secretCacheMaxEntries,
      maxConcurrent: config.auth.maxConcurrentHashes,
      maxWaiting: config.auth.maxWaitingHashes,
    },
    ...(config.auth.jwt !== undefined ? { jwt: config.auth.jwt } : {}),
  });
  const jwtOn = config.auth.jwt !== undefined;
  const acl = createDeviceAcl({ templates: config.acl.templates, staticAcl: d.staticAcl, identities });

  const hooks: Hooks = {
    // No device can match while the registry is empty (and no JWT or certificate mapping is
    // possible): the static check alone, synchronously when there is none.
    authenticate: (req, signal) => {
      if (deviceCount === 0 && !jwtOn && req.client.certificate === undefined) {
        return d.staticAuth === undefined ? { ok: true } : d.staticAuth(req, signal);
      }
      return deviceAuth(req, signal);
    },
    authorizePublish: acl.authorizePublish,
    authorizeSubscribe: acl.authorizeSubscribe,
    onConnected: (client: ClientInfo) => {
      identities.onConnected(client);
      presence.onConnected(client);
      if (identities.identityOf(client)?.registered === true) {
        shadows.onDeviceConnected(client.clientId);
        commands.onDeviceConnected(client.clientId);
      }
    },
    onDisconnected: (client: ClientInfo, cause: DisconnectCause, reasonCode: number) => {
      presence.onDisconnected(client, cause, reasonCode);
    },
    onSubscribed: (client: ClientInfo, filters: readonly string[]) => {
      // A clean-session device subscribes after CONNACK: what was pushed at connect reached nobody.
      if (identities.identityOf(client)?.registered !== true) return;
      const own = `$holdfast/devices/${client.clientId}/`;
      if (filters.some((f) => f.startsWith(own) || f.startsWith('$holdfast/devices/+/') || f === '#')) {
        shadows.onDeviceConnected(client.clientId);
        commands.onDeviceConnected(client.clientId);
      }
    },
  };

  return {
    hooks,
    devices,
    credentials,
    shadows,
    commands,
    broker: new BrokerAdminView(broker),
    async start() {
      deviceCount = await store.countDevices();
      await presence.start();
      shadows.start();
      await commands.start();
    },
    async stop() {
      await commands.stop();
      await shadows.stop();
      await presence.stop();
    },
  };
}
