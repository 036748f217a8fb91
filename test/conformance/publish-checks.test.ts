/**
 * What the broker checks on an inbound PUBLISH and the QoS a subscriber gets:
 * delivered QoS = min(published, granted), Maximum QoS, Retain Available, DUP on QoS 0,
 * invalid topic names, Subscription Identifiers from clients, "no matching subscribers".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AckPacket, ConnackPacket, ProtocolVersion, QoS } from '../../src/codec/mqtt/index.js';
import { RC } from '../../src/codec/mqtt/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { stopBroker } from '../helpers/pubsub-broker.js';
import {
  collector,
  expectDisconnect,
  mqttJs,
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
  tb = await startTestBroker();
});
afterAll(() => stopBroker(tb));

describe('delivered QoS', () => {
  for (const v of [4, 5] as ProtocolVersion[]) {
    const rule = v === 5 ? 'MQTT-3.8.4-8' : 'MQTT-3.8.4-6';
    it(`${rule} v${v} delivered QoS = min(published QoS, granted QoS) for every combination`, async () => {
      const base = uid('minqos');
      const sub = await rawConnect(tb.port, v);
      // One subscription per granted QoS, on distinct topics.
      for (const g of [0, 1, 2] as QoS[]) expect(await subscribe(sub, `${base}/g${g}`, { qos: g })).toEqual([g]);
      const pub = await rawConnect(tb.port, v);
      const expected: string[] = [];
      for (const g of [0, 1, 2] as QoS[]) {
        for (const q of [0, 1, 2] as QoS[]) {
          await publish(pub, `${base}/g${g}`, `g${g}q${q}`, { qos: q });
          expected.push(`g${g}q${q}:${Math.min(g, q)}`);
        }
      }
      const got = await receiveAcking(sub, 9);
      // QoS 2 deliveries need PUBREL/PUBCOMP to finish; their PUBREC was sent by receiveAcking.
      expect(got.map((p) => `${p.payload.toString()}:${p.qos}`).sort()).toEqual(expected.sort());
      for (const p of got) expect(p.packetId === undefined).toBe(p.qos === 0); // MQTT-2.2.1-2
      sub.close();
      pub.close();
    });
  }

  it('MQTT-3.8.4-8 MQTT.js flow: QoS 2 published to a QoS 1 subscription arrives as QoS 1; QoS 1 to a QoS 2 one as QoS 1', async () => {
    const base = uid('js');
    const sub = await mqttJs(tb.port);
    const msgs = collector(sub);
    await sub.subscribeAsync(`${base}/a`, { qos: 1 });
    await sub.subscribeAsync(`${base}/b`, { qos: 2 });
    const pub = await mqttJs(tb.port, { protocolVersion: 4 });
    await pub.publishAsync(`${base}/a`, 'to-q1', { qos: 2 });
    await pub.publishAsync(`${base}/b`, 'to-q2', { qos: 1 });
    const got = await msgs.waitFor(2);
    expect(got.map((m) => [m.topic, m.payload, m.qos])).toEqual([
      [`${base}/a`, 'to-q1', 1],
      [`${base}/b`, 'to-q2', 1],
    ]);
    await sub.endAsync();
    await pub.endAsync();
  });
});

describe('Maximum QoS (mqtt.maximumQoS = 1)', () => {
  let tq: TestBroker;
  beforeAll(async () => {
    tq = await startTestBroker({ config: { mqtt: { maximumQoS: 1 } } });
  });
  afterAll(() => stopBroker(tq));

  it('MQTT5 3.2.2.3.4 CONNACK carries Maximum QoS 1', async () => {
    const c = await RawClient.open(tq.port, 5);
    c.send({ type: 1, protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 30, clientId: uid() });
    const ack = (await c.next(2)) as ConnackPacket;
    expect(ack.properties?.maximumQoS).toBe(1);
    c.close();
  });

  for (const v of [4, 5] as ProtocolVersion[]) {
    it(`MQTT-3.8.4-${v === 5 ? 7 : 6} v${v} a QoS 2 subscription is granted QoS 1 (the server maximum), and delivery follows it`, async () => {
      const topic = uid('cap');
      const sub = await rawConnect(tq.port, v);
      expect(await subscribe(sub, topic, { qos: 2 })).toEqual([1]);
      const pub = await rawConnect(tq.port, v);
      await publish(pub, topic, 'capped', { qos: 1 });
      const [p] = await receiveAcking(sub, 1);
      expect(p.qos).toBe(1);
      sub.close();
      pub.close();
    });
  }

  it('MQTT-3.2.2-11 a PUBLISH above Maximum QoS -> DISCONNECT 0x9B QoS not supported; nothing is delivered', async () => {
    const topic = uid('q2');
    const sub = await rawConnect(tq.port, 5);
    await subscribe(sub, topic, { qos: 1 });
    const pub = await rawConnect(tq.port, 5);
    sendPublish(pub, topic, 'too-high', { qos: 2 });
    await expectDisconnect(pub, RC.QOS_NOT_SUPPORTED);
    await sync(sub);
    expect(takePublishes(sub)).toEqual([]);
    sub.close();
  });
});

describe('Retain Available = 0 (mqtt.retainAvailable = false)', () => {
  let tr: TestBroker;
  beforeAll(async () => {
    tr = await startTestBroker({ config: { mqtt: { retainAvailable: false } } });
  });
  afterAll(() => stopBroker(tr));

  it('MQTT-3.2.2-14 / MQTT5 3.2.2.3.5 a retained PUBLISH -> DISCONNECT 0x9A Retain not supported (CONNACK said 0)', async () => {
    const c = await RawClient.open(tr.port, 5);
    c.send({ type: 1, protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 30, clientId: uid() });
    const ack = (await c.next(2)) as ConnackPacket;
    expect(ack.properties?.retainAvailable).toBe(0);
    sendPublish(c, uid('r'), 'keep', { qos: 0, retain: true });
    await expectDisconnect(c, RC.RETAIN_NOT_SUPPORTED);
    expect(tr.broker.router.retained.size).toBe(0);
  });
});

describe('malformed and invalid PUBLISH', () => {
  it('MQTT-3.3.1-2 DUP=1 on a QoS 0 PUBLISH -> DISCONNECT 0x81 Malformed Packet (v5)', async () => {
    const c = await rawConnect(tb.port, 5);
    c.send({ type: 3, topic: 'a/b', payload: Buffer.from('x'), qos: 0, retain: false, dup: true, properties: {} });
    await expectDisconnect(c, RC.MALFORMED_PACKET);
  });

  it('MQTT-3.3.1-2 v4 DUP=1 on a QoS 0 PUBLISH closes the connection without a packet (MQTT-4.8.0-1)', async () => {
    const c = await rawConnect(tb.port, 4);
    c.send({ type: 3, topic: 'a/b', payload: Buffer.from('x'), qos: 0, retain: false, dup: true });
    await c.waitClosed();
    expect(c.packets).toEqual([]);
  });

  it('MQTT-3.3.1-4 a PUBLISH with both QoS bits set (QoS 3) -> DISCONNECT 0x81 Malformed Packet', async () => {
    const c = await rawConnect(tb.port, 5);
    // 0x36 = PUBLISH, QoS bits 11; topic "t", packet id 1, no properties, payload "x".
    c.send([0x36, 0x07, 0x00, 0x01, 0x74, 0x00, 0x01, 0x00, 0x78]);
    await expectDisconnect(c, RC.MALFORMED_PACKET);
  });

  it('MQTT-3.3.2-2 a topic name with a wildcard -> DISCONNECT 0x90 Topic Name invalid; not routed', async () => {
    const sub = await rawConnect(tb.port, 5);
    await subscribe(sub, '#', { qos: 0 });
    const c = await rawConnect(tb.port, 5);
    sendPublish(c, 'a/+/b', 'x', { qos: 1 });
    await expectDisconnect(c, RC.TOPIC_NAME_INVALID);
    await sync(sub);
    expect(takePublishes(sub).filter((p) => p.topic === 'a/+/b')).toEqual([]);
    sub.close();
  });

  it('MQTT-3.3.4-6 a client PUBLISH carrying a Subscription Identifier -> DISCONNECT 0x82 Protocol Error', async () => {
    const c = await rawConnect(tb.port, 5);
    sendPublish(c, uid('sid'), 'x', { qos: 0, properties: { subscriptionIdentifiers: [3] } });
    await expectDisconnect(c, RC.PROTOCOL_ERROR);
  });

  it('MQTT5 3.4.2.1 PUBACK 0x10 No matching subscribers when nobody subscribed; PUBREC 0x10 likewise', async () => {
    const c = await rawConnect(tb.port, 5);
    const ack = await publish(c, uid('nobody'), 'x', { qos: 1 });
    expect(ack).toMatchObject({ type: 4, reasonCode: RC.NO_MATCHING_SUBSCRIBERS });
    const rec = (await publish(c, uid('nobody'), 'x', { qos: 2 })) as AckPacket;
    expect(rec).toMatchObject({ type: 5, reasonCode: RC.NO_MATCHING_SUBSCRIBERS });
    c.close();
  });
});
