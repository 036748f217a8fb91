/**
 * Wire tests 05: packets that are well framed but break a content rule: an empty
 * SUBSCRIBE / UNSUBSCRIBE, wildcards in a topic name, packet identifier 0, reserved
 * subscription option bits, DUP on QoS 0. v5 gets DISCONNECT with the rule's reason code,
 * 3.1.1 gets the connection closed (MQTT-4.8.0-1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RC } from '../../src/codec/mqtt/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { Bystander } from '../helpers/transport-clients.js';
import { RawClient } from '../helpers/raw-client.js';
import { expectRefusedAfterConnect, packet, str, u16 } from '../helpers/transport-wire.js';

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

const VERSIONS = [4, 5] as const;
const noProps = (v: 4 | 5) => (v === 5 ? [0] : []);

describe('05 invalid content', () => {
  for (const v of VERSIONS) {
    it(`MQTT-3.8.3-3 (3.1.1) MQTT-3.8.3-2 (5.0) [05-01 v${v}] SUBSCRIBE with no topic filter`, async () => {
      await expectRefusedAfterConnect(tb, v, packet(0x82, [...u16(1), ...noProps(v)]), { reasonCode: RC.PROTOCOL_ERROR, countsAsMalformed: true }, bystander);
    });

    it(`MQTT-3.10.3-2 [05-02 v${v}] UNSUBSCRIBE with no topic filter`, async () => {
      await expectRefusedAfterConnect(tb, v, packet(0xa2, [...u16(1), ...noProps(v)]), { reasonCode: RC.PROTOCOL_ERROR, countsAsMalformed: true }, bystander);
    });

    for (const topic of ['a/+/c', 'a/#', '#', '+']) {
      it(`MQTT-3.3.2-2 [05-03 v${v}] PUBLISH to a topic name with a wildcard: "${topic}" -> 0x90`, async () => {
        // Well-formed bytes, invalid topic name: Topic Name invalid (0x90), decided by the broker, not the codec.
        const body = [...str(topic), ...noProps(v), 0x78];
        await expectRefusedAfterConnect(tb, v, packet(0x30, body), { reasonCode: RC.TOPIC_NAME_INVALID, countsAsMalformed: false }, bystander);
      });
    }

    it(`MQTT-3.3.2-2 [05-04 v${v}] QoS 1 PUBLISH with a wildcard topic gets no PUBACK`, async () => {
      const body = [...str('x/+'), ...u16(9), ...noProps(v), 0x78];
      await expectRefusedAfterConnect(tb, v, packet(0x32, body), { reasonCode: RC.TOPIC_NAME_INVALID, countsAsMalformed: false }, bystander);
    });

    it(`MQTT-2.2.1-3 [05-05 v${v}] QoS 1 PUBLISH with packet identifier 0`, async () => {
      const body = [...str('a/b'), ...u16(0), ...noProps(v), 0x78];
      await expectRefusedAfterConnect(tb, v, packet(0x32, body), { reasonCode: RC.PROTOCOL_ERROR, countsAsMalformed: true }, bystander);
    });

    it(`MQTT-2.2.1-3 [05-06 v${v}] SUBSCRIBE with packet identifier 0`, async () => {
      const body = [...u16(0), ...noProps(v), ...str('a/b'), 0x00];
      await expectRefusedAfterConnect(tb, v, packet(0x82, body), { reasonCode: RC.PROTOCOL_ERROR, countsAsMalformed: true }, bystander);
    });

    it(`MQTT-3.3.1-2 [05-07 v${v}] DUP set on a QoS 0 PUBLISH`, async () => {
      const body = [...str('a/b'), ...noProps(v), 0x78];
      await expectRefusedAfterConnect(tb, v, packet(0x38, body), { reasonCode: RC.MALFORMED_PACKET, countsAsMalformed: false }, bystander);
    });
  }

  it('MQTT-3.8.3-4 (3.1.1) [05-08 v4] SUBSCRIBE options with reserved bits 7-2 set', async () => {
    await expectRefusedAfterConnect(tb, 4, packet(0x82, [...u16(1), ...str('a/b'), 0x05]), { reasonCode: RC.MALFORMED_PACKET, countsAsMalformed: true }, bystander);
  });

  it('MQTT-3.8.3-4 (3.1.1) [05-09 v4] SUBSCRIBE requesting QoS 3', async () => {
    await expectRefusedAfterConnect(tb, 4, packet(0x82, [...u16(1), ...str('a/b'), 0x03]), { reasonCode: RC.MALFORMED_PACKET, countsAsMalformed: true }, bystander);
  });

  it('MQTT-3.8.3-5 (5.0) [05-10 v5] SUBSCRIBE options with reserved bits 7-6 set -> 0x81', async () => {
    await expectRefusedAfterConnect(tb, 5, packet(0x82, [...u16(1), 0, ...str('a/b'), 0x81]), { reasonCode: RC.MALFORMED_PACKET, countsAsMalformed: true }, bystander);
  });

  it('MQTT5 3.8.3.1 [05-11 v5] SUBSCRIBE with Retain Handling 3 -> 0x82', async () => {
    await expectRefusedAfterConnect(tb, 5, packet(0x82, [...u16(1), 0, ...str('a/b'), 0x30]), { reasonCode: RC.PROTOCOL_ERROR, countsAsMalformed: true }, bystander);
  });

  it('MQTT-3.3.2-1 [05-12 v4] PUBLISH with an empty topic name (no alias in 3.1.1)', async () => {
    await expectRefusedAfterConnect(tb, 4, packet(0x30, [...u16(0), 0x78]), { reasonCode: RC.PROTOCOL_ERROR, countsAsMalformed: false }, bystander);
  });

  it('[05-13] stats: packets refused by the broker rather than the codec are counted in broker.stats.malformedPackets too', async () => {
    // The brief: every malformed / invalid packet is counted. The codec's refusals are (01-04);
    // these two are refused by the channel: a wildcard topic name (0x90) and DUP on QoS 0 (0x81).
    const before = tb.broker.stats.malformedPackets;
    const a = await RawClient.connected(tb.port, 5);
    a.send(packet(0x30, [...str('a/#'), 0, 0x78]));
    await a.waitClosed();
    const b = await RawClient.connected(tb.port, 4);
    b.send(packet(0x38, [...str('a/b'), 0x78]));
    await b.waitClosed();
    expect(tb.broker.stats.malformedPackets - before).toBe(2);
    await bystander.roundTrip();
  });
});
