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

/** CONNACK for a refused CONNECT, in the client's protocol version (MQTT-3.2.2-6: session present 0). */
export function connackRefusal(version: ProtocolVersion, r: Refusal): ConnackPacket {
  if (version === 5) {
    return { type: 2, sessionPresent: false, reasonCode: r.reasonCode, properties: { reasonString: r.reason } };
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

/** Server DISCONNECT (v5 only, MQTT5 3.14) with a Reason String. */
export function serverDisconnect(r: Refusal, serverReference?: string): DisconnectPacket {
  const properties: DisconnectPacket['properties'] = { reasonString: r.reason };
  if (serverReference !== undefined) properties.serverReference = serverReference;
  return { type: 14, reasonCode: r.reasonCode, properties };
}

/** v3 ack codes cannot express failure; the SUBACK failure code is the only one (MQTT-3.9.3-2). */
export const SUBACK_FAILURE_V3 = 0x80;
