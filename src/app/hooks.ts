/**
 * Composes the platform's hook implementations (static users, static ACL) into the one
 * Hooks object the broker takes. The broker never imports the platform; this file is
 * where the two meet.
 */
import type { BrokerConfig } from '../broker/config.js';
import type { Hooks } from '../broker/hooks.js';
import { createStaticAcl } from '../platform/acl/index.js';
import { createStaticAuth } from '../platform/auth/index.js';

export function createHooks(config: Pick<BrokerConfig, 'acl' | 'auth'>): Hooks {
  const hooks: Hooks = { ...createStaticAcl(config.acl.rules) };
  const authenticate = createStaticAuth({ users: config.auth.users, allowAnonymous: config.auth.allowAnonymous });
  if (authenticate !== undefined) hooks.authenticate = authenticate;
  return hooks;
}
