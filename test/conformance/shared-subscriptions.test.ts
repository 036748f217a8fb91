/**
 * Shared subscriptions `$share/{ShareName}/{filter}` (MQTT5 4.8.2): one member per
 * message, round robin, invalid share names, no retained messages, redistribution of
 * unacknowledged QoS 1 messages when a member goes away (and never of QoS 2 ones), and a
 * client with both a shared and a non-shared subscription.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnackPacket, PublishPacket } from '../../src/codec/mqtt/index.js';
import { RC } from '../../src/codec/mqtt/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { stopBroker } from '../helpers/pubsub-broker.js';
import {
  collector,
  mqttJs,
  payloads,
  publish,
  rawConnect,
  receiveAcking,
  subscribe,
  sync,
  takePublishes,
  uid,
  unsubscribe,
  waitUntil,
} from '../helpers/pubsub-clients.js';
import { RawClient } from '../helpers/raw-client.js';

let tb: TestBroker;
let pub: RawClient;
beforeAll(async () => {
  tb = await startTestBroker();
  pub = await rawConnect(tb.port, 5);
});
afterAll(async () => {
  pub.close();
  await stopBroker(tb);
});

function waitSessionGone(clientId: string): Promise<void> {
  return waitUntil(() => tb.broker.sessions.get(clientId)?.online !== true, `session ${clientId} offline`);
}

describe('distribution', () => {
  it('MQTT5 4.8.2 each message goes to exactly one member; round robin spreads 30 messages 10/10/10', async () => {
    const topic = uid('rr');
    const members = await Promise.all([0, 1, 2].map(() => rawConnect(tb.port, 5)));
    for (const m of members) expect(await subscribe(m, `$share/g/${topic}`, { qos: 1 })).toEqual([1]);
    for (let i = 0; i < 30; i++) await publish(pub, topic, String(i), { qos: 1 });
    const per: string[][] = [];
    for (const m of members) {
      await sync(m);
      const got = takePublishes(m);
      for (const p of got) m.send({ type: 4, packetId: p.packetId! });
      per.push(payloads(got));
    }
    expect(per.map((p) => p.length)).toEqual([10, 10, 10]);
    const all = per.flat().map(Number).sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 30 }, (_, i) => i));
    for (const m of members) m.close();
  });

  it('MQTT5 4.8.2 v4 clients can share too (MQTT.js, protocol 4): each message once across the group', async () => {
    const topic = uid('js');
    const a = await mqttJs(tb.port, { protocolVersion: 4 });
    const b = await mqttJs(tb.port, { protocolVersion: 4 });
    const ca = collector(a);
    const cb = collector(b);
    await a.subscribeAsync(`$share/grp/${topic}`, { qos: 1 });
    await b.subscribeAsync(`$share/grp/${topic}`, { qos: 1 });
    for (let i = 0; i < 10; i++) await publish(pub, topic, String(i), { qos: 1 });
    await Promise.all([ca.waitFor(5), cb.waitFor(5)]);
    const all = [...ca.got, ...cb.got].map((m) => Number(m.payload)).sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 10 }, (_, i) => i));
    await a.endAsync();
    await b.endAsync();
  });

  it('MQTT5 4.8.2 two share groups on the same filter each get a copy; a plain subscriber too', async () => {
    const topic = uid('groups');
    const g1 = await rawConnect(tb.port, 5);
    const g2 = await rawConnect(tb.port, 5);
    const plain = await rawConnect(tb.port, 5);
    await subscribe(g1, `$share/one/${topic}`, { qos: 0 });
    await subscribe(g2, `$share/two/${topic}`, { qos: 0 });
    await subscribe(plain, topic, { qos: 0 });
    await publish(pub, topic, 'x', { qos: 1 });
    for (const c of [g1, g2, plain]) {
      await sync(c);
      expect(payloads(takePublishes(c))).toEqual(['x']);
      c.close();
    }
  });

  it('MQTT5 4.8.2 a client with a shared and a non-shared subscription matching the message gets two copies', async () => {
    const topic = uid('both');
    const c = await rawConnect(tb.port, 5);
    await subscribe(c, `$share/g/${topic}`, { qos: 1, subscriptionId: 1 });
    await subscribe(c, topic, { qos: 1, subscriptionId: 2 });
    await publish(pub, topic, 'twice', { qos: 1 });
    const got = await receiveAcking(c, 2);
    expect(payloads(got)).toEqual(['twice', 'twice']);
    expect(got.map((p) => p.properties?.subscriptionIdentifiers?.[0]).sort()).toEqual([1, 2]);
    c.close();
  });

  it('MQTT-4.8.2-3 delivery respects the granted QoS of the member', async () => {
    const topic = uid('gq');
    const m = await rawConnect(tb.port, 5);
    await subscribe(m, `$share/g/${topic}`, { qos: 0 });
    await publish(pub, topic, 'q2', { qos: 2 });
    await sync(m);
    expect(takePublishes(m).map((p) => p.qos)).toEqual([0]);
    m.close();
  });

  it('MQTT-3.10.4-2 after a member unsubscribes, the remaining member gets every message', async () => {
    const topic = uid('leave');
    const a = await rawConnect(tb.port, 5);
    const b = await rawConnect(tb.port, 5);
    await subscribe(a, `$share/g/${topic}`, { qos: 0 });
    await subscribe(b, `$share/g/${topic}`, { qos: 0 });
    expect((await unsubscribe(a, [`$share/g/${topic}`])).reasonCodes).toEqual([RC.SUCCESS]);
    for (let i = 0; i < 4; i++) await publish(pub, topic, String(i), { qos: 1 });
    await sync(a);
    await sync(b);
    expect(takePublishes(a)).toEqual([]);
    expect(payloads(takePublishes(b))).toEqual(['0', '1', '2', '3']);
    a.close();
    b.close();
  });
});

describe('share names and retained messages', () => {
  it('MQTT-4.8.2-1/2 invalid shared filters -> SUBACK 0x8F Topic Filter invalid', async () => {
    const c = await rawConnect(tb.port, 5);
    const bad = ['$share//a', '$share/g', '$share/g/', '$share/g+/a', '$share/g#/a', '$share/+/a', '$share/g/a/#/b'];
    expect(await subscribe(c, bad, { qos: 1 })).toEqual(bad.map(() => RC.TOPIC_FILTER_INVALID));
    c.close();
  });

  it('MQTT5 4.8.2 no retained messages are sent for a shared subscription', async () => {
    const topic = uid('noret');
    await publish(pub, topic, 'retained', { qos: 1, retain: true });
    const m = await rawConnect(tb.port, 5);
    expect(await subscribe(m, `$share/g/${topic}`, { qos: 1 })).toEqual([1]);
    await sync(m);
    expect(takePublishes(m)).toEqual([]);
    // While a plain subscription gets it.
    expect(await subscribe(m, topic, { qos: 1 })).toEqual([1]);
    expect(payloads(await receiveAcking(m, 1))).toEqual(['retained']);
    m.close();
  });

  it('MQTT5 3.2.2.3.12 sharedSubscriptionAvailable=false: CONNACK says 0, SUBACK 0x9E Shared Subscriptions not supported', async () => {
    const t = await startTestBroker({ config: { mqtt: { sharedSubscriptionAvailable: false } } });
    try {
      const c = await RawClient.open(t.port, 5);
      c.send({ type: 1, protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 30, clientId: uid() });
      expect(((await c.next(2)) as ConnackPacket).properties?.sharedSubscriptionAvailable).toBe(0);
      expect(await subscribe(c, [`$share/g/${uid('x')}`, 'plain'], { qos: 1 })).toEqual([RC.SHARED_SUBSCRIPTIONS_NOT_SUPPORTED, 1]);
      c.close();
    } finally {
      await stopBroker(t);
    }
  });
});

describe('a member goes away', () => {
  it('MQTT5 4.8.2 unacknowledged QoS 1 messages of a member that disconnects go to another member', async () => {
    const topic = uid('redist');
    const aId = uid('member-a');
    const a = await rawConnect(tb.port, 5, { clientId: aId });
    const b = await rawConnect(tb.port, 5);
    await subscribe(a, `$share/g/${topic}`, { qos: 1 });
    await subscribe(b, `$share/g/${topic}`, { qos: 1 });
    for (let i = 0; i < 10; i++) await publish(pub, topic, String(i), { qos: 1 });
    await sync(a);
    const aGot = takePublishes(a); // never acknowledged
    expect(aGot.length).toBeGreaterThan(0);
    await sync(b);
    const bFirst = takePublishes(b);
    for (const p of bFirst) b.send({ type: 4, packetId: p.packetId! });
    expect(aGot.length + bFirst.length).toBe(10);
    a.close();
    await waitSessionGone(aId);
    const bLater = await receiveAcking(b, aGot.length);
    expect(payloads(bLater).sort()).toEqual(payloads(aGot).sort());
    await sync(b);
    expect(takePublishes(b)).toEqual([]);
    const all = [...payloads(bFirst), ...payloads(bLater)].map(Number).sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 10 }, (_, i) => i));
    b.close();
  });

  it('MQTT-4.8.2-6 a QoS 1 message the member refused (PUBACK >= 0x80) is discarded, not sent to another member', async () => {
    const topic = uid('refused');
    const aId = uid('refuser');
    const a = await rawConnect(tb.port, 5, { clientId: aId });
    await subscribe(a, `$share/g/${topic}`, { qos: 1 });
    const b = await rawConnect(tb.port, 5);
    await publish(pub, topic, 'refuse-me', { qos: 1 }); // only a is a member yet
    const p = (await a.next(3)) as PublishPacket;
    a.send({ type: 4, packetId: p.packetId!, reasonCode: RC.UNSPECIFIED_ERROR, properties: {} });
    await sync(a);
    await subscribe(b, `$share/g/${topic}`, { qos: 1 });
    a.close();
    await waitSessionGone(aId);
    await sync(b);
    expect(takePublishes(b)).toEqual([]);
    b.close();
  });

  it('MQTT-4.8.2-5 a QoS 2 message being delivered to a member whose session ends is not sent to another member', async () => {
    const topic = uid('q2share');
    const aId = uid('q2-member');
    const a = await rawConnect(tb.port, 5, { clientId: aId });
    await subscribe(a, `$share/g/${topic}`, { qos: 2 });
    await publish(pub, topic, 'exactly-once', { qos: 2 }); // only a is a member yet
    const p = (await a.next(3)) as PublishPacket;
    expect(p.qos).toBe(2);
    const b = await rawConnect(tb.port, 5);
    await subscribe(b, `$share/g/${topic}`, { qos: 2 });
    a.close(); // clean session (expiry 0): the session ends with the connection, before PUBREC
    await waitSessionGone(aId);
    await sync(b);
    expect(takePublishes(b)).toEqual([]);
    b.close();
  });

  it('MQTT-4.8.2-4 a QoS 2 delivery interrupted by a disconnect is completed with the same member when it reconnects', async () => {
    const topic = uid('q2back');
    const aId = uid('q2-persistent');
    const fields = { clientId: aId, clean: false, properties: { sessionExpiryInterval: 60 } };
    const a = await RawClient.connected(tb.port, 5, fields);
    await subscribe(a, `$share/g/${topic}`, { qos: 2 });
    await publish(pub, topic, 'same-member', { qos: 2 });
    const p = (await a.next(3)) as PublishPacket;
    const b = await rawConnect(tb.port, 5);
    await subscribe(b, `$share/g/${topic}`, { qos: 2 });
    a.close();
    await waitSessionGone(aId);
    await sync(b);
    expect(takePublishes(b)).toEqual([]);
    const a2 = await RawClient.open(tb.port, 5);
    a2.send({ type: 1, protocolName: 'MQTT', protocolVersion: 5, keepalive: 30, ...fields });
    expect(await a2.next(2)).toMatchObject({ sessionPresent: true });
    const again = (await a2.next(3)) as PublishPacket;
    expect(again).toMatchObject({ dup: true, packetId: p.packetId, qos: 2 });
    expect(again.payload.toString()).toBe('same-member');
    a2.close();
    b.close();
  });
});
