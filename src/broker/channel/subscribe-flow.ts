/**
 * SUBSCRIBE and UNSUBSCRIBE (MQTT-3.8, 3.9, 3.10, 3.11; MQTT5 3.8.3.1 options, 4.8.2
 * shared subscriptions). Each filter gets its own reason code; the retained messages for
 * the new subscriptions are sent after the SUBACK.
 */
import type { QoS, SubscribePacket, Subscription, UnsubscribePacket } from '../../codec/mqtt/packets.js';
import { RC } from '../../codec/mqtt/reason-codes.js';
import type { StoredSubscription } from '../../ports/store.js';
import { isValidTopicFilter, isWildcardFilter, parseSharedFilter } from '../routing/index.js';
import type { Channel } from './channel.js';
import { SUBACK_FAILURE_V3 } from './reasons.js';

class ProtocolViolation {
  constructor(readonly reason: string) {}
}

export function handleSubscribe(ch: Channel, p: SubscribePacket): void {
  const broker = ch.broker;
  const v5 = ch.version === 5;
  const subId = v5 ? p.properties?.subscriptionIdentifiers?.[0] : undefined;
  if (subId !== undefined && !broker.config.mqtt.subscriptionIdentifierAvailable) {
    ch.protocolError('Subscription Identifiers are not supported', RC.SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED);
    return;
  }
  const codes: number[] = [];
  const retainedFor: StoredSubscription[] = [];
  try {
    for (const s of p.subscriptions) codes.push(subscribeOne(ch, s, subId, retainedFor));
  } catch (err) {
    if (err instanceof ProtocolViolation) {
      ch.protocolError(err.reason);
      return;
    }
    throw err;
  }
  ch.send({ type: 9, packetId: p.packetId, reasonCodes: codes }); // MQTT-3.8.4-1, -5
  const session = ch.session!;
  for (const sub of retainedFor) broker.deliverRetained(session, sub);
  const observer = broker.hooks.onSubscribed;
  if (observer !== undefined) {
    const granted = p.subscriptions.filter((_s, i) => codes[i] < 0x80).map((s) => s.topic);
    if (granted.length > 0) {
      try {
        observer(ch.client!, granted);
      } catch (err) {
        broker.logger.error({ err }, 'onSubscribed hook failed');
      }
    }
  }
}

function subscribeOne(ch: Channel, s: Subscription, subId: number | undefined, retainedFor: StoredSubscription[]): number {
  const broker = ch.broker;
  const cfg = broker.config;
  const v5 = ch.version === 5;
  const fail = (code: number) => (v5 ? code : SUBACK_FAILURE_V3);
  const shared = parseSharedFilter(s.topic);
  if (shared === 'invalid') return fail(RC.TOPIC_FILTER_INVALID); // MQTT-4.8.2-1/2
  if (shared !== null) {
    if (!cfg.mqtt.sharedSubscriptionAvailable) return fail(RC.SHARED_SUBSCRIPTIONS_NOT_SUPPORTED);
    if (s.noLocal) throw new ProtocolViolation('No Local on a shared subscription'); // MQTT-3.8.3-4
  }
  const inner = shared === null ? s.topic : shared.filter;
  if (!isValidTopicFilter(inner, broker.topicLimits)) return fail(RC.TOPIC_FILTER_INVALID); // MQTT-4.7.1-1..3
  if (!cfg.mqtt.wildcardSubscriptionAvailable && isWildcardFilter(inner)) {
    return fail(RC.WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED);
  }
  const session = ch.session!;
  if (!session.subscriptions.has(s.topic) && session.subscriptions.size >= cfg.mqtt.maxSubscriptionsPerSession) {
    return fail(RC.QUOTA_EXCEEDED);
  }
  const authorize = broker.hooks.authorizeSubscribe;
  if (authorize !== undefined && !authorize(ch.client!, s.topic, s.qos)) {
    // 0x87 in v5 (or 0x80 for old client libraries, acl.deniedSubscribeReasonCode); 0x80 in 3.1.1.
    return v5 ? cfg.acl.deniedSubscribeReasonCode : SUBACK_FAILURE_V3;
  }
  const qos = Math.min(s.qos, cfg.mqtt.maximumQoS) as QoS; // MQTT-3.8.4-6: granted may be lower
  const sub: StoredSubscription = {
    filter: s.topic,
    qos,
    noLocal: s.noLocal,
    retainAsPublished: s.retainAsPublished,
    retainHandling: s.retainHandling,
    subscriptionId: subId,
  };
  const existed = broker.subscribe(session, sub); // MQTT-3.8.4-3: replaces an existing one
  // Retain Handling (MQTT-3.3.1-9/10/11); never for shared subscriptions (MQTT5 4.8.2).
  if (cfg.mqtt.retainAvailable && shared === null && (s.retainHandling === 0 || (s.retainHandling === 1 && !existed))) {
    retainedFor.push(sub);
  }
  return qos;
}

export function handleUnsubscribe(ch: Channel, p: UnsubscribePacket): void {
  const broker = ch.broker;
  const session = ch.session!;
  const codes: number[] = [];
  for (const filter of p.topics) {
    const shared = parseSharedFilter(filter);
    const inner = shared === null ? filter : shared === 'invalid' ? undefined : shared.filter;
    if (inner === undefined || !isValidTopicFilter(inner, broker.topicLimits)) {
      codes.push(RC.TOPIC_FILTER_INVALID);
      continue;
    }
    // MQTT-3.10.4-1..5: UNSUBACK even when nothing matched; v5 says which (0x11).
    codes.push(broker.unsubscribe(session, filter) ? RC.SUCCESS : RC.NO_SUBSCRIPTION_EXISTED);
  }
  ch.send({ type: 11, packetId: p.packetId, reasonCodes: codes });
}
