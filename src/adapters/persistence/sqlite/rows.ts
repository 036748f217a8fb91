/**
 * Rows <-> stored records. MQTT 5 properties are kept as JSON with binary values
 * (correlation / authentication data) as base64 under a `$b64` key.
 */
import type { Properties, QoS } from '../../../codec/mqtt/packets.js';
import type { StoredDelivery, StoredMessage, StoredSession, StoredSubscription, StoredWill } from '../../../ports/store.js';

export function propsToJson(p: Properties | undefined): string | null {
  if (p === undefined) return null;
  return JSON.stringify(p, (_k, v: unknown) => {
    if (v !== null && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
      return { $b64: Buffer.from((v as { data: number[] }).data).toString('base64') };
    }
    return v;
  });
}

export function propsFromJson(s: string | null): Properties | undefined {
  if (s === null) return undefined;
  return JSON.parse(s, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && typeof (v as { $b64?: unknown }).$b64 === 'string'
      ? Buffer.from((v as { $b64: string }).$b64, 'base64')
      : v,
  ) as Properties;
}

export interface MessageRow {
  id: number;
  topic: string;
  payload: Buffer;
  qos: number;
  retain: number;
  properties: string | null;
  expires_at: number;
  publisher_id: string | null;
  created_at: number;
}

export function messageFromRow(r: MessageRow): StoredMessage {
  return {
    id: r.id,
    topic: r.topic,
    payload: r.payload,
    qos: r.qos as QoS,
    retain: r.retain === 1,
    properties: propsFromJson(r.properties),
    expiresAt: r.expires_at,
    publisherId: r.publisher_id ?? undefined,
    createdAt: r.created_at,
  };
}

export function messageToRow(m: StoredMessage): MessageRow {
  return {
    id: m.id,
    topic: m.topic,
    payload: m.payload,
    qos: m.qos,
    retain: m.retain ? 1 : 0,
    properties: propsToJson(m.properties),
    expires_at: m.expiresAt,
    publisher_id: m.publisherId ?? null,
    created_at: m.createdAt,
  };
}

export interface DeliveryRow {
  client_id: string;
  seq: number;
  message_id: number;
  qos: number;
  retain: number;
  sub_ids: string | null;
  share_key: string | null;
  packet_id: number | null;
  pubrel: number;
}

export function deliveryFromRow(r: DeliveryRow): StoredDelivery {
  return {
    seq: r.seq,
    messageId: r.message_id,
    qos: r.qos as QoS,
    retain: r.retain === 1,
    subscriptionIds: r.sub_ids === null ? undefined : (JSON.parse(r.sub_ids) as number[]),
    shareKey: r.share_key ?? undefined,
    packetId: r.packet_id ?? undefined,
    pubrel: r.pubrel === 1,
  };
}

export function deliveryToRow(clientId: string, d: StoredDelivery): DeliveryRow {
  return {
    client_id: clientId,
    seq: d.seq,
    message_id: d.messageId,
    qos: d.qos,
    retain: d.retain ? 1 : 0,
    sub_ids: d.subscriptionIds === undefined ? null : JSON.stringify(d.subscriptionIds),
    share_key: d.shareKey ?? null,
    packet_id: d.packetId ?? null,
    pubrel: d.pubrel ? 1 : 0,
  };
}

export interface SessionRow {
  client_id: string;
  protocol_version: number;
  expiry_s: number;
  disconnected_at: number | null;
  username: string | null;
}

export function sessionFromRow(r: SessionRow): StoredSession {
  return {
    clientId: r.client_id,
    protocolVersion: r.protocol_version,
    expiryIntervalS: r.expiry_s,
    disconnectedAt: r.disconnected_at ?? undefined,
    username: r.username ?? undefined,
  };
}

export interface SubscriptionRow {
  client_id: string;
  filter: string;
  qos: number;
  no_local: number;
  rap: number;
  retain_handling: number;
  sub_id: number | null;
}

export function subscriptionFromRow(r: SubscriptionRow): StoredSubscription {
  return {
    filter: r.filter,
    qos: r.qos as QoS,
    noLocal: r.no_local === 1,
    retainAsPublished: r.rap === 1,
    retainHandling: r.retain_handling as 0 | 1 | 2,
    subscriptionId: r.sub_id ?? undefined,
  };
}

export interface WillRow {
  client_id: string;
  topic: string;
  payload: Buffer;
  qos: number;
  retain: number;
  properties: string | null;
  fire_at: number;
}

export function willFromRow(r: WillRow): StoredWill {
  return {
    topic: r.topic,
    payload: r.payload,
    qos: r.qos as QoS,
    retain: r.retain === 1,
    properties: propsFromJson(r.properties),
    fireAt: r.fire_at,
  };
}
