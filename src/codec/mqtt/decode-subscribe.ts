/**
 * SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK bodies (MQTT-3.8 to 3.11, MQTT5 3.8 to 3.11).
 */
import { malformed, protocolError } from './codec-error.js';
import type {
  Properties,
  ProtocolVersion,
  QoS,
  SubackPacket,
  SubscribePacket,
  Subscription,
  UnsubackPacket,
  UnsubscribePacket,
} from './packets.js';
import type { PacketReader } from './packet-reader.js';
import { readProperties } from './properties-decoder.js';
import { SUBACK_CODES, SUBACK_CODES_V4, UNSUBACK_CODES } from './allowed-reason-codes.js';

/**
 * MQTT-2.2.1-3: SUBSCRIBE, UNSUBSCRIBE and PUBLISH with QoS > 0 carry a non-zero packet
 * identifier; the acknowledgements echo it (MQTT-2.2.1-4..6), so 0 is never valid there.
 */
export function packetId(r: PacketReader): number {
  const id = r.u16('packet identifier');
  if (id === 0) throw protocolError(r.type, 'packet identifier 0 is not allowed (MQTT-2.2.1-3)');
  return id;
}

export function decodeSubscribe(r: PacketReader, version: ProtocolVersion): SubscribePacket {
  const id = packetId(r);
  const properties = version === 5 ? readProperties(r, 1 << 8) : undefined;
  const subscriptions: Subscription[] = [];
  while (r.pos < r.end) {
    const topic = r.utf8('topic filter');
    const options = r.u8('subscription options');
    const qos = options & 0x03;
    if (version === 5) {
      // MQTT-3.8.3-5 (5.0): bits 6 and 7 are reserved.
      if ((options & 0xc0) !== 0) {
        throw malformed(r.type, 'reserved subscription option bits (7-6) are set (MQTT-3.8.3-5)');
      }
      // MQTT5 3.8.3.1: "It is a Protocol Error if the Maximum QoS field has the value 3".
      if (qos === 3) throw protocolError(r.type, 'subscription maximum QoS is 3 (MQTT5 3.8.3.1)');
      const retainHandling = (options >> 4) & 0x03;
      if (retainHandling === 3) throw protocolError(r.type, 'retain handling is 3 (MQTT5 3.8.3.1)');
      subscriptions.push({
        topic,
        qos: qos as QoS,
        noLocal: (options & 0x04) !== 0,
        retainAsPublished: (options & 0x08) !== 0,
        retainHandling: retainHandling as 0 | 1 | 2,
      });
    } else {
      // MQTT-3-8.3-4 (3.1.1): reserved bits 7-2 must be 0 and QoS must be 0, 1 or 2.
      if ((options & 0xfc) !== 0) {
        throw malformed(r.type, 'reserved subscription option bits (7-2) are set (MQTT-3.8.3-4)');
      }
      if (qos === 3) throw malformed(r.type, 'requested QoS is 3 (MQTT-3.8.3-4)');
      subscriptions.push({ topic, qos: qos as QoS, noLocal: false, retainAsPublished: false, retainHandling: 0 });
    }
  }
  // MQTT-3.8.3-3 (3.1.1) / MQTT-3.8.3-2 (5.0)
  if (subscriptions.length === 0) throw protocolError(r.type, 'SUBSCRIBE contains no subscription (MQTT-3.8.3-3)');
  return { type: 8, packetId: id, subscriptions, properties };
}

export function decodeSuback(r: PacketReader, version: ProtocolVersion): SubackPacket {
  const id = packetId(r);
  const properties = version === 5 ? readProperties(r, 1 << 9) : undefined;
  const allowed = version === 5 ? SUBACK_CODES : SUBACK_CODES_V4;
  const reasonCodes: number[] = [];
  while (r.pos < r.end) {
    const code = r.buf[r.pos++];
    if (allowed[code] === 0) {
      const rule = version === 5 ? 'MQTT5 3.9.3' : 'MQTT-3.9.3-2';
      throw protocolError(r.type, `0x${code.toString(16)} is not a SUBACK reason code (${rule})`);
    }
    reasonCodes.push(code);
  }
  return { type: 9, packetId: id, reasonCodes, properties };
}

export function decodeUnsubscribe(r: PacketReader, version: ProtocolVersion): UnsubscribePacket {
  const id = packetId(r);
  const properties = version === 5 ? readProperties(r, 1 << 10) : undefined;
  const topics: string[] = [];
  while (r.pos < r.end) topics.push(r.utf8('topic filter'));
  // MQTT-3.10.3-2
  if (topics.length === 0) throw protocolError(r.type, 'UNSUBSCRIBE contains no topic filter (MQTT-3.10.3-2)');
  return { type: 10, packetId: id, topics, properties };
}

export function decodeUnsuback(r: PacketReader, version: ProtocolVersion): UnsubackPacket {
  const id = packetId(r);
  const reasonCodes: number[] = [];
  let properties: Properties | undefined;
  if (version === 5) {
    properties = readProperties(r, 1 << 11);
    while (r.pos < r.end) {
      const code = r.buf[r.pos++];
      if (UNSUBACK_CODES[code] === 0) {
        throw protocolError(r.type, `0x${code.toString(16)} is not an UNSUBACK reason code (MQTT5 3.11.3)`);
      }
      reasonCodes.push(code);
    }
  } else {
    r.expectEnd('the packet identifier'); // MQTT-3.11.2: remaining length is 2
  }
  return { type: 11, packetId: id, reasonCodes, properties };
}
