/**
 * Maximum Packet Size in both directions (MQTT5 3.1.2.11.4, 3.2.2.3.6, 4.13): the broker
 * never sends a client a packet above the client's maximum (the message is dropped for
 * that client only, as if delivered), and a client packet above the broker's maximum is
 * answered with DISCONNECT 0x95.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnackPacket } from '../../src/codec/mqtt/index.js';
import { RC } from '../../src/codec/mqtt/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { stopBroker } from '../helpers/pubsub-broker.js';
import {
  expectDisconnect,
  payloads,
  publish,
  rawConnect,
  receiveAcking,
  sendPublish,
  subscribe,
  sync,
  takePublishes,
  uid,
} from '../helpers/pubsub-clients.js';
import { RawClient } from '../helpers/raw-client.js';

let tb: TestBroker;
beforeAll(async () => {
  tb = await startTestBroker({ config: { mqtt: { maxPacketSizeBytes: 300 } } });
});
afterAll(() => stopBroker(tb));

describe("the client's Maximum Packet Size", () => {
  it('MQTT-3.1.2-24/25 a message too large for one subscriber is dropped for it only; others still get it', async () => {
    const topic = uid('mps');
    const small = await rawConnect(tb.port, 5, { properties: { maximumPacketSize: 100 } });
    const large = await rawConnect(tb.port, 5);
    await subscribe(small, topic, { qos: 1 });
    await subscribe(large, topic, { qos: 1 });
    const dropsBefore = tb.broker.stats.dropped('packet-too-large');
    const pub = await rawConnect(tb.port, 5);
    await publish(pub, topic, 'a'.repeat(150), { qos: 1 });
    await publish(pub, topic, 'ok', { qos: 1 });
    await publish(pub, topic, 'b'.repeat(150), { qos: 0 });
    const bigGot = await receiveAcking(large, 3);
    expect(bigGot.map((p) => p.payload.length)).toEqual([150, 2, 150]);
    const smallGot = await receiveAcking(small, 1);
    expect(payloads(smallGot)).toEqual(['ok']);
    await sync(small);
    expect(takePublishes(small)).toEqual([]);
    expect(tb.broker.stats.dropped('packet-too-large')).toBe(dropsBefore + 2);
    small.close();
    large.close();
    pub.close();
  });

  it('MQTT-3.1.2-25 the dropped QoS 1 message counts as delivered: with Receive Maximum 1 the next message still arrives', async () => {
    const topic = uid('mps-rm');
    const sub = await rawConnect(tb.port, 5, { properties: { maximumPacketSize: 80, receiveMaximum: 1 } });
    await subscribe(sub, topic, { qos: 1 });
    const pub = await rawConnect(tb.port, 5);
    await publish(pub, topic, 'x'.repeat(120), { qos: 1 });
    await publish(pub, topic, 'next', { qos: 1 });
    const [p] = await receiveAcking(sub, 1);
    expect(p.payload.toString()).toBe('next');
    sub.close();
    pub.close();
  });

  it('MQTT-3.1.2-24 the limit counts the whole packet (topic and properties), not just the payload', async () => {
    const topic = uid('mps-props');
    const sub = await rawConnect(tb.port, 5, { properties: { maximumPacketSize: 120 } });
    await subscribe(sub, topic, { qos: 0 });
    const pub = await rawConnect(tb.port, 5);
    // A 10-byte payload but ~100 bytes of user properties: the PUBLISH is over 120 bytes.
    await publish(pub, topic, '0123456789', { qos: 0, properties: { userProperties: [['k'.repeat(45), 'v'.repeat(45)]] } });
    await publish(pub, topic, 'plain', { qos: 0 });
    await sync(sub);
    const got = takePublishes(sub);
    expect(payloads(got)).toEqual(['plain']);
    for (const p of got) expect(p.topic.length).toBeGreaterThan(0);
    sub.close();
    pub.close();
  });
});

describe("the broker's Maximum Packet Size", () => {
  it('MQTT5 3.2.2.3.6 CONNACK advertises Maximum Packet Size 300', async () => {
    const c = await RawClient.open(tb.port, 5);
    c.send({ type: 1, protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 30, clientId: uid() });
    expect(((await c.next(2)) as ConnackPacket).properties?.maximumPacketSize).toBe(300);
    c.close();
  });

  it('MQTT-3.2.2-15 / MQTT5 4.13 a PUBLISH above it -> DISCONNECT 0x95 Packet too large; not delivered', async () => {
    const topic = uid('big');
    const sub = await rawConnect(tb.port, 5);
    await subscribe(sub, topic, { qos: 0 });
    const c = await rawConnect(tb.port, 5);
    sendPublish(c, topic, 'z'.repeat(400), { qos: 1 });
    await expectDisconnect(c, RC.PACKET_TOO_LARGE);
    await sync(sub);
    expect(takePublishes(sub)).toEqual([]);
    sub.close();
  });

  it('MQTT-3.2.2-15 a PUBLISH just at the limit is accepted', async () => {
    const topic = uid('edge');
    const sub = await rawConnect(tb.port, 5);
    await subscribe(sub, topic, { qos: 0 });
    const c = await rawConnect(tb.port, 5);
    // Fixed header 1 + remaining length 2 bytes; variable header: topic (2 + len) + packet id 2 + property length 1.
    const overhead = 1 + 2 + 2 + topic.length + 2 + 1;
    const ack = await publish(c, topic, 'p'.repeat(300 - overhead), { qos: 1 });
    expect(ack?.reasonCode ?? 0).toBe(0);
    const [p] = await receiveAcking(sub, 1);
    expect(p.payload.length).toBe(300 - overhead);
    sub.close();
    c.close();
  });

  it('MQTT 3.1.1 a packet above the limit closes the connection without a DISCONNECT (MQTT-4.8.0-1)', async () => {
    const c = await rawConnect(tb.port, 4);
    sendPublish(c, uid('big4'), 'z'.repeat(400), { qos: 0 });
    await c.waitClosed();
    expect(c.packets.filter((p) => p.type === 14)).toEqual([]);
  });
});
