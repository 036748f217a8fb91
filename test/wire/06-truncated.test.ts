/**
 * Wire tests 06: truncation. A field that runs past the end of its packet (the remaining
 * length says the packet is shorter than its content) is a Malformed Packet (MQTT5 4.13,
 * MQTT-4.8.0-1). A packet cut off by the client closing the socket is a lost connection:
 * the broker forgets the partial bytes, publishes the will (MQTT-3.1.2-8) and frees the
 * connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RC, type PublishPacket } from '../../src/codec/mqtt/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { Bystander } from '../helpers/transport-clients.js';
import { waitUntil } from '../helpers/transport-wait.js';
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

const MALFORMED = { reasonCode: RC.MALFORMED_PACKET, countsAsMalformed: true };
const VERSIONS = [4, 5] as const;

async function willSubscriber(topic: string): Promise<RawClient> {
  const s = await RawClient.connected(tb.port, 5);
  s.send({ type: 8, packetId: 1, subscriptions: [{ topic, qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }], properties: {} });
  await s.next(9);
  return s;
}

describe('06 truncated packets', () => {
  for (const v of VERSIONS) {
    it(`MQTT-1.5.4-1 MQTT5 4.13 [06-01 v${v}] PUBLISH topic length runs past the end of the packet`, async () => {
      // Remaining length 4: the topic says 10 bytes, only 2 follow.
      await expectRefusedAfterConnect(tb, v, [0x30, 0x04, 0x00, 0x0a, 0x61, 0x62], MALFORMED, bystander);
    });

    it(`MQTT-3.8.3-1 [06-02 v${v}] SUBSCRIBE whose last filter has no options byte`, async () => {
      const body = [...u16(5), ...(v === 5 ? [0] : []), ...str('a/b'), 0x00, ...str('c/d')];
      await expectRefusedAfterConnect(tb, v, packet(0x82, body), MALFORMED, bystander);
    });

    it(`MQTT-2.2.1-3 [06-03 v${v}] QoS 1 PUBLISH that ends inside its packet identifier`, async () => {
      await expectRefusedAfterConnect(tb, v, [0x32, 0x04, 0x00, 0x01, 0x61, 0x00], MALFORMED, bystander);
    });

    it(`MQTT5 3.1 / 3.1.1 3.1 [06-04 v${v}] CONNECT whose remaining length ends inside the protocol name`, async () => {
      const before = tb.broker.stats.malformedPackets;
      const c = await RawClient.open(tb.port, v);
      c.send([0x10, 0x04, 0x00, 0x04, 0x4d, 0x51]);
      await c.waitClosed();
      for (const p of c.packets) expect((p as { reasonCode: number }).reasonCode).not.toBe(0);
      expect(tb.broker.stats.malformedPackets - before).toBe(1);
      await bystander.roundTrip();
    });
  }

  it('MQTT 3.1.1 3.4.1 [06-05 v4] PUBACK with remaining length 3 (one byte too many)', async () => {
    await expectRefusedAfterConnect(tb, 4, [0x40, 0x03, 0x00, 0x01, 0x00], MALFORMED, bystander);
  });

  it('MQTT5 3.4.2.2.1 [06-06 v5] PUBACK whose Property Length runs past the packet', async () => {
    await expectRefusedAfterConnect(tb, 5, [0x40, 0x04, 0x00, 0x01, 0x00, 0x09], MALFORMED, bystander);
  });

  for (const v of VERSIONS) {
    it(`MQTT-3.1.2-8 [06-07 v${v}] half a PUBLISH then the client closes: will published, connection freed`, async () => {
      const willTopic = `will/trunc/${v}`;
      const watcher = await willSubscriber(willTopic);
      const baseline = tb.broker.connections.size;
      const c = await RawClient.connected(tb.port, v, {
        will: { topic: willTopic, payload: Buffer.from('gone'), qos: 1, retain: false, properties: v === 5 ? {} : undefined },
      });
      expect(tb.broker.connections.size).toBe(baseline + 1);
      // Remaining length 200, only 6 bytes of it, then the socket goes away.
      c.send([0x30, 0xc8, 0x01, 0x00, 0x03, 0x61, 0x2f, 0x62]);
      c.socket.end();
      const will = (await watcher.next(3, 5_000)) as PublishPacket;
      expect(will.topic).toBe(willTopic);
      expect(will.payload.toString()).toBe('gone');
      await waitUntil(() => tb.broker.connections.size === baseline, 5_000, 'the connection to be freed', () => tb.broker.connections.size);
      watcher.close();
      await bystander.roundTrip();
    });
  }

  it('MQTT-3.1.0-1 [06-08] half a CONNECT then close: nothing left behind', async () => {
    const baseline = tb.broker.connections.size;
    const sessions = tb.broker.sessions.size;
    const c = await RawClient.open(tb.port, 5);
    await waitUntil(() => tb.broker.connections.size === baseline + 1, 5_000, 'the connection to register');
    c.send([0x10, 0x20, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x05]);
    c.socket.end();
    await c.waitClosed();
    await waitUntil(() => tb.broker.connections.size === baseline, 5_000, 'the connection to be freed', () => tb.broker.connections.size);
    expect(tb.broker.sessions.size).toBe(sessions);
    await bystander.roundTrip();
  });
});
