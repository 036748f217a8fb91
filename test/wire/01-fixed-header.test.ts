/**
 * Wire tests 01: broken fixed headers over a raw socket, after a successful CONNECT.
 * v5: DISCONNECT 0x81 with a Reason String, then close (MQTT5 4.13.1, MQTT-4.13.1-1);
 * 3.1.1: the connection is closed without a packet (MQTT-4.8.0-1). Each one is counted in
 * broker.stats.malformedPackets and a bystander pair keeps its round trip working.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RC } from '../../src/codec/mqtt/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { Bystander } from '../helpers/transport-clients.js';
import { expectRefused, expectRefusedAfterConnect, packet, str, u16 } from '../helpers/transport-wire.js';

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

describe('01 fixed header', () => {
  for (const v of VERSIONS) {
    it(`MQTT5 1.5.5 / 3.1.1 2.2.3 [01-01 v${v}] remaining length of 5 bytes is malformed`, async () => {
      // Four continuation bytes: a fifth length byte would be needed, the maximum is four.
      await expectRefusedAfterConnect(tb, v, [0x30, 0xff, 0xff, 0xff, 0xff, 0x01], MALFORMED, bystander);
    });

    it(`MQTT5 1.5.5 / 3.1.1 2.2.3 [01-02 v${v}] 5-byte remaining length arriving one byte per write`, async () => {
      const c = await RawClient.connected(tb.port, v);
      // The first bytes may be held by the decoder between reads (the split path).
      c.send([0x30]);
      c.send([0x80]);
      c.send([0x80]);
      c.send([0x80]);
      await expectRefused(tb, c, [0x80, 0x01], MALFORMED, bystander);
    });

    it(`MQTT-2.2.2-1 MQTT-2.2.2-2 [01-03 v${v}] SUBSCRIBE with fixed header flags 0000 (must be 0010)`, async () => {
      const body = [...u16(1), ...(v === 5 ? [0] : []), ...str('a/b'), 0];
      await expectRefusedAfterConnect(tb, v, packet(0x80, body), MALFORMED, bystander);
    });

    it(`MQTT-2.2.2-1 MQTT-2.2.2-2 [01-04 v${v}] UNSUBSCRIBE with fixed header flags 0011 (must be 0010)`, async () => {
      const body = [...u16(1), ...(v === 5 ? [0] : []), ...str('a/b')];
      await expectRefusedAfterConnect(tb, v, packet(0xa3, body), MALFORMED, bystander);
    });

    it(`MQTT-2.2.2-1 MQTT-2.2.2-2 [01-05 v${v}] PUBREL with fixed header flags 0000 (must be 0010)`, async () => {
      await expectRefusedAfterConnect(tb, v, packet(0x60, u16(7)), MALFORMED, bystander);
    });

    it(`MQTT-2.2.2-1 MQTT-2.2.2-2 [01-06 v${v}] PINGREQ with fixed header flags 0001`, async () => {
      await expectRefusedAfterConnect(tb, v, [0xc1, 0x00], MALFORMED, bystander);
    });

    it(`MQTT-2.2.2-1 MQTT-2.2.2-2 [01-07 v${v}] DISCONNECT with fixed header flags 1000`, async () => {
      await expectRefusedAfterConnect(tb, v, [0xe8, 0x00], MALFORMED, bystander);
    });

    it(`MQTT-3.3.1-4 [01-08 v${v}] PUBLISH with both QoS bits set (QoS 3)`, async () => {
      const body = [...str('a/b'), ...u16(1), ...(v === 5 ? [0] : []), 0x68, 0x69];
      await expectRefusedAfterConnect(tb, v, packet(0x36, body), MALFORMED, bystander);
    });

    it(`MQTT5 2.1.2 / 3.1.1 2.2.1 [01-09 v${v}] reserved control packet type 0`, async () => {
      await expectRefusedAfterConnect(tb, v, [0x00, 0x00], MALFORMED, bystander);
    });
  }

  it('MQTT-4.8.0-1 [01-10 v4] AUTH (type 15, reserved in 3.1.1) from a 3.1.1 client closes the connection', async () => {
    await expectRefusedAfterConnect(tb, 4, [0xf0, 0x00], MALFORMED, bystander);
  });

  it('MQTT-3.3.1-4 [01-11 v5] QoS 3 is refused from the first byte, before the body arrives', async () => {
    const c = await RawClient.connected(tb.port, 5);
    // Only the first byte and a remaining length of 100: the body never comes.
    await expectRefused(tb, c, [0x36, 100], MALFORMED, bystander);
  });

  it('[01-12] a client that sends nothing wrong is not disconnected (control: PINGREQ / PINGRESP)', async () => {
    const before = tb.broker.stats.malformedPackets;
    const c = await RawClient.connected(tb.port, 5);
    c.send([0xc0, 0x00]);
    expect((await c.next()).type).toBe(13);
    expect(c.closed).toBe(false);
    expect(tb.broker.stats.malformedPackets).toBe(before);
    c.close();
  });
});
