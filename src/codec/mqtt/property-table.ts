/**
 * MQTT 5 properties (MQTT5 2.2.2.2, table 2-4): identifier, data type and the packets
 * each one may appear in. Shared by the property decoder and encoder.
 */
import type { Properties } from './packets.js';

/** Data types of MQTT5 1.5 (plain numbers: no enums, so every compiler agrees). */
export const KIND_BYTE = 1;
export const KIND_TWO_BYTE = 2;
export const KIND_FOUR_BYTE = 3;
export const KIND_VAR_INT = 4;
export const KIND_UTF8 = 5;
export const KIND_BINARY = 6;
export const KIND_PAIR = 7;

/**
 * Contexts a property can appear in: bit N for control packet type N (1..15) and bit 0
 * for the Will Properties of CONNECT (MQTT5 3.1.3.2).
 */
export const CTX_WILL = 1;
const T = (...types: number[]): number => types.reduce((m, t) => m | (1 << t), 0);
const CONNECT = 1, CONNACK = 2, PUBLISH = 3, PUBACK = 4, PUBREC = 5, PUBREL = 6, PUBCOMP = 7;
const SUBSCRIBE = 8, SUBACK = 9, UNSUBSCRIBE = 10, UNSUBACK = 11, DISCONNECT = 14, AUTH = 15;
const ACKS = T(PUBACK, PUBREC, PUBREL, PUBCOMP);

export interface PropertyDef {
  id: number;
  name: keyof Properties;
  kind: number;
  /** Bit mask of contexts (see CTX_WILL and 1 << packetType). */
  allowed: number;
}

export const PROPERTY_DEFS: readonly PropertyDef[] = [
  { id: 0x01, name: 'payloadFormatIndicator', kind: KIND_BYTE, allowed: T(PUBLISH) | CTX_WILL },
  { id: 0x02, name: 'messageExpiryInterval', kind: KIND_FOUR_BYTE, allowed: T(PUBLISH) | CTX_WILL },
  { id: 0x03, name: 'contentType', kind: KIND_UTF8, allowed: T(PUBLISH) | CTX_WILL },
  { id: 0x08, name: 'responseTopic', kind: KIND_UTF8, allowed: T(PUBLISH) | CTX_WILL },
  { id: 0x09, name: 'correlationData', kind: KIND_BINARY, allowed: T(PUBLISH) | CTX_WILL },
  { id: 0x0b, name: 'subscriptionIdentifiers', kind: KIND_VAR_INT, allowed: T(PUBLISH, SUBSCRIBE) },
  { id: 0x11, name: 'sessionExpiryInterval', kind: KIND_FOUR_BYTE, allowed: T(CONNECT, CONNACK, DISCONNECT) },
  { id: 0x12, name: 'assignedClientIdentifier', kind: KIND_UTF8, allowed: T(CONNACK) },
  { id: 0x13, name: 'serverKeepAlive', kind: KIND_TWO_BYTE, allowed: T(CONNACK) },
  { id: 0x15, name: 'authenticationMethod', kind: KIND_UTF8, allowed: T(CONNECT, CONNACK, AUTH) },
  { id: 0x16, name: 'authenticationData', kind: KIND_BINARY, allowed: T(CONNECT, CONNACK, AUTH) },
  { id: 0x17, name: 'requestProblemInformation', kind: KIND_BYTE, allowed: T(CONNECT) },
  { id: 0x18, name: 'willDelayInterval', kind: KIND_FOUR_BYTE, allowed: CTX_WILL },
  { id: 0x19, name: 'requestResponseInformation', kind: KIND_BYTE, allowed: T(CONNECT) },
  { id: 0x1a, name: 'responseInformation', kind: KIND_UTF8, allowed: T(CONNACK) },
  { id: 0x1c, name: 'serverReference', kind: KIND_UTF8, allowed: T(CONNACK, DISCONNECT) },
  { id: 0x1f, name: 'reasonString', kind: KIND_UTF8, allowed: T(CONNACK, SUBACK, UNSUBACK, DISCONNECT, AUTH) | ACKS },
  { id: 0x21, name: 'receiveMaximum', kind: KIND_TWO_BYTE, allowed: T(CONNECT, CONNACK) },
  { id: 0x22, name: 'topicAliasMaximum', kind: KIND_TWO_BYTE, allowed: T(CONNECT, CONNACK) },
  { id: 0x23, name: 'topicAlias', kind: KIND_TWO_BYTE, allowed: T(PUBLISH) },
  { id: 0x24, name: 'maximumQoS', kind: KIND_BYTE, allowed: T(CONNACK) },
  { id: 0x25, name: 'retainAvailable', kind: KIND_BYTE, allowed: T(CONNACK) },
  {
    id: 0x26,
    name: 'userProperties',
    kind: KIND_PAIR,
    allowed: T(CONNECT, CONNACK, PUBLISH, SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, DISCONNECT, AUTH) | ACKS | CTX_WILL,
  },
  { id: 0x27, name: 'maximumPacketSize', kind: KIND_FOUR_BYTE, allowed: T(CONNECT, CONNACK) },
  { id: 0x28, name: 'wildcardSubscriptionAvailable', kind: KIND_BYTE, allowed: T(CONNACK) },
  { id: 0x29, name: 'subscriptionIdentifierAvailable', kind: KIND_BYTE, allowed: T(CONNACK) },
  { id: 0x2a, name: 'sharedSubscriptionAvailable', kind: KIND_BYTE, allowed: T(CONNACK) },
];

/** Lookup by identifier (index = id); undefined for identifiers that do not exist. */
export const PROPERTY_BY_ID: readonly (PropertyDef | undefined)[] = (() => {
  const table: (PropertyDef | undefined)[] = new Array<PropertyDef | undefined>(0x2b).fill(undefined);
  for (const def of PROPERTY_DEFS) table[def.id] = def;
  return table;
})();

/** Lookup by field name of `Properties`. */
export const PROPERTY_BY_NAME: Readonly<Record<string, PropertyDef | undefined>> = (() => {
  const map: Record<string, PropertyDef | undefined> = Object.create(null) as Record<string, PropertyDef | undefined>;
  for (const def of PROPERTY_DEFS) map[def.name] = def;
  return map;
})();

/** Bit used to detect a repeated property while decoding (one bit per identifier). */
export const PROPERTY_SEEN_BIT: readonly number[] = (() => {
  const bits = new Array<number>(0x2b).fill(0);
  PROPERTY_DEFS.forEach((def, i) => {
    bits[def.id] = 1 << i;
  });
  return bits;
})();
