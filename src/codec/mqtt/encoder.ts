/**
 * encode(packet, version): one packet to one Buffer of exactly its size (allocated
 * once). Version 3/4 leave out properties and every v5-only field; version 5 uses the
 * short forms when the reason code is 0 and there are no properties (MQTT5 3.4.2.1,
 * 3.14.2.1, 3.15.2.1). Throws CodecError (CODEC_ENCODE_*) only for values that cannot be
 * represented on the wire; values that are representable but invalid (a topic alias of
 * 0, a packet identifier of 0...) are encoded as given, which tests use.
 */
import { encodeError } from './codec-error.js';
import type { AckPacket, AuthPacket, DisconnectPacket, Packet, ProtocolVersion, PublishPacket } from './packets.js';
import { propertiesSize, writeProperties } from './properties-encoder.js';
import { encodeConnack, encodeConnect } from './encode-connect.js';
import { encodeSuback, encodeSubscribe, encodeUnsuback, encodeUnsubscribe } from './encode-subscribe.js';
import { allocPacket, checkInt, utf8Length, varintSize, writeU16, writeUtf8 } from './writer.js';

export function encode(packet: Packet, version: ProtocolVersion): Buffer {
  switch (packet.type) {
    case 3:
      return encodePublish(packet, version);
    case 4:
    case 5:
    case 6:
    case 7:
      return encodeAck(packet, version);
    case 1:
      return encodeConnect(packet, version);
    case 2:
      return encodeConnack(packet, version);
    case 8:
      return encodeSubscribe(packet, version);
    case 9:
      return encodeSuback(packet, version);
    case 10:
      return encodeUnsubscribe(packet, version);
    case 11:
      return encodeUnsuback(packet, version);
    case 12:
      return allocPacket(0xc0, 0);
    case 13:
      return allocPacket(0xd0, 0);
    case 14:
    case 15:
      return encodeReasonOnly(packet, version);
    default:
      throw encodeError('CODEC_ENCODE_INVALID_VALUE', 0, `unknown packet type ${String((packet as { type: unknown }).type)}`);
  }
}

function encodePublish(p: PublishPacket, version: ProtocolVersion): Buffer {
  const qos = checkInt(p.qos, 0, 2, 3, 'qos');
  const topicLen = utf8Length(p.topic, 3, 'topic name');
  const payload = p.payload;
  let rl = 2 + topicLen + payload.length;
  let id = 0;
  if (qos > 0) {
    if (p.packetId === undefined) throw encodeError('CODEC_ENCODE_INVALID_VALUE', 3, 'QoS > 0 needs a packetId');
    id = checkInt(p.packetId, 0, 0xffff, 3, 'packetId');
    rl += 2;
  }
  let propsSize = 0;
  if (version === 5) {
    propsSize = propertiesSize(p.properties, 1 << 3, 3);
    rl += varintSize(propsSize) + propsSize;
  }
  const byte1 = 0x30 | (p.dup ? 0x08 : 0) | (qos << 1) | (p.retain ? 0x01 : 0);
  const buf = allocPacket(byte1, rl);
  let pos = writeUtf8(buf, 1 + varintSize(rl), p.topic, topicLen);
  if (qos > 0) pos = writeU16(buf, pos, id);
  if (version === 5) pos = writeProperties(buf, pos, p.properties, 1 << 3, propsSize);
  if (payload.length > 0) buf.set(payload, pos);
  return buf;
}

/** PUBACK, PUBREC, PUBREL (flags 0b0010, MQTT-3.6.1-1), PUBCOMP. */
function encodeAck(p: AckPacket, version: ProtocolVersion): Buffer {
  const type = p.type;
  const byte1 = (type << 4) | (type === 6 ? 0x02 : 0);
  const id = checkInt(p.packetId, 0, 0xffff, type, 'packetId');
  if (version !== 5) {
    const buf = allocPacket(byte1, 2);
    writeU16(buf, 2, id);
    return buf;
  }
  const rc = checkInt(p.reasonCode ?? 0, 0, 0xff, type, 'reasonCode');
  const propsSize = propertiesSize(p.properties, 1 << type, type);
  // MQTT5 3.4.2.1: Success without properties may be sent as remaining length 2, and a
  // reason code without properties as remaining length 3 (3.4.2.2.1).
  const rl = propsSize > 0 ? 3 + varintSize(propsSize) + propsSize : rc === 0 ? 2 : 3;
  const buf = allocPacket(byte1, rl);
  let pos = writeU16(buf, 1 + varintSize(rl), id);
  if (rl > 2) buf[pos++] = rc;
  if (propsSize > 0) writeProperties(buf, pos, p.properties, 1 << type, propsSize);
  return buf;
}

/**
 * DISCONNECT and AUTH: no body before MQTT 5. In MQTT 5 remaining length 0 means
 * Success without properties (MQTT5 3.14.2.1, 3.15.2.1). A DISCONNECT reason code
 * without properties is sent as remaining length 1 (3.14.2.2.1); AUTH always carries
 * the Property Length after a reason code.
 */
function encodeReasonOnly(p: DisconnectPacket | AuthPacket, version: ProtocolVersion): Buffer {
  const type = p.type;
  if (version !== 5) return allocPacket(type << 4, 0);
  const rc = checkInt(p.reasonCode ?? 0, 0, 0xff, type, 'reasonCode');
  const propsSize = propertiesSize(p.properties, 1 << type, type);
  let rl: number;
  if (propsSize > 0) rl = 1 + varintSize(propsSize) + propsSize;
  else if (rc === 0) rl = 0;
  else rl = type === 14 ? 1 : 2;
  const buf = allocPacket(type << 4, rl);
  if (rl > 0) {
    const start = 1 + varintSize(rl);
    buf[start] = rc;
    if (rl > 1) writeProperties(buf, start + 1, p.properties, 1 << type, propsSize);
  }
  return buf;
}
