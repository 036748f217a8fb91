/**
 * The parts of BrokerConfig that may change while the broker runs (hot reload, issue 8).
 * The broker and its channels read `broker.config.X` at each use, so a change is made by
 * updating those objects in place; the few values cached at construction (topic limits,
 * the inflight cap of sessions, admission's rate buckets) are refreshed here too.
 *
 * What takes effect when:
 * - mqtt, limits, acl.deniedSubscribeReasonCode, auth.allowAnonymous: at the next packet,
 *   connection or check that reads them (CONNACK properties: new connections);
 * - clientLimits: new connections (each connection builds its rate buckets once);
 * - admission: the next accepted socket (rate buckets are rebuilt, their fill is lost).
 * Everything else of BrokerConfig (session queues, overload, flapping, the auth breaker) is
 * built into long-lived objects at construction and needs a restart.
 */
import type { Admission } from './admission.js';
import type { BrokerConfig } from './config.js';
import type { SessionLimits } from './session/session.js';

/** The live part of BrokerConfig. */
export interface LiveBrokerConfig {
  mqtt: BrokerConfig['mqtt'];
  limits: BrokerConfig['limits'];
  admission: BrokerConfig['admission'];
  clientLimits: BrokerConfig['clientLimits'];
  acl: BrokerConfig['acl'];
  auth: Pick<BrokerConfig['auth'], 'allowAnonymous' | 'users'>;
}

export interface LiveConfigTarget {
  readonly config: BrokerConfig;
  readonly topicLimits: { maxLength: number; maxLevels: number };
  readonly sessionLimits: SessionLimits;
  readonly admission: Admission;
}

/** Copies the live sections into the running config; returns the sections that changed. */
export function applyLiveBrokerConfig(target: LiveConfigTarget, next: LiveBrokerConfig): string[] {
  const cfg = target.config;
  const changed: string[] = [];
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  if (!same(cfg.mqtt, next.mqtt)) {
    Object.assign(cfg.mqtt, next.mqtt);
    target.topicLimits.maxLength = cfg.mqtt.maxTopicLengthBytes;
    target.topicLimits.maxLevels = cfg.mqtt.maxTopicLevels;
    target.sessionLimits.maxInflightMessages = cfg.mqtt.maxInflightMessages;
    changed.push('mqtt');
  }
  if (!same(cfg.limits, next.limits)) {
    Object.assign(cfg.limits, next.limits);
    changed.push('limits');
  }
  if (!same(cfg.clientLimits, next.clientLimits)) {
    Object.assign(cfg.clientLimits, next.clientLimits);
    changed.push('clientLimits');
  }
  if (!same(cfg.admission, next.admission)) {
    Object.assign(cfg.admission, next.admission);
    target.admission.reconfigure();
    changed.push('admission');
  }
  if (!same(cfg.acl, next.acl)) {
    cfg.acl.rules = next.acl.rules.map((r) => ({ ...r }));
    cfg.acl.deniedSubscribeReasonCode = next.acl.deniedSubscribeReasonCode;
    changed.push('acl');
  }
  if (cfg.auth.allowAnonymous !== next.auth.allowAnonymous || !same(cfg.auth.users, next.auth.users)) {
    cfg.auth.allowAnonymous = next.auth.allowAnonymous;
    cfg.auth.users = next.auth.users.map((u) => ({ ...u }));
    changed.push('auth');
  }
  return changed;
}
