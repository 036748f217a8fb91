/**
 * Wire tests 04: packets above the server's Maximum Packet Size (mqtt.maxPacketSizeBytes,
 * advertised in CONNACK, MQTT5 3.2.2.3.6). The client must not send them (MQTT-3.2.2-15);
 * the server refuses one with DISCONNECT 0x95 Packet too large (MQTT5 3.14.2.1, 4.13),
 * decided from the fixed header alone: only the header of a 100 MB packet is ever sent
 * here, so the DISCONNECT can only come if the broker did not wait for (buffer) the body.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RC, type ConnackPacket } from '../../src/codec/mqtt/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { Bystander } from '../helpers/transport-clients.js';
import { expectRefused, expectRefusedAfterConnect, packet, str, u16, varint } from '../helpers/transport-wire.js';

const MAX = 64 * 1024;
const HUNDRED_MB = 100 * 1024 * 1024;
const TOO_LARGE = { reasonCode: RC.PACKET_TOO_LARGE, countsAsMalformed: true };

let tb: TestBroker;
let bystander: Bystander;
beforeAll(async () => {
  tb = await startTestBroker({ config: { mqtt: { maxPacketSizeBytes: MAX } } });
  bystander = await Bystander.start(tb.port);
});
afterAll(async () => {
  await bystander.stop();
  await tb.stop();
});

/** A v5 QoS 0 PUBLISH to `topic` whose total encoded size is exactly `total` bytes. */
function publishOfSize(topic: string, total: number): Buffer {
  const fixedBody = [...str(topic), 0]; // topic + empty property section
  // total = 1 + len(varint(rl)) + rl, rl = fixedBody.length + payload
  for (let vl = 1; vl <= 4; vl++) {
    const rl = total - 1 - vl;
    if (varint(rl).length === vl) {
      const payload = Buffer.alloc(rl - fixedBody.length, 0x61);
      return Buffer.concat([Buffer.from([0x30, ...varint(rl), ...fixedBody]), payload]);
    }
  }
  throw new Error(`cannot build a packet of ${total} bytes`);
}

describe('04 packet size', () => {
  it('MQTT5 3.2.2.3.6 [04-01 v5] CONNACK advertises the configured Maximum Packet Size', async () => {
    const c = await RawClient.open(tb.port, 5);
    c.send({ type: 1, protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 30, clientId: 'size-probe' });
    const ack = (await c.next(2)) as ConnackPacket;
    expect(ack.reasonCode).toBe(0);
    expect(ack.properties?.maximumPacketSize).toBe(MAX);
    c.close();
  });

  for (const v of [4, 5] as const) {
    it(`MQTT-3.2.2-15 MQTT5 4.13 [04-02 v${v}] only the fixed header of a 100 MB PUBLISH -> 0x95 before any body byte`, async () => {
      const bytesInBefore = tb.broker.stats.bytesIn;
      const c = await RawClient.connected(tb.port, v);
      const d = await expectRefused(tb, c, [0x30, ...varint(HUNDRED_MB)], TOO_LARGE, bystander);
      if (v === 5) expect(d?.properties?.reasonString).toMatch(/maximum packet size|too large/i);
      // Nothing like 100 MB went in: the decision was made on the header.
      expect(tb.broker.stats.bytesIn - bytesInBefore).toBeLessThan(4096);
    });

    it(`MQTT-3.2.2-15 [04-03 v${v}] only the fixed header of a 100 MB SUBSCRIBE -> 0x95`, async () => {
      await expectRefusedAfterConnect(tb, v, [0x82, ...varint(HUNDRED_MB)], TOO_LARGE, bystander);
    });

    it(`MQTT-3.2.2-15 [04-04 v${v}] a complete PUBLISH one byte over the limit -> 0x95`, async () => {
      await expectRefusedAfterConnect(tb, v, publishOfSize('big/one', MAX + 1), TOO_LARGE, bystander);
    });
  }

  it('MQTT5 3.2.2.3.6 [04-05 v5] control: a PUBLISH of exactly the limit is accepted and delivered', async () => {
    const sub = await RawClient.connected(tb.port, 5);
    sub.send({ type: 8, packetId: 1, subscriptions: [{ topic: 'big/#', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 }], properties: {} });
    await sub.next(9);
    const pub = await RawClient.connected(tb.port, 5);
    const bytes = publishOfSize('big/exact', MAX);
    expect(bytes.length).toBe(MAX);
    pub.send(bytes);
    const got = (await sub.next(3)) as { payload: Buffer };
    // 1 type byte + 3 length bytes + 2 + 9 topic bytes + 1 property length byte = 16 bytes of header.
    expect(got.payload.length).toBe(MAX - 16);
    expect(got.payload.every((b) => b === 0x61)).toBe(true);
    pub.send([0xc0, 0x00]);
    expect((await pub.next()).type).toBe(13); // still connected
    sub.close();
    pub.close();
  });

  for (const v of [4, 5] as const) {
    it(`MQTT-3.2.2-15 [04-06 v${v}] the fixed header of a 100 MB CONNECT closes the connection without accepting it`, async () => {
      const before = tb.broker.stats.malformedPackets;
      const c = await RawClient.open(tb.port, v);
      c.send([0x10, ...varint(HUNDRED_MB), ...str('MQTT'), v]);
      await c.waitClosed();
      // The version is not known yet; a CONNACK is optional (MQTT5 4.13.1) but never a success.
      for (const p of c.packets) {
        expect(p.type).toBe(2);
        expect((p as ConnackPacket).reasonCode).not.toBe(0);
      }
      expect(tb.broker.stats.malformedPackets - before).toBe(1);
      await bystander.roundTrip();
    });
  }

  it('MQTT-3.2.2-15 [04-07 v5] oversized packet while another packet is half received: still 0x95', async () => {
    const c = await RawClient.connected(tb.port, 5);
    // A small valid PUBLISH, then the header of an oversized one in the same write.
    const small = packet(0x30, [...str('a/b'), 0, 0x78]);
    await expectRefused(tb, c, Buffer.concat([small, Buffer.from([0x30, ...varint(HUNDRED_MB), ...u16(3)])]), TOO_LARGE, bystander);
  });
});
