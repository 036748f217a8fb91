/**
 * Decoding of one complete packet whose fixed header has been read: dispatch on the
 * control packet type, plus the small bodies (PUBLISH, the four publish acks, PINGs,
 * DISCONNECT, AUTH). CONNECT/CONNACK and the subscribe family live in their own files.
 */
import { type CodecError, malformed, protocolError } from './codec-error.js';
import type { AckPacket, AuthPacket, DisconnectPacket, Packet, Properties, ProtocolVersion, PublishPacket, QoS } from './packets.js';
import type { PacketReader } from './packet-reader.js';
import { readProperties } from './properties-decoder.js';
import { decodeConnack, decodeConnect } from './decode-connect.js';
import { decodeSuback, decodeSubscribe, decodeUnsuback, decodeUnsubscribe, packetId } from './decode-subscribe.js';
import { AUTH_CODES, DISCONNECT_CODES, PUBACK_PUBREC_CODES, PUBREL_PUBCOMP_CODES } from './allowed-reason-codes.js';

/**
 * Required low nibble of the first byte per packet type (MQTT-2.2.2-1, MQTT5 2.1.3
 * table 2-2); -1 for PUBLISH whose flags are DUP/QoS/RETAIN, -2 for the reserved type 0.
 */
const REQUIRED_FLAGS = [-2, 0, 0, -1, 0, 0, 2, 0, 2, 0, 2, 0, 0, 0, 0, 0];

/**
 * Checks the first byte of the fixed header (type and flags) before anything else of the
 * packet is buffered; returns the error (not thrown: the decoder fails itself with it).
 * MQTT-2.2.2-2: invalid flags are a Malformed Packet.
 */
export function firstByteError(byte1: number, version: ProtocolVersion): CodecError | undefined {
  const type = byte1 >> 4;
  const required = REQUIRED_FLAGS[type];
  if (required === -1) {
    if ((byte1 & 0x06) === 0x06) return malformed(3, 'QoS bits are both set: QoS 3 is not allowed (MQTT-3.3.1-4)');
    return undefined;
  }
  if (required === -2) return malformed(0, 'control packet type 0 is reserved (MQTT 2.1.2)');
  if ((byte1 & 0x0f) !== required) {
    return malformed(
      type,
      `fixed header flags are 0b${(byte1 & 0x0f).toString(2).padStart(4, '0')}, ` +
        `must be 0b${required.toString(2).padStart(4, '0')} (MQTT-2.2.2-1, MQTT-2.2.2-2)`,
    );
  }
  if (type === 15 && version !== 5) return malformed(15, 'AUTH does not exist before MQTT 5 (type 15 is reserved in 3.1.1)');
  return undefined;
}

/**
 * Decode the body buf[start, end) of a packet with first byte `byte1`. `firstByteError`
 * must have accepted byte1. Payload and binary fields are views into `buf`.
 */
export function decodeBody(
  r: PacketReader,
  byte1: number,
  buf: Buffer,
  start: number,
  end: number,
  version: ProtocolVersion,
): Packet {
  const type = byte1 >> 4;
  r.reset(buf, start, end, type);
  switch (type) {
    case 3:
      return decodePublish(r, byte1, version);
    case 4:
    case 5:
    case 6:
    case 7:
      return decodeAck(r, type, version);
    case 1:
      return decodeConnect(r);
    case 2:
      return decodeConnack(r, version);
    case 8:
      return decodeSubscribe(r, version);
    case 9:
      return decodeSuback(r, version);
    case 10:
      return decodeUnsubscribe(r, version);
    case 11:
      return decodeUnsuback(r, version);
    case 12:
      r.expectEnd('the fixed header'); // MQTT 3.12.2: PINGREQ has no variable header
      return { type: 12 };
    case 13:
      r.expectEnd('the fixed header');
      return { type: 13 };
    case 14:
      return decodeDisconnect(r, version);
    case 15:
      return decodeAuth(r);
    default:
      throw malformed(0, 'control packet type 0 is reserved (MQTT 2.1.2)');
  }
}

function decodePublish(r: PacketReader, byte1: number, version: ProtocolVersion): PublishPacket {
  const qos = (byte1 >> 1) & 0x03; // QoS 3 rejected by firstByteError (MQTT-3.3.1-4)
  const topic = r.utf8('topic name');
  const id = qos > 0 ? packetId(r) : undefined;
  const properties = version === 5 ? readProperties(r, 1 << 3) : undefined;
  return {
    type: 3,
    topic,
    payload: r.rest(),
    qos: qos as QoS,
    retain: (byte1 & 0x01) !== 0,
    dup: (byte1 & 0x08) !== 0,
    packetId: id,
    properties,
  };
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP (MQTT5 3.4-3.7; MQTT 3.1.1: remaining length 2). */
function decodeAck(r: PacketReader, type: 4 | 5 | 6 | 7, version: ProtocolVersion): AckPacket {
  const id = packetId(r);
  let reasonCode = 0;
  let properties: Properties | undefined;
  if (version === 5) {
    // MQTT5 3.4.2.1: remaining length 2 means Success and no properties; 3 means no
    // Property Length (3.4.2.2.1).
    if (r.pos < r.end) {
      reasonCode = r.u8('reason code');
      const allowed = type <= 5 ? PUBACK_PUBREC_CODES : PUBREL_PUBCOMP_CODES;
      if (allowed[reasonCode] === 0) {
        throw protocolError(type, `reason code 0x${reasonCode.toString(16)} is not allowed (MQTT5 3.${type}.2.1)`);
      }
    }
    properties = r.pos < r.end ? readProperties(r, 1 << type) : {};
    r.expectEnd('the properties');
  } else {
    r.expectEnd('the packet identifier');
  }
  return { type, packetId: id, reasonCode, properties };
}

/** MQTT5 3.14: remaining length 0 is Normal disconnection; < 2 means no properties. */
function decodeDisconnect(r: PacketReader, version: ProtocolVersion): DisconnectPacket {
  if (version !== 5) {
    r.expectEnd('the fixed header'); // MQTT 3.1.1 3.14.2: no variable header
    return { type: 14, reasonCode: 0, properties: undefined };
  }
  let reasonCode = 0;
  if (r.pos < r.end) {
    reasonCode = r.u8('reason code');
    if (DISCONNECT_CODES[reasonCode] === 0) {
      throw protocolError(14, `reason code 0x${reasonCode.toString(16)} is not a DISCONNECT reason code (MQTT5 3.14.2.1)`);
    }
  }
  const properties = r.pos < r.end ? readProperties(r, 1 << 14) : {};
  r.expectEnd('the properties');
  return { type: 14, reasonCode, properties };
}

/** MQTT5 3.15: remaining length 0 means Success and no properties. */
function decodeAuth(r: PacketReader): AuthPacket {
  let reasonCode = 0;
  if (r.pos < r.end) {
    reasonCode = r.u8('reason code');
    if (AUTH_CODES[reasonCode] === 0) {
      throw protocolError(15, `reason code 0x${reasonCode.toString(16)} is not an AUTH reason code (MQTT5 3.15.2.1)`);
    }
  }
  const properties = r.pos < r.end ? readProperties(r, 1 << 15) : {};
  r.expectEnd('the properties');
  return { type: 15, reasonCode, properties };
}
