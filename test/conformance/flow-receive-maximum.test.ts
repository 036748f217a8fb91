/**
 * Receive Maximum in both directions (MQTT5 3.3.4, 4.9): the broker never has more than
 * the client's Receive Maximum unacknowledged QoS 1/2 PUBLISH packets outstanding, and a
 * client that exceeds the broker's Receive Maximum is disconnected with 0x93.
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
  tb = await startTestBroker({ config: { mqtt: { maxInflightMessages: 3 } } });
});
afterAll(() => stopBroker(tb));

async function publishMany(port: number, topic: string, n: number, qos: 1 | 2): Promise<void> {
  const pub = await rawConnect(port, 5);
  for (let i = 0; i < n; i++) await publish(pub, topic, String(i), { qos });
  pub.close();
}

describe('the broker honours the client Receive Maximum (MQTT-3.3.4-9)', () => {
  let tw: TestBroker;
  beforeAll(async () => {
    tw = await startTestBroker();
  });
  afterAll(() => stopBroker(tw));

  it('MQTT-3.3.4-9 receiveMaximum 5, 20 QoS 1 messages, no acks: exactly 5 outstanding; each PUBACK releases exactly one more', async () => {
    const topic = uid('rm');
    const sub = await rawConnect(tw.port, 5, { properties: { receiveMaximum: 5 } });
    await subscribe(sub, topic, { qos: 1 });
    await publishMany(tw.port, topic, 20, 1);
    await sync(sub);
    const first = takePublishes(sub);
    expect(payloads(first)).toEqual(['0', '1', '2', '3', '4']);
    // Ack one: exactly one more arrives.
    sub.send({ type: 4, packetId: first[0].packetId! });
    await sync(sub);
    const one = takePublishes(sub);
    expect(payloads(one)).toEqual(['5']);
    // Ack the rest as they come: everything arrives, in order, never more than 5 outstanding.
    const outstanding = new Set([...first.slice(1), ...one].map((p) => p.packetId!));
    const all = [...first, ...one];
    for (const id of [...outstanding]) {
      sub.send({ type: 4, packetId: id });
      outstanding.delete(id);
    }
    while (all.length < 20) {
      const p = (await sub.next(3)) as (typeof all)[number];
      all.push(p);
      outstanding.add(p.packetId!);
      expect(outstanding.size).toBeLessThanOrEqual(5);
      sub.send({ type: 4, packetId: p.packetId! });
      outstanding.delete(p.packetId!);
    }
    expect(payloads(all)).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    sub.close();
  });

  it('MQTT-3.3.4-9 QoS 2: a successful PUBREC does not free a slot, the PUBCOMP does', async () => {
    const topic = uid('rm2');
    const sub = await rawConnect(tw.port, 5, { properties: { receiveMaximum: 2 } });
    await subscribe(sub, topic, { qos: 2 });
    await publishMany(tw.port, topic, 5, 2);
    await sync(sub);
    const first = takePublishes(sub);
    expect(payloads(first)).toEqual(['0', '1']);
    for (const p of first) sub.send({ type: 5, packetId: p.packetId! });
    for (const p of first) expect(await sub.next(6)).toMatchObject({ packetId: p.packetId });
    await sync(sub);
    expect(takePublishes(sub)).toEqual([]); // still 2 outstanding until PUBCOMP
    sub.send({ type: 7, packetId: first[0].packetId! });
    await sync(sub);
    expect(payloads(takePublishes(sub))).toEqual(['2']);
    sub.close();
  });

  it('MQTT5 4.9 a PUBREC with a reason code >= 0x80 frees the slot and ends the exchange (no PUBREL)', async () => {
    const topic = uid('rm3');
    const sub = await rawConnect(tw.port, 5, { properties: { receiveMaximum: 1 } });
    await subscribe(sub, topic, { qos: 2 });
    await publishMany(tw.port, topic, 2, 2);
    const p0 = (await sub.next(3)) as { packetId: number };
    await sync(sub);
    expect(takePublishes(sub)).toEqual([]);
    sub.send({ type: 5, packetId: p0.packetId, reasonCode: RC.UNSPECIFIED_ERROR, properties: {} });
    const p1 = (await sub.next(3)) as { payload: Buffer };
    expect(p1.payload.toString()).toBe('1');
    await sync(sub);
    expect(sub.packets.filter((p) => p.type === 6)).toEqual([]);
    sub.close();
  });

  it('MQTT-3.3.4-10 QoS 0 messages and other packets are not held back by a full window', async () => {
    const topic = uid('rm0');
    const sub = await rawConnect(tw.port, 5, { properties: { receiveMaximum: 1 } });
    await subscribe(sub, topic, { qos: 1 });
    const pub = await rawConnect(tw.port, 5);
    await publish(pub, topic, 'q1-a', { qos: 1 });
    await publish(pub, topic, 'q1-b', { qos: 1 });
    await publish(pub, topic, 'q0', { qos: 0 });
    await sync(sub); // PINGRESP arrives although the window is full
    const got = takePublishes(sub);
    expect(got.map((p) => `${p.payload.toString()}:${p.qos}`)).toEqual(['q1-a:1', 'q0:0']);
    sub.close();
    pub.close();
  });
});

describe('3.1.1 outbound window (mqtt.maxInflightMessages)', () => {
  it('holdfast config: a 3.1.1 subscriber never has more than maxInflightMessages (3) unacknowledged QoS 1 messages', async () => {
    const topic = uid('v4w');
    const sub = await rawConnect(tb.port, 4);
    await subscribe(sub, topic, { qos: 1 });
    await publishMany(tb.port, topic, 10, 1);
    await sync(sub);
    const first = takePublishes(sub);
    expect(payloads(first)).toEqual(['0', '1', '2']);
    for (const p of first) sub.send({ type: 4, packetId: p.packetId! });
    const rest = await receiveAcking(sub, 7);
    expect(payloads(rest)).toEqual(['3', '4', '5', '6', '7', '8', '9']);
    sub.close();
  });

  it('MQTT-3.3.4-9 a v5 client asking for more than the server cap gets at most the cap (3)', async () => {
    const topic = uid('v5cap');
    const sub = await rawConnect(tb.port, 5, { properties: { receiveMaximum: 100 } });
    await subscribe(sub, topic, { qos: 1 });
    await publishMany(tb.port, topic, 6, 1);
    await sync(sub);
    expect(takePublishes(sub)).toHaveLength(3);
    sub.close();
  });
});

describe('the client must honour the broker Receive Maximum (MQTT-3.3.4-7)', () => {
  let ts: TestBroker;
  beforeAll(async () => {
    ts = await startTestBroker({ config: { mqtt: { receiveMaximum: 2 } } });
  });
  afterAll(() => stopBroker(ts));

  it('MQTT5 3.2.2.3.3 CONNACK advertises Receive Maximum 2', async () => {
    const c = await RawClient.open(ts.port, 5);
    c.send({ type: 1, protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 30, clientId: uid() });
    expect(((await c.next(2)) as ConnackPacket).properties?.receiveMaximum).toBe(2);
    c.close();
  });

  it('MQTT-3.3.4-7 a third unacknowledged QoS 2 PUBLISH (no PUBREL sent) -> DISCONNECT 0x93 Receive Maximum exceeded', async () => {
    const c = await rawConnect(ts.port, 5);
    const topic = uid('over');
    sendPublish(c, topic, 'a', { qos: 2, packetId: 1 });
    expect(await c.next(5)).toMatchObject({ packetId: 1 });
    sendPublish(c, topic, 'b', { qos: 2, packetId: 2 });
    expect(await c.next(5)).toMatchObject({ packetId: 2 });
    sendPublish(c, topic, 'c', { qos: 2, packetId: 3 });
    await expectDisconnect(c, RC.RECEIVE_MAXIMUM_EXCEEDED);
  });

  it('MQTT-3.3.4-7 a client that completes its exchanges can send any number of QoS 2 messages', async () => {
    const c = await rawConnect(ts.port, 5);
    const topic = uid('fine');
    for (let i = 0; i < 10; i++) await publish(c, topic, String(i), { qos: 2 });
    await sync(c);
    expect(c.closed).toBe(false);
    c.close();
  });
});
