/**
 * Inbound PUBLISH and the acknowledgement packets (MQTT-3.3 .. 3.7, MQTT5 4.3, 4.9).
 *
 * QoS 1: route, then PUBACK once the store has committed. QoS 2: route on the first
 * PUBLISH of a packet id, remember the id until PUBREL (so a resent PUBLISH with DUP is not
 * routed twice), PUBREC, then PUBCOMP on PUBREL.
 */
import { isUtf8 } from 'node:buffer';
import type { AckPacket, PublishPacket } from '../../codec/mqtt/packets.js';
import { RC } from '../../codec/mqtt/reason-codes.js';
import { isValidTopicName } from '../routing/index.js';
import { forwardable, ownPayload, type Message } from '../session/message.js';
import type { DropReason } from '../stats.js';
import type { Channel } from './channel.js';
import { refuse } from './reasons.js';
import { tracePublish, tracePublishRefused, traceStore } from './trace-flow.js';

export function handlePublish(ch: Channel, p: PublishPacket, now: number): void {
  const broker = ch.broker;
  const cfg = broker.config.mqtt;
  const v5 = ch.version === 5;
  const qos = p.qos;
  if (qos > cfg.maximumQoS) {
    ch.protocolError(`QoS ${qos} is above the Maximum QoS ${cfg.maximumQoS}`, RC.QOS_NOT_SUPPORTED); // MQTT-3.2.2-11
    return;
  }
  if (p.retain && !cfg.retainAvailable) {
    ch.protocolError('Retain is not available on this server', RC.RETAIN_NOT_SUPPORTED); // MQTT-3.2.2-14
    return;
  }
  if (qos === 0 && p.dup) {
    ch.protocolError('DUP set on a QoS 0 PUBLISH', RC.MALFORMED_PACKET); // MQTT-3.3.1-2
    return;
  }
  const props = v5 ? p.properties : undefined;
  let topic = p.topic;
  if (props !== undefined) {
    if (props.subscriptionIdentifiers !== undefined) {
      ch.protocolError('A client PUBLISH must not carry a Subscription Identifier'); // MQTT-3.3.4-6
      return;
    }
    const alias = props.topicAlias;
    if (alias !== undefined) {
      const resolved = ch.inAliases === undefined ? 'out-of-range' : ch.inAliases.resolve(topic, alias);
      if (resolved === 'out-of-range') {
        ch.protocolError(`Topic Alias ${alias} is outside 1..${cfg.topicAliasMaximum}`, RC.TOPIC_ALIAS_INVALID); // MQTT-3.3.2-9/10
        return;
      }
      if (resolved === 'unknown') {
        ch.protocolError(`Topic Alias ${alias} has no topic yet`); // MQTT5 3.3.2.3.4
        return;
      }
      topic = resolved;
    }
  }
  if (topic.length === 0) {
    ch.protocolError('PUBLISH without a topic name'); // MQTT-3.3.2-1
    return;
  }
  if (!isValidTopicName(topic, broker.topicLimits)) {
    ch.protocolError('Invalid topic name (wildcards, or over the length / level limits)', RC.TOPIC_NAME_INVALID); // MQTT-3.3.2-2
    return;
  }

  const session = ch.session!;
  const packetId = p.packetId ?? 0;
  if (qos === 2 && session.inboundQos2.has(packetId)) {
    // MQTT-4.3.3-9 (Method B): a resent PUBLISH of an id awaiting PUBREL is not delivered again.
    ch.ack({ type: 5, packetId }, undefined);
    return;
  }
  if (qos > 0 && v5 && session.inboundQos2.size + ch.pendingQos1 >= cfg.receiveMaximum) {
    // MQTT-3.3.4-9: more unacknowledged QoS 1/2 publishes than our Receive Maximum.
    ch.protocolError(`More than ${cfg.receiveMaximum} unacknowledged QoS 1/2 publishes`, RC.RECEIVE_MAXIMUM_EXCEEDED);
    return;
  }

  let refusal = 0;
  let reasonString: string | undefined;
  let dropReason: DropReason = 'acl-denied';
  const storeHealth = qos > 0 ? broker.store.health() : undefined;
  if (storeHealth !== undefined && !storeHealth.ok) {
    // The store cannot commit: refuse what would need it, keep serving QoS 0 (issue 4).
    if (!v5) {
      ch.closeWith(refuse(RC.SERVER_UNAVAILABLE, 'Storage unavailable'), 'protocol-error');
      return;
    }
    refusal = storeHealth.code === 'SQLITE_FULL' ? RC.QUOTA_EXCEEDED : RC.UNSPECIFIED_ERROR;
    reasonString = `Storage unavailable (${storeHealth.code}); QoS ${qos} messages are refused until it recovers`;
  } else if (topic.charCodeAt(0) === 0x24 /* $ */ && topic.startsWith('$SYS')) {
    refusal = RC.NOT_AUTHORIZED;
    reasonString = 'Clients may not publish to $SYS topics';
  } else if (broker.hooks.authorizePublish && !broker.hooks.authorizePublish(ch.client!, topic, qos, p.retain)) {
    refusal = RC.NOT_AUTHORIZED;
    reasonString = 'Not authorized to publish to this topic';
  } else if (props?.payloadFormatIndicator === 1 && !isUtf8(p.payload)) {
    refusal = RC.PAYLOAD_FORMAT_INVALID; // MQTT5 3.3.2.3.2
    reasonString = 'Payload Format Indicator is 1 but the payload is not UTF-8';
  } else if (broker.hooks.admitPublish !== undefined) {
    const r = broker.hooks.admitPublish(ch.client!, topic, qos, p.retain);
    if (r !== undefined) {
      if (!v5 && qos > 0) {
        // 3.1.1 cannot be told; a plain PUBACK would claim the message was taken.
        ch.closeWith(refuse(r.reasonCode, r.reason), 'protocol-error');
        return;
      }
      refusal = r.reasonCode;
      reasonString = r.reason;
      dropReason = 'publish-refused';
    }
  }
  if (refusal !== 0) {
    broker.stats.drop(storeHealth?.ok === false ? 'store-unavailable' : dropReason);
    if (broker.tracer.enabled) tracePublishRefused(ch, topic, qos, props, refusal, reasonString!);
    if (qos === 0) {
      if (refusal === RC.PAYLOAD_FORMAT_INVALID) ch.protocolError(reasonString!, refusal);
      return;
    }
    // v5: PUBACK / PUBREC with the reason (MQTT5 3.4.2.1); 3.1.1 cannot refuse, the ack is plain.
    const ack: AckPacket = v5
      ? { type: qos === 1 ? 4 : 5, packetId, reasonCode: refusal, properties: { reasonString } }
      : { type: qos === 1 ? 4 : 5, packetId };
    ch.ack(ack, undefined);
    return;
  }

  const expiry = props?.messageExpiryInterval;
  const msg: Message = {
    id: broker.newMessageId(),
    topic,
    // A QoS 1/2 message outlives this turn (inflight, queued): it must not pin the socket chunk it was decoded from.
    payload: qos > 0 ? ownPayload(p.payload) : p.payload,
    qos,
    retain: p.retain,
    properties: props === undefined ? undefined : forwardable(props),
    expiresAt: expiry !== undefined ? now + expiry * 1000 : 0,
    publisherId: ch.client!.clientId,
    createdAt: now,
  };
  if (qos === 2) session.addInboundQos2(packetId);
  const span = broker.tracer.enabled ? tracePublish(ch, msg, props) : undefined;
  const matched = broker.publish(msg, ch, ch.client);
  if (qos === 0) {
    if (span !== undefined) traceStore(ch, span, matched, undefined);
    return;
  }
  // PUBACK / PUBREC only after the message and its persistent copies are committed.
  const commit = broker.store.flush();
  if (span !== undefined) traceStore(ch, span, matched, commit);
  const rc = v5 && matched === 0 ? RC.NO_MATCHING_SUBSCRIBERS : RC.SUCCESS;
  ch.ack(rc === RC.SUCCESS ? { type: qos === 1 ? 4 : 5, packetId } : { type: qos === 1 ? 4 : 5, packetId, reasonCode: rc }, commit);
}

