/**
 * CONNECT (MQTT-3.1, MQTT5 3.1) and CONNACK (MQTT-3.2, MQTT5 3.2) encoders. The protocol
 * name and level come from `version`: "MQIsdp"/3, "MQTT"/4, "MQTT"/5.
 */
import type { ConnackPacket, ConnectPacket, ProtocolVersion } from './packets.js';
import { propertiesSize, writeProperties } from './properties-encoder.js';
import { CTX_WILL } from './property-table.js';
import {
  allocPacket,
  binaryLength,
  checkInt,
  utf8Length,
  varintSize,
  writeBinary,
  writeU16,
  writeUtf8,
} from './writer.js';

export function encodeConnect(p: ConnectPacket, version: ProtocolVersion): Buffer {
  const name = version === 3 ? 'MQIsdp' : 'MQTT';
  const keepalive = checkInt(p.keepalive, 0, 0xffff, 1, 'keepalive');
  const v5 = version === 5;
  let rl = 2 + name.length + 1 + 1 + 2;
  const propsSize = v5 ? propertiesSize(p.properties, 1 << 1, 1) : 0;
  if (v5) rl += varintSize(propsSize) + propsSize;
  const clientIdLen = utf8Length(p.clientId, 1, 'client identifier');
  rl += 2 + clientIdLen;
  const will = p.will;
  let flags = p.clean ? 0x02 : 0;
  let willPropsSize = 0;
  let willTopicLen = 0;
  if (will !== undefined) {
    flags |= 0x04 | (checkInt(will.qos, 0, 3, 1, 'will qos') << 3) | (will.retain ? 0x20 : 0);
    if (v5) {
      willPropsSize = propertiesSize(will.properties, CTX_WILL, 1);
      rl += varintSize(willPropsSize) + willPropsSize;
    }
    willTopicLen = utf8Length(will.topic, 1, 'will topic');
    rl += 2 + willTopicLen + 2 + binaryLength(will.payload, 1, 'will payload');
  }
  let usernameLen = 0;
  if (p.username !== undefined) {
    flags |= 0x80;
    usernameLen = utf8Length(p.username, 1, 'user name');
    rl += 2 + usernameLen;
  }
  if (p.password !== undefined) {
    flags |= 0x40;
    rl += 2 + binaryLength(p.password, 1, 'password');
  }
  const buf = allocPacket(0x10, rl);
  let pos = writeUtf8(buf, 1 + varintSize(rl), name, name.length);
  buf[pos++] = version;
  buf[pos++] = flags;
  pos = writeU16(buf, pos, keepalive);
  if (v5) pos = writeProperties(buf, pos, p.properties, 1 << 1, propsSize);
  pos = writeUtf8(buf, pos, p.clientId, clientIdLen);
  if (will !== undefined) {
    if (v5) pos = writeProperties(buf, pos, will.properties, CTX_WILL, willPropsSize);
    pos = writeUtf8(buf, pos, will.topic, willTopicLen);
    pos = writeBinary(buf, pos, will.payload);
  }
  if (p.username !== undefined) pos = writeUtf8(buf, pos, p.username, usernameLen);
  if (p.password !== undefined) writeBinary(buf, pos, p.password);
  return buf;
}

/** For 3.1/3.1.1 `reasonCode` is written as the connect return code: the caller maps it. */
export function encodeConnack(p: ConnackPacket, version: ProtocolVersion): Buffer {
  const rc = checkInt(p.reasonCode, 0, 0xff, 2, 'reasonCode');
  const propsSize = version === 5 ? propertiesSize(p.properties, 1 << 2, 2) : 0;
  const rl = version === 5 ? 2 + varintSize(propsSize) + propsSize : 2;
  const buf = allocPacket(0x20, rl);
  const start = 1 + varintSize(rl);
  buf[start] = p.sessionPresent ? 1 : 0;
  buf[start + 1] = rc;
  if (version === 5) writeProperties(buf, start + 2, p.properties, 1 << 2, propsSize);
  return buf;
}
