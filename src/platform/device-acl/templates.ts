/**
 * ACL templates for devices (config platform.acl.templates): rules like the static ACL's
 * (`action`, `topic`, `allow`), whose topic may hold `{deviceId}` and `{type}`. They apply
 * to clients authenticated as devices only, in order, first match decides; a device action
 * that matches no template goes on to the static rules (whose default is allow). So "devices
 * may publish only under devices/{deviceId}/#" is:
 *
 *   templates:
 *     - { action: publish, topic: 'devices/{deviceId}/#', allow: true }
 *     - { action: publish, topic: '#', allow: false }
 *
 * (`#` never matches `$...` topics, MQTT-4.7.2-1: the platform's reserved topics are
 * governed by the built-in rules.) A template with {type} is skipped for a device whose type
 * is unknown (an unregistered JWT subject). Device ids and types cannot hold `/`, `+`, `#`
 * (registry validation), so a substitution never widens a filter.
 *
 * Templates are validated once (createDeviceAcl) and substituted once per connection.
 */
import { isValidTopicFilter } from '../../broker/routing/index.js';
import { HoldfastError } from '../../errors/index.js';

export interface AclTemplate {
  action: 'publish' | 'subscribe' | 'all';
  topic: string;
  allow: boolean;
}

export interface ConcreteRule {
  readonly filter: string;
  readonly allow: boolean;
}

const PLACEHOLDER = /\{([^}]*)\}/g;

export function validateTemplates(templates: readonly AclTemplate[]): void {
  templates.forEach((t, i) => {
    for (const m of t.topic.matchAll(PLACEHOLDER)) {
      if (m[1] !== 'deviceId' && m[1] !== 'type') {
        throw new HoldfastError('PLATFORM_ACL_TEMPLATE', `platform.acl.templates[${i}]: unknown placeholder {${m[1]}} (use {deviceId} or {type})`);
      }
    }
    const sample = t.topic.replaceAll('{deviceId}', 'd').replaceAll('{type}', 't');
    if (!isValidTopicFilter(sample)) {
      throw new HoldfastError('PLATFORM_ACL_TEMPLATE', `platform.acl.templates[${i}]: "${t.topic}" is not a valid topic filter`);
    }
  });
}

/** The templates of one action, substituted for one device (in order). */
export function concreteRules(
  templates: readonly AclTemplate[],
  action: 'publish' | 'subscribe',
  deviceId: string,
  type: string | undefined,
): ConcreteRule[] {
  const out: ConcreteRule[] = [];
  for (const t of templates) {
    if (t.action !== 'all' && t.action !== action) continue;
    if (t.topic.includes('{type}') && type === undefined) continue;
    let filter = t.topic.replaceAll('{deviceId}', deviceId);
    if (type !== undefined) filter = filter.replaceAll('{type}', type);
    out.push({ filter, allow: t.allow });
  }
  return out;
}
