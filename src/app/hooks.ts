/**
 * Composes the hook implementations the broker takes: the static users and ACL of the
 * config, and, when the device platform is on, the platform's device authentication,
 * device ACL and observers in front of them. The broker never imports the platform; this
 * file is where the two meet.
 */
import type { Broker } from '../broker/broker.js';
import type { BrokerConfig } from '../broker/config.js';
import type { Hooks } from '../broker/hooks.js';
import type { Logger } from '../observability/logger.js';
import type { PlatformStore } from '../ports/platform-store.js';
import { createStaticAcl } from '../platform/acl/index.js';
import { createStaticAuth } from '../platform/auth/index.js';
import { jwtOptionsFromConfig } from '../platform/device-auth/index.js';
import { createPlatform, type ComposedPlatform } from '../platform/platform.js';
import type { RuntimeConfig } from './config/index.js';
import type { LiveStaticAccess } from './reload/live-access.js';

/**
 * With `access` (hot reload, src/app/reload/live-access.ts) the hooks call its current rules;
 * without, they are built once from `config`.
 */
export function createHooks(config: Pick<BrokerConfig, 'acl' | 'auth'>, access?: LiveStaticAccess): Hooks {
  if (access !== undefined) return access.installOn({});
  const hooks: Hooks = { ...createStaticAcl(config.acl.rules) };
  const authenticate = createStaticAuth({ users: config.auth.users, allowAnonymous: config.auth.allowAnonymous });
  if (authenticate !== undefined) hooks.authenticate = authenticate;
  return hooks;
}

/**
 * The device platform on a running broker: its hooks replace the static ones on the
 * broker's hooks object (the broker reads them at each use), falling back to them for
 * clients that are not devices.
 */
export function installPlatform(
  broker: Broker,
  store: PlatformStore,
  runtime: RuntimeConfig,
  logger: Logger,
  access?: LiveStaticAccess,
): ComposedPlatform {
  const p = runtime.platform;
  const staticAcl = access?.hooks() ?? createStaticAcl(runtime.broker.acl.rules);
  const staticAuth = access?.authenticate ?? createStaticAuth({ users: runtime.broker.auth.users, allowAnonymous: runtime.broker.auth.allowAnonymous });
  const platform = createPlatform({
    broker,
    store,
    logger,
    staticAuth,
    staticAcl,
    config: {
      auth: {
        requireDevice: p.auth.requireDevice,
        secretCacheTtlMs: p.auth.secretCacheTtlMs,
        secretCacheMaxEntries: p.auth.secretCacheMaxEntries,
        maxConcurrentHashes: p.auth.maxConcurrentHashes,
        maxWaitingHashes: p.auth.maxWaitingHashes,
        ...(p.auth.jwt !== undefined ? { jwt: jwtOptionsFromConfig(p.auth.jwt) } : {}),
      },
      acl: { templates: p.acl.templates },
      presence: { graceMs: p.presence.graceMs, maxPendingWrites: p.presence.maxPendingWrites },
      shadows: { maxBytes: p.shadows.maxBytes, historyLimit: p.shadows.historyLimit },
      commands: { ...p.commands },
    },
  });
  access?.release(); // the platform's hooks call the static ones (staticAuth, staticAcl) themselves
  Object.assign(broker.hooks, platform.hooks);
  return platform;
}
