/**
 * The MQTT packet model shared by the codec and everything above it.
 *
 * One plain-object shape per control packet (MQTT 3.1.1 section 3, MQTT 5.0 section 3),
 * discriminated by the numeric `type` (the control packet type of the fixed header,
 * MQTT5 2.1.2). Properties (MQTT5 2.2.2) are one flat optional object; a packet carries
 * `properties` only when it was decoded from, or is to be encoded as, MQTT 5.
 */

/** Protocol level byte of CONNECT: 3 = MQTT 3.1 (MQIsdp), 4 = 3.1.1, 5 = 5.0. */
export type ProtocolVersion = 3 | 4 | 5;
export type QoS = 0 | 1 | 2;

export const PacketType = {
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  PUBREC: 5,
  PUBREL: 6,
  PUBCOMP: 7,
  SUBSCRIBE: 8,
  SUBACK: 9,
  UNSUBSCRIBE: 10,
  UNSUBACK: 11,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
  AUTH: 15,
} as const;
export type PacketTypeId = (typeof PacketType)[keyof typeof PacketType];

export const PACKET_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'CONNECT', 2: 'CONNACK', 3: 'PUBLISH', 4: 'PUBACK', 5: 'PUBREC', 6: 'PUBREL',
  7: 'PUBCOMP', 8: 'SUBSCRIBE', 9: 'SUBACK', 10: 'UNSUBSCRIBE', 11: 'UNSUBACK',
  12: 'PINGREQ', 13: 'PINGRESP', 14: 'DISCONNECT', 15: 'AUTH',
};

/** A user property (MQTT5 3.1.2.11.8). Order is kept and names may repeat. */
export type UserProperty = [name: string, value: string];

/**
 * Every MQTT 5 property (MQTT5 2.2.2.2, table 2-4). Integer flags (payload format,
 * request problem information, retain available...) stay numbers so that a value outside
 * 0/1, which is a protocol error, can be seen by the layer that must reject it.
 */
export interface Properties {
  payloadFormatIndicator?: number; // 0x01 byte
  messageExpiryInterval?: number; // 0x02 four byte integer, seconds
  contentType?: string; // 0x03 utf-8
  responseTopic?: string; // 0x08 utf-8
  correlationData?: Buffer; // 0x09 binary
  /** 0x0B variable byte integer; one in SUBSCRIBE, one or more in PUBLISH. */
  subscriptionIdentifiers?: number[];
  sessionExpiryInterval?: number; // 0x11 four byte integer, seconds
  assignedClientIdentifier?: string; // 0x12 utf-8
  serverKeepAlive?: number; // 0x13 two byte integer, seconds
  authenticationMethod?: string; // 0x15 utf-8
  authenticationData?: Buffer; // 0x16 binary
  requestProblemInformation?: number; // 0x17 byte
  willDelayInterval?: number; // 0x18 four byte integer, seconds
  requestResponseInformation?: number; // 0x19 byte
  responseInformation?: string; // 0x1A utf-8
  serverReference?: string; // 0x1C utf-8
  reasonString?: string; // 0x1F utf-8
  receiveMaximum?: number; // 0x21 two byte integer
  topicAliasMaximum?: number; // 0x22 two byte integer
  topicAlias?: number; // 0x23 two byte integer
  maximumQoS?: number; // 0x24 byte
  retainAvailable?: number; // 0x25 byte
  userProperties?: UserProperty[]; // 0x26 utf-8 string pair, repeatable
  maximumPacketSize?: number; // 0x27 four byte integer
  wildcardSubscriptionAvailable?: number; // 0x28 byte
  subscriptionIdentifierAvailable?: number; // 0x29 byte
  sharedSubscriptionAvailable?: number; // 0x2A byte
}

export interface WillMessage {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  /** Will properties (MQTT5 3.1.3.2), v5 only. */
  properties?: Properties;
}

export interface ConnectPacket {
  type: 1;
  /** "MQTT" for 3.1.1 and 5.0, "MQIsdp" for 3.1. */
  protocolName: string;
  protocolVersion: ProtocolVersion;
  /** Clean Session (3.1.1) / Clean Start (5.0). */
  clean: boolean;
  keepalive: number;
  clientId: string;
  username?: string;
  password?: Buffer;
  will?: WillMessage;
  properties?: Properties;
}

export interface ConnackPacket {
  type: 2;
  sessionPresent: boolean;
  /** v5 reason code; for 3.1.1 the connect return code (0-5). */
  reasonCode: number;
  properties?: Properties;
}

export interface PublishPacket {
  type: 3;
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  /** Present iff qos > 0. */
  packetId?: number;
  properties?: Properties;
}

/** PUBACK, PUBREC, PUBREL and PUBCOMP share one shape (MQTT5 3.4-3.7). */
export interface AckPacket {
  type: 4 | 5 | 6 | 7;
  packetId: number;
  /** Defaults to 0x00 (success) when absent; v5 only on the wire. */
  reasonCode?: number;
  properties?: Properties;
}
export type PubackPacket = AckPacket & { type: 4 };
export type PubrecPacket = AckPacket & { type: 5 };
export type PubrelPacket = AckPacket & { type: 6 };
export type PubcompPacket = AckPacket & { type: 7 };

export interface Subscription {
  topic: string;
  qos: QoS;
  /** MQTT5 3.8.3.1 subscription options; false/0 for 3.1.1. */
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
}

export interface SubscribePacket {
  type: 8;
  packetId: number;
  subscriptions: Subscription[];
  properties?: Properties;
}

export interface SubackPacket {
  type: 9;
  packetId: number;
  /** Granted QoS (0-2) or a failure code (0x80 and above). */
  reasonCodes: number[];
  properties?: Properties;
}

export interface UnsubscribePacket {
  type: 10;
  packetId: number;
  topics: string[];
  properties?: Properties;
}

export interface UnsubackPacket {
  type: 11;
  packetId: number;
  /** v5 only; encoded as nothing for 3.1.1. */
  reasonCodes: number[];
  properties?: Properties;
}

export interface PingreqPacket { type: 12 }
export interface PingrespPacket { type: 13 }

export interface DisconnectPacket {
  type: 14;
  /** v5 only; defaults to 0x00. */
  reasonCode?: number;
  properties?: Properties;
}

export interface AuthPacket {
  type: 15;
  /** v5 only; defaults to 0x00. */
  reasonCode?: number;
  properties?: Properties;
}

export type Packet =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | AckPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | PingreqPacket
  | PingrespPacket
  | DisconnectPacket
  | AuthPacket;