/** PUBACK / PUBREC / PUBCOMP from the client for our outbound publishes. */
export function handleAck(ch: Channel, p: AckPacket, now: number): void {
  const session = ch.session!;
  if (p.type === 5) {
    const r = session.pubrec(p.packetId, p.reasonCode ?? 0);
    // PUBREL only once the PUBREL stage is committed: after a crash the PUBLISH must not be resent
    // to a client that already had its PUBREL (MQTT-4.3.3-6, exactly once across a restart).
    if (r === 'pubrel') ch.ack({ type: 6, packetId: p.packetId, reasonCode: RC.SUCCESS }, session.persistent ? ch.broker.store.flush() : undefined);
    // MQTT5 3.6.2.1: PUBREL 0x92 for an id we do not know; 3.1.1 answers plainly.
    else if (r === 'unknown') ch.sendPubrel(p.packetId, ch.version === 5 ? RC.PACKET_IDENTIFIER_NOT_FOUND : RC.SUCCESS);
    else session.pump(now);
    return;
  }
  // PUBACK (QoS 1) or PUBCOMP (QoS 2): the window has room again.
  if (session.complete(p.packetId)) session.pump(now);
}

/** PUBREL: the inbound QoS 2 exchange ends with PUBCOMP (MQTT-4.3.3-11/12). */
export function handlePubrel(ch: Channel, p: AckPacket): void {
  const had = ch.session!.releaseInboundQos2(p.packetId);
  const reasonCode = had || ch.version !== 5 ? RC.SUCCESS : RC.PACKET_IDENTIFIER_NOT_FOUND;
  // PUBCOMP once the release of the id is committed: after a crash the id must not still look taken.
  const session = ch.session!;
  ch.ack({ type: 7, packetId: p.packetId, reasonCode }, session.persistent ? ch.broker.store.flush() : undefined);
}
