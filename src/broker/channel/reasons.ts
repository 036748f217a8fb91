/**
 * Every reason code the server sends is chosen here, with its Reason String, so that
 * handlers say what happened ("topic alias out of range") and this module says how the
 * protocol version in use expresses it (MQTT5 4.13, MQTT-4.13.1-1; 3.1.1 closes the
 * connection without a packet, MQTT-4.8.0-1).
 */
import type { ConnackPacket, DisconnectPacket, ProtocolVersion } from '../../codec/mqtt/packets.js';
import { CONNACK_V3, RC, connackCodeForV3 } from '../../codec/mqtt/reason-codes.js';

export interface Refusal {
  reasonCode: number;
  reason: string;
}

export function refuse(reasonCode: number, reason: string): Refusal {
  return { reasonCode, reason };
}

/** The reason codes a CONNACK may carry (MQTT5 3.2.2.2, table 3-1). */
const CONNACK_CODES = new Set([
  0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a, 0x9b,
  0x9c, 0x9d, 0x9f,
]);

/** MQTT-3.2.2-8: a code that only exists for DISCONNECT becomes the closest CONNACK code. */
export function connackCodeFor(code: number): number {
  if (CONNACK_CODES.has(code)) return code;
  if (code === RC.SERVER_SHUTTING_DOWN || code === RC.MAXIMUM_CONNECT_TIME || code === RC.KEEP_ALIVE_TIMEOUT) {
    return RC.SERVER_UNAVAILABLE;
  }
  return code >= 0x80 ? RC.PROTOCOL_ERROR : RC.UNSPECIFIED_ERROR;
}

/** CONNACK for a refused CONNECT, in the client's protocol version (MQTT-3.2.2-6: session present 0). */
export function connackRefusal(version: ProtocolVersion, r: Refusal): ConnackPacket {
  if (version === 5) {
    return { type: 2, sessionPresent: false, reasonCode: connackCodeFor(r.reasonCode), properties: { reasonString: r.reason } };
  }
  return { type: 2, sessionPresent: false, reasonCode: connackCodeForV3(r.reasonCode) };
}

/** CONNACK 0x01 / 0x84 for a protocol level we do not speak (MQTT-3.1.2-2, MQTT5 3.1.2.2). */
export function connackUnsupportedVersion(requested: number | undefined): ConnackPacket {
  if (requested !== undefined && requested >= 5) {
    return { type: 2, sessionPresent: false, reasonCode: RC.UNSUPPORTED_PROTOCOL_VERSION };
  }
  return { type: 2, sessionPresent: false, reasonCode: CONNACK_V3.UNACCEPTABLE_PROTOCOL_VERSION };
}

/** The reason codes a DISCONNECT may carry (MQTT5 3.14.2.1, table 3-10). */
const DISCONNECT_CODES = new Set([
  0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98,
  0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2,
]);

/** MQTT-3.14.2-1: a CONNACK-only code (e.g. from a failed re-authentication) becomes its DISCONNECT twin. */
export function disconnectCodeFor(code: number): number {
  if (DISCONNECT_CODES.has(code)) return code;
  switch (code) {
    case RC.BAD_USER_NAME_OR_PASSWORD:
    case RC.BAD_AUTHENTICATION_METHOD:
    case RC.BANNED:
    case RC.CLIENT_IDENTIFIER_NOT_VALID:
      return RC.NOT_AUTHORIZED;
    case RC.SERVER_UNAVAILABLE:
      return RC.SERVER_BUSY;
    default:
      return RC.UNSPECIFIED_ERROR;
  }
}

/** Server DISCONNECT (v5 only, MQTT5 3.14) with a Reason String. */
export function serverDisconnect(r: Refusal, serverReference?: string): DisconnectPacket {
  const properties: DisconnectPacket['properties'] = { reasonString: r.reason };
  if (serverReference !== undefined) properties.serverReference = serverReference;
  return { type: 14, reasonCode: disconnectCodeFor(r.reasonCode), properties };
}

/** v3 ack codes cannot express failure; the SUBACK failure code is the only one (MQTT-3.9.3-2). */
export const SUBACK_FAILURE_V3 = 0x80;
