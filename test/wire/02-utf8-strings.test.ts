/**
 * Wire tests 02: UTF-8 Encoded Strings that break MQTT-1.5.4-1 (ill-formed UTF-8, UTF-16
 * surrogates) and MQTT-1.5.4-2 (U+0000). The receiver closes the connection; a v5 server
 * says 0x81 Malformed Packet in a DISCONNECT first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RC, type ConnackPacket } from '../../src/codec/mqtt/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { Bystander } from '../helpers/transport-clients.js';
import { expectRefusedAfterConnect, packet, props, str, strBytes, u16 } from '../helpers/transport-wire.js';

let tb: TestBroker;
let bystander: Bystander;
beforeAll(async () => {
  tb = await startTestBroker();
  bystander = await Bystander.start(tb.port);
});
afterAll(async () => {
  await bystander.stop();
  await tb.stop();
});

const MALFORMED = { reasonCode: RC.MALFORMED_PACKET, countsAsMalformed: true };
const VERSIONS = [4, 5] as const;

/** QoS 0 PUBLISH whose topic field is `topicField` (already length-prefixed). */
function publishWithTopic(v: 4 | 5, topicField: number[]): Buffer {
  return packet(0x30, [...topicField, ...(v === 5 ? [0] : []), 0x78]);
}

/** SUBSCRIBE (packet id 1) of one filter given as a length-prefixed field. */
function subscribeWithFilter(v: 4 | 5, filterField: number[]): Buffer {
  return packet(0x82, [...u16(1), ...(v === 5 ? [0] : []), ...filterField, 0x01]);
}

const BAD_TOPICS: { name: string; bytes: number[] }[] = [
  { name: 'a lone continuation byte-less lead (0xC3 0x28)', bytes: [0x61, 0x2f, 0xc3, 0x28] },
  { name: 'an overlong encoding of "/" (0xC0 0xAF)', bytes: [0x61, 0xc0, 0xaf, 0x62] },
  { name: 'an encoded UTF-16 surrogate U+D800 (0xED 0xA0 0x80)', bytes: [0x61, 0xed, 0xa0, 0x80] },
  { name: 'the byte 0xFF', bytes: [0x61, 0xff] },
  { name: 'a truncated 3-byte sequence at the end (0xE2 0x82)', bytes: [0x61, 0xe2, 0x82] },
];

describe('02 UTF-8 strings', () => {
  for (const v of VERSIONS) {
    BAD_TOPICS.forEach((bad, i) => {
      it(`MQTT-1.5.4-1 [02-0${i + 1} v${v}] PUBLISH topic with ${bad.name}`, async () => {
        await expectRefusedAfterConnect(tb, v, publishWithTopic(v, strBytes(bad.bytes)), MALFORMED, bystander);
      });
    });

    it(`MQTT-1.5.4-2 [02-06 v${v}] PUBLISH topic containing U+0000`, async () => {
      await expectRefusedAfterConnect(tb, v, publishWithTopic(v, strBytes([0x61, 0x00, 0x62])), MALFORMED, bystander);
    });

    it(`MQTT-1.5.4-2 [02-07 v${v}] SUBSCRIBE topic filter containing U+0000`, async () => {
      await expectRefusedAfterConnect(tb, v, subscribeWithFilter(v, strBytes([0x61, 0x2f, 0x00])), MALFORMED, bystander);
    });

    it(`MQTT-1.5.4-1 [02-08 v${v}] UNSUBSCRIBE topic filter with ill-formed UTF-8`, async () => {
      const body = [...u16(2), ...(v === 5 ? [0] : []), ...strBytes([0x61, 0xc3])];
      await expectRefusedAfterConnect(tb, v, packet(0xa2, body), MALFORMED, bystander);
    });

    it(`MQTT-1.5.4-1 [02-09 v${v}] CONNECT client identifier with ill-formed UTF-8 is refused before CONNACK`, async () => {
      const before = tb.broker.stats.malformedPackets;
      const c = await RawClient.open(tb.port, v);
      const level = v;
      const body = [...str('MQTT'), level, 0x02, ...u16(30), ...(v === 5 ? [0] : []), ...strBytes([0x69, 0x64, 0xfe])];
      c.send(packet(0x10, body));
      await c.waitClosed();
      // MQTT5 4.13.1: the server MAY answer a bad CONNECT with CONNACK 0x81; it must not accept it.
      expect(c.packets.length).toBeLessThanOrEqual(1);
      for (const p of c.packets) {
        expect(p.type).toBe(2);
        const rc = (p as ConnackPacket).reasonCode;
        if (v === 5) expect(rc).toBe(RC.MALFORMED_PACKET);
        else expect(rc).not.toBe(0);
      }
      expect(tb.broker.stats.malformedPackets - before).toBe(1);
      await bystander.roundTrip();
    });
  }

  it('MQTT-1.5.4-1 [02-10 v5] User Property name with ill-formed UTF-8 in PUBLISH', async () => {
    const userProp = [0x26, ...strBytes([0x6b, 0xc3]), ...str('v')];
    const body = [...str('a/b'), ...props(userProp), 0x78];
    await expectRefusedAfterConnect(tb, 5, packet(0x30, body), MALFORMED, bystander);
  });

  it('MQTT-1.5.4-2 [02-11 v5] Content Type containing U+0000 in PUBLISH', async () => {
    const body = [...str('a/b'), ...props([0x03, ...strBytes([0x74, 0x00])]), 0x78];
    await expectRefusedAfterConnect(tb, 5, packet(0x30, body), MALFORMED, bystander);
  });

  it('MQTT-1.5.4-3 [02-12 v5] a BOM (U+FEFF) and non-ASCII characters are valid and delivered unchanged', async () => {
    // Control for this file: well-formed multi-byte UTF-8 must pass ("MUST NOT be skipped or stripped").
    const topic = '\uFEFFcapteur/température/😀';
    const sub = await RawClient.connected(tb.port, 5);
    sub.send({ type: 8, packetId: 1, subscriptions: [{ topic, qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 }], properties: {} });
    expect(await sub.next(9)).toMatchObject({ reasonCodes: [0] });
    const pub = await RawClient.connected(tb.port, 5);
    pub.send({ type: 3, topic, payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: {} });
    expect(await sub.next(3)).toMatchObject({ topic });
    sub.close();
    pub.close();
  });
});
