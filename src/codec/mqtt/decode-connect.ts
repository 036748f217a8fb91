/**
 * CONNECT (MQTT-3.1, MQTT5 3.1) and CONNACK (MQTT-3.2, MQTT5 3.2) bodies.
 */
import { CodecError, malformed, protocolError } from './codec-error.js';
import type { ConnackPacket, ConnectPacket, Properties, ProtocolVersion, QoS, WillMessage } from './packets.js';
import type { PacketReader } from './packet-reader.js';
import { readProperties } from './properties-decoder.js';
import { CTX_WILL } from './property-table.js';
import { RC } from './reason-codes.js';
import { CONNACK_CODES } from './allowed-reason-codes.js';

const CONNECT_CTX = 1 << 1;
const CONNACK_CTX = 1 << 2;

/**
 * MQTT-3.1.2-1/2 (3.1.1), MQTT5 3.1.2.1/3.1.2.2: "MQTT" with level 4 or 5, "MQIsdp" with
 * level 3. Anything else is answered with CONNACK 0x84 / return code 0x01 by the channel,
 * which needs the level the client asked for (details.protocolVersion).
 */
function checkProtocol(r: PacketReader, name: string, level: number): ProtocolVersion {
  if (((level === 4 || level === 5) && name === 'MQTT') || (level === 3 && name === 'MQIsdp')) return level;
  const printable = name.length > 32 ? `${name.slice(0, 32)}...` : name;
  throw new CodecError(
    'CODEC_UNSUPPORTED_PROTOCOL_VERSION',
    `CONNECT: unsupported protocol "${printable}" level ${level} (MQTT-3.1.2-2: expected "MQTT" 4 or 5, or "MQIsdp" 3)`,
    RC.UNSUPPORTED_PROTOCOL_VERSION,
    { packetType: r.type, protocolVersion: level, protocolName: printable },
  );
}

export function decodeConnect(r: PacketReader): ConnectPacket {
  const protocolName = r.utf8('protocol name');
  const version = checkProtocol(r, protocolName, r.u8('protocol level'));
  const flags = r.u8('connect flags');
  if ((flags & 0x01) !== 0) throw malformed(r.type, 'reserved connect flag (bit 0) is set (MQTT-3.1.2-3)');
  const hasWill = (flags & 0x04) !== 0;
  const willQos = (flags >> 3) & 0x03;
  const willRetain = (flags & 0x20) !== 0;
  const hasPassword = (flags & 0x40) !== 0;
  const hasUsername = (flags & 0x80) !== 0;
  if (!hasWill) {
    // MQTT-3.1.2-11, MQTT-3.1.2-13 (3.1.1) / MQTT-3.1.2-11 (5.0)
    if (willQos !== 0) throw malformed(r.type, `will QoS is ${willQos} but the will flag is 0 (MQTT-3.1.2-13)`);
    // MQTT-3.1.2-15 (3.1.1) / MQTT-3.1.2-13 (5.0)
    if (willRetain) throw malformed(r.type, 'will retain is set but the will flag is 0 (MQTT-3.1.2-15)');
  } else if (willQos === 3) {
    // MQTT-3.1.2-14 (3.1.1) / MQTT-3.1.2-12 (5.0)
    throw malformed(r.type, 'will QoS is 3 (MQTT-3.1.2-14)');
  }
  if (hasPassword && !hasUsername && version !== 5) {
    throw malformed(r.type, 'password flag is set without the user name flag (MQTT-3.1.2-22)');
  }
  const keepalive = r.u16('keep alive');
  const properties = version === 5 ? readProperties(r, CONNECT_CTX) : undefined;
  const clientId = r.utf8('client identifier');
  let will: WillMessage | undefined;
  if (hasWill) {
    const willProperties: Properties | undefined = version === 5 ? readProperties(r, CTX_WILL) : undefined;
    const topic = r.utf8('will topic');
    const payload = r.binary('will payload');
    will = { topic, payload, qos: willQos as QoS, retain: willRetain, properties: willProperties };
  }
  const username = hasUsername ? r.utf8('user name') : undefined;
  const password = hasPassword ? r.binary('password') : undefined;
  r.expectEnd('the CONNECT payload');
  return {
    type: 1,
    protocolName,
    protocolVersion: version,
    clean: (flags & 0x02) !== 0,
    keepalive,
    clientId,
    username,
    password,
    will,
    properties,
  };
}

export function decodeConnack(r: PacketReader, version: ProtocolVersion): ConnackPacket {
  const ackFlags = r.u8('connect acknowledge flags');
  if ((ackFlags & 0xfe) !== 0) {
    throw malformed(r.type, 'reserved connect acknowledge flags (bits 7-1) are set (MQTT-3.2.2-1)');
  }
  const reasonCode = r.u8(version === 5 ? 'reason code' : 'return code');
  let properties: Properties | undefined;
  if (version === 5) {
    if (CONNACK_CODES[reasonCode] === 0) {
      throw protocolError(r.type, `reason code 0x${reasonCode.toString(16)} is not a CONNACK reason code (MQTT5 3.2.2.2)`);
    }
    properties = readProperties(r, CONNACK_CTX);
  }
  r.expectEnd(version === 5 ? 'the CONNACK properties' : 'the return code');
  return { type: 2, sessionPresent: ackFlags === 1, reasonCode, properties };
}
