/**
 * The device ACL: authorizePublish and authorizeSubscribe for every client, in three layers
 * (platform brief "Built-in device ACL"):
 *
 * 1. Built-in reserved-topic rules (reserved-topics.ts). A device may publish, among
 *    `$holdfast/...`, only to its own shadow/update, shadow/get and commands/response, and
 *    may subscribe, among `$holdfast/...`, only to filters covered by its own
 *    `$holdfast/devices/{id}/#`. No client publishes the server's topics (presence,
 *    delta, accepted/rejected, commands). These rules only take permissions away.
 * 2. Templates (templates.ts) for devices: first match decides.
 * 3. The static rules of the config (src/platform/acl createStaticAcl), for everyone.
 *
 * Which client is a device comes from DeviceIdentities (filled by the auth hook). The rules
 * of a device connection are substituted once and kept per ClientInfo object (WeakMap): the
 * per-message path is a WeakMap lookup, a prefix test and the template filters.
 * Subscribing: allow rules must cover the requested filter, deny rules refuse any overlap
 * (as the static ACL); a shared subscription is checked by its inner filter.
 */
import type { ClientInfo, Hooks } from '../../broker/hooks.js';
import { parseSharedFilter, topicMatches } from '../../broker/routing/index.js';
import type { AclHooks } from '../acl/index.js';
import { filterCovers, filtersOverlap } from '../acl/index.js';
import type { DeviceIdentities } from '../device-auth/device-identities.js';
import { deviceInputTopics, deviceOwnFilter, isServerOnlyTopic, RESERVED_ROOT } from './reserved-topics.js';
import { concreteRules, validateTemplates, type AclTemplate, type ConcreteRule } from './templates.js';

export interface DeviceAclOptions {
  templates: readonly AclTemplate[];
  /** createStaticAcl(config rules); its absent hooks allow. */
  staticAcl: AclHooks;
  identities: DeviceIdentities;
}

export type DeviceAclHooks = Required<Pick<Hooks, 'authorizePublish' | 'authorizeSubscribe'>>;

interface DeviceRules {
  readonly inputs: readonly string[];
  readonly ownFilter: string;
  readonly publish: readonly ConcreteRule[];
  readonly subscribe: readonly ConcreteRule[];
}

const DOLLAR = 36;

export function createDeviceAcl(opts: DeviceAclOptions): DeviceAclHooks {
  validateTemplates(opts.templates);
  const templates = [...opts.templates];
  const { identities } = opts;
  const staticPublish = opts.staticAcl.authorizePublish;
  const staticSubscribe = opts.staticAcl.authorizeSubscribe;
  const rulesByClient = new WeakMap<ClientInfo, DeviceRules | null>();

  function rulesOf(client: ClientInfo): DeviceRules | null {
    let rules = rulesByClient.get(client);
    if (rules !== undefined) return rules;
    const identity = identities.identityOf(client);
    rules =
      identity === undefined
        ? null
        : {
            inputs: deviceInputTopics(identity.deviceId),
            ownFilter: deviceOwnFilter(identity.deviceId),
            publish: concreteRules(templates, 'publish', identity.deviceId, identity.type),
            subscribe: concreteRules(templates, 'subscribe', identity.deviceId, identity.type),
          };
    rulesByClient.set(client, rules);
    return rules;
  }

  return {
    authorizePublish(client, topic, qos, retain) {
      const dev = rulesOf(client);
      if (topic.charCodeAt(0) === DOLLAR && topic.startsWith(RESERVED_ROOT)) {
        if (dev !== null) {
          if (topic !== dev.inputs[0] && topic !== dev.inputs[1] && topic !== dev.inputs[2]) return false;
        } else if (isServerOnlyTopic(topic)) {
          return false;
        }
      }
      if (dev !== null) {
        for (const r of dev.publish) if (topicMatches(r.filter, topic)) return r.allow;
      }
      return staticPublish === undefined ? true : staticPublish(client, topic, qos, retain);
    },

    authorizeSubscribe(client, filter, qos) {
      const dev = rulesOf(client);
      if (dev !== null) {
        const shared = parseSharedFilter(filter);
        if (shared === 'invalid') return false;
        const inner = shared === null ? filter : shared.filter;
        // Only a filter whose first level is literally `$holdfast` can match reserved topics
        // (a leading wildcard never matches a `$` topic, MQTT-4.7.2-1).
        if (inner.charCodeAt(0) === DOLLAR && (inner === '$holdfast' || inner.startsWith(RESERVED_ROOT))) {
          if (!filterCovers(dev.ownFilter, inner)) return false;
        }
        for (const r of dev.subscribe) {
          if (r.allow ? filterCovers(r.filter, inner) : filtersOverlap(r.filter, inner)) return r.allow;
        }
      }
      return staticSubscribe === undefined ? true : staticSubscribe(client, filter, qos);
    },
  };
}
