/**
 * SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK encoders (MQTT-3.8 to 3.11, MQTT5 3.8 to 3.11).
 */
import type { ProtocolVersion, SubackPacket, SubscribePacket, UnsubackPacket, UnsubscribePacket } from './packets.js';
import { propertiesSize, writeProperties } from './properties-encoder.js';
import { allocPacket, checkInt, utf8Length, varintSize, writeU16, writeUtf8Field } from './writer.js';

export function encodeSubscribe(p: SubscribePacket, version: ProtocolVersion): Buffer {
  const id = checkInt(p.packetId, 0, 0xffff, 8, 'packetId');
  const v5 = version === 5;
  const propsSize = v5 ? propertiesSize(p.properties, 1 << 8, 8) : 0;
  let rl = 2 + (v5 ? varintSize(propsSize) + propsSize : 0);
  for (const s of p.subscriptions) rl += 3 + utf8Length(s.topic, 8, 'topic filter');
  const buf = allocPacket(0x82, rl); // MQTT-3.8.1-1: flags 0b0010
  let pos = writeU16(buf, 1 + varintSize(rl), id);
  if (v5) pos = writeProperties(buf, pos, p.properties, 1 << 8, propsSize);
  for (const s of p.subscriptions) {
    pos = writeUtf8Field(buf, pos, s.topic);
    let options = checkInt(s.qos, 0, 3, 8, 'qos');
    if (v5) {
      // MQTT5 3.8.3.1 subscription options
      options |= (s.noLocal ? 0x04 : 0) | (s.retainAsPublished ? 0x08 : 0);
      options |= checkInt(s.retainHandling, 0, 3, 8, 'retainHandling') << 4;
    }
    buf[pos++] = options;
  }
  return buf;
}

/** For 3.1/3.1.1, failure codes (above 2) are all written as 0x80 (MQTT-3.9.3). */
export function encodeSuback(p: SubackPacket, version: ProtocolVersion): Buffer {
  const id = checkInt(p.packetId, 0, 0xffff, 9, 'packetId');
  const v5 = version === 5;
  const propsSize = v5 ? propertiesSize(p.properties, 1 << 9, 9) : 0;
  const codes = p.reasonCodes;
  const rl = 2 + (v5 ? varintSize(propsSize) + propsSize : 0) + codes.length;
  const buf = allocPacket(0x90, rl);
  let pos = writeU16(buf, 1 + varintSize(rl), id);
  if (v5) pos = writeProperties(buf, pos, p.properties, 1 << 9, propsSize);
  for (const c of codes) {
    const code = checkInt(c, 0, 0xff, 9, 'reasonCode');
    buf[pos++] = v5 || code <= 2 ? code : 0x80;
  }
  return buf;
}

export function encodeUnsubscribe(p: UnsubscribePacket, version: ProtocolVersion): Buffer {
  const id = checkInt(p.packetId, 0, 0xffff, 10, 'packetId');
  const v5 = version === 5;
  const propsSize = v5 ? propertiesSize(p.properties, 1 << 10, 10) : 0;
  let rl = 2 + (v5 ? varintSize(propsSize) + propsSize : 0);
  for (const t of p.topics) rl += 2 + utf8Length(t, 10, 'topic filter');
  const buf = allocPacket(0xa2, rl); // MQTT-3.10.1-1: flags 0b0010
  let pos = writeU16(buf, 1 + varintSize(rl), id);
  if (v5) pos = writeProperties(buf, pos, p.properties, 1 << 10, propsSize);
  for (const t of p.topics) pos = writeUtf8Field(buf, pos, t);
  return buf;
}

/** 3.1/3.1.1 UNSUBACK has no payload (MQTT-3.11.3): the reason codes are left out. */
export function encodeUnsuback(p: UnsubackPacket, version: ProtocolVersion): Buffer {
  const id = checkInt(p.packetId, 0, 0xffff, 11, 'packetId');
  if (version !== 5) {
    const buf = allocPacket(0xb0, 2);
    writeU16(buf, 2, id);
    return buf;
  }
  const propsSize = propertiesSize(p.properties, 1 << 11, 11);
  const codes = p.reasonCodes;
  const rl = 2 + varintSize(propsSize) + propsSize + codes.length;
  const buf = allocPacket(0xb0, rl);
  let pos = writeU16(buf, 1 + varintSize(rl), id);
  pos = writeProperties(buf, pos, p.properties, 1 << 11, propsSize);
  for (const c of codes) buf[pos++] = checkInt(c, 0, 0xff, 11, 'reasonCode');
  return buf;
}
