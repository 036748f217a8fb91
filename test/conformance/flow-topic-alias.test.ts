/**
 * Topic aliases (MQTT5 3.3.2.3.4, 3.3.4): inbound (the client sets and uses aliases up to
 * our Topic Alias Maximum) and outbound (the broker gives aliases to a client that allows
 * them, never above its maximum).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnackPacket } from '../../src/codec/mqtt/index.js';
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
  tb = await startTestBroker({ config: { mqtt: { topicAliasMaximum: 4 } } });
});
afterAll(() => stopBroker(tb));

describe('inbound topic aliases', () => {
  it('MQTT-3.3.2-12 set an alias with a topic, then publish with an empty topic and the alias: routed to the topic', async () => {
    const topic = uid('alias');
    const sub = await rawConnect(tb.port, 5);
    await subscribe(sub, topic, { qos: 1 });
    const c = await RawClient.open(tb.port, 5);
    c.send({ type: 1, protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 30, clientId: uid() });
    expect(((await c.next(2)) as ConnackPacket).properties?.topicAliasMaximum).toBe(4);
    await publish(c, topic, 'first', { qos: 1, properties: { topicAlias: 4 } });
    await publish(c, '', 'second', { qos: 1, properties: { topicAlias: 4 } });
    const got = await receiveAcking(sub, 2);
    expect(got.map((p) => [p.topic, p.payload.toString()])).toEqual([
      [topic, 'first'],
      [topic, 'second'],
    ]);
    for (const p of got) expect(p.properties?.topicAlias).toBeUndefined(); // the subscriber never asked for aliases
    sub.close();
    c.close();
  });

  it('MQTT5 3.3.4 a topic with a known alias updates the mapping', async () => {
    const a = uid('ta');
    const b = uid('tb');
    const sub = await rawConnect(tb.port, 5);
    await subscribe(sub, [a, b], { qos: 1 });
    const c = await rawConnect(tb.port, 5);
    await publish(c, a, '1', { qos: 1, properties: { topicAlias: 1 } });
    await publish(c, b, '2', { qos: 1, properties: { topicAlias: 1 } });
    await publish(c, '', '3', { qos: 1, properties: { topicAlias: 1 } });
    const got = await receiveAcking(sub, 3);
    expect(got.map((p) => `${p.topic === a ? 'a' : 'b'}${p.payload.toString()}`)).toEqual(['a1', 'b2', 'b3']);
    sub.close();
    c.close();
  });

  it('MQTT-3.3.2-8 / MQTT5 3.3.4 Topic Alias 0 -> DISCONNECT 0x94 Topic Alias invalid', async () => {
    const c = await rawConnect(tb.port, 5);
    sendPublish(c, uid('z'), 'x', { qos: 0, properties: { topicAlias: 0 } });
    await expectDisconnect(c, RC.TOPIC_ALIAS_INVALID);
  });

  it('MQTT-3.3.2-9 / MQTT5 3.3.4 Topic Alias above the Topic Alias Maximum -> DISCONNECT 0x94', async () => {
    const c = await rawConnect(tb.port, 5);
    sendPublish(c, uid('z'), 'x', { qos: 1, properties: { topicAlias: 5 } });
    await expectDisconnect(c, RC.TOPIC_ALIAS_INVALID);
  });

  it('MQTT5 3.3.4 an empty topic with an alias that has no mapping -> DISCONNECT 0x82 Protocol Error', async () => {
    const c = await rawConnect(tb.port, 5);
    sendPublish(c, '', 'x', { qos: 1, properties: { topicAlias: 2 } });
    await expectDisconnect(c, RC.PROTOCOL_ERROR);
  });

  it('MQTT-3.3.2-1 an empty topic without a Topic Alias -> DISCONNECT 0x82 Protocol Error', async () => {
    const c = await rawConnect(tb.port, 5);
    sendPublish(c, '', 'x', { qos: 0, properties: {} });
    await expectDisconnect(c, RC.PROTOCOL_ERROR);
  });

  it('MQTT-3.3.2-7 aliases do not survive the network connection (same persistent session)', async () => {
    const clientId = uid('alias-persist');
    const fields = { clientId, clean: false, properties: { sessionExpiryInterval: 60 } };
    const c1 = await RawClient.connected(tb.port, 5, fields);
    await publish(c1, uid('p'), 'x', { qos: 1, properties: { topicAlias: 3 } });
    c1.send({ type: 14, reasonCode: 0 });
    await c1.waitClosed();
    const c2 = await RawClient.open(tb.port, 5);
    c2.send({ type: 1, protocolName: 'MQTT', protocolVersion: 5, keepalive: 30, ...fields });
    expect(await c2.next(2)).toMatchObject({ sessionPresent: true });
    sendPublish(c2, '', 'x', { qos: 1, properties: { topicAlias: 3 } });
    await expectDisconnect(c2, RC.PROTOCOL_ERROR);
  });

  it('MQTT-3.2.2-17 / MQTT-3.3.2-9 with topicAliasMaximum 0 any alias -> DISCONNECT 0x94 (CONNACK says 0)', async () => {
    const t0 = await startTestBroker({ config: { mqtt: { topicAliasMaximum: 0 } } });
    try {
      const c = await RawClient.open(t0.port, 5);
      c.send({ type: 1, protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 30, clientId: uid() });
      const ack = (await c.next(2)) as ConnackPacket;
      expect(ack.properties?.topicAliasMaximum ?? 0).toBe(0);
      sendPublish(c, uid('z'), 'x', { qos: 0, properties: { topicAlias: 1 } });
      await expectDisconnect(c, RC.TOPIC_ALIAS_INVALID);
    } finally {
      await stopBroker(t0);
    }
  });
});

describe('outbound topic aliases', () => {
  it('MQTT-3.1.2-26 / MQTT-3.3.2-11 first message: topic + alias; next ones: empty topic + alias; never above the client maximum', async () => {
    const base = uid('out');
    const sub = await rawConnect(tb.port, 5, { properties: { topicAliasMaximum: 2 } });
    await subscribe(sub, `${base}/+`, { qos: 0 });
    const pub = await rawConnect(tb.port, 5);
    for (const t of ['x', 'x', 'y', 'y', 'z', 'z', 'x']) await publish(pub, `${base}/${t}`, t, { qos: 0 });
    await sync(sub);
    const got = takePublishes(sub).map((p) => [p.topic, p.properties?.topicAlias, p.payload.toString()]);
    const ax = got[0][1];
    const ay = got[2][1];
    expect(new Set([ax, ay])).toEqual(new Set([1, 2]));
    expect(got).toEqual([
      [`${base}/x`, ax, 'x'],
      ['', ax, 'x'],
      [`${base}/y`, ay, 'y'],
      ['', ay, 'y'],
      // No alias left (maximum 2): z is sent in full, without an alias.
      [`${base}/z`, undefined, 'z'],
      [`${base}/z`, undefined, 'z'],
      ['', ax, 'x'],
    ]);
    sub.close();
    pub.close();
  });

  it('MQTT-3.1.2-25 / MQTT5 3.3.4 an alias whose first PUBLISH was too large to send is not used: the next one carries the topic', async () => {
    const topic = uid('alias-big');
    const sub = await rawConnect(tb.port, 5, { properties: { topicAliasMaximum: 5, maximumPacketSize: 120 } });
    await subscribe(sub, topic, { qos: 0 });
    const pub = await rawConnect(tb.port, 5);
    await publish(pub, topic, 'b'.repeat(200), { qos: 0 }); // dropped for this subscriber
    await publish(pub, topic, 'small-1', { qos: 0 });
    await publish(pub, topic, 'small-2', { qos: 0 });
    await sync(sub);
    const got = takePublishes(sub);
    expect(got.map((p) => p.payload.toString())).toEqual(['small-1', 'small-2']);
    // The client never learnt a mapping from the dropped packet: the first one it gets must name the topic.
    expect(got[0].topic).toBe(topic);
    const alias = got[0].properties?.topicAlias;
    if (alias !== undefined) expect(got[1]).toMatchObject({ topic: '', properties: { topicAlias: alias } });
    sub.close();
    pub.close();
  });

  it('MQTT-3.3.2-7 outbound aliases start afresh on a new connection of the same session', async () => {
    const topic = uid('alias-reconn');
    const clientId = uid('alias-sub');
    const fields = { clientId, clean: false, properties: { sessionExpiryInterval: 60, topicAliasMaximum: 3 } };
    const s1 = await RawClient.connected(tb.port, 5, fields);
    await subscribe(s1, topic, { qos: 1 });
    const pub = await rawConnect(tb.port, 5);
    await publish(pub, topic, 'one', { qos: 1 });
    const [p1] = await receiveAcking(s1, 1);
    expect(p1.topic).toBe(topic);
    expect(p1.properties?.topicAlias).toBeGreaterThan(0);
    s1.send({ type: 14, reasonCode: 0 });
    await s1.waitClosed();
    const s2 = await RawClient.open(tb.port, 5);
    s2.send({ type: 1, protocolName: 'MQTT', protocolVersion: 5, keepalive: 30, ...fields });
    expect(await s2.next(2)).toMatchObject({ sessionPresent: true });
    await publish(pub, topic, 'two', { qos: 1 });
    const [p2] = await receiveAcking(s2, 1);
    expect(p2.topic).toBe(topic); // full topic again: the old mapping is gone
    s2.close();
    pub.close();
  });

  it('MQTT-3.1.2-27 a client that sent no Topic Alias Maximum never gets a Topic Alias', async () => {
    const topic = uid('noalias');
    const sub = await rawConnect(tb.port, 5);
    await subscribe(sub, topic, { qos: 0 });
    const pub = await rawConnect(tb.port, 5);
    for (let i = 0; i < 3; i++) await publish(pub, topic, String(i), { qos: 0 });
    await sync(sub);
    const got = takePublishes(sub);
    expect(got).toHaveLength(3);
    for (const p of got) {
      expect(p.topic).toBe(topic);
      expect(p.properties?.topicAlias).toBeUndefined();
    }
    sub.close();
    pub.close();
  });

  it('MQTT-3.3.2-10 MQTT.js with topicAliasMaximum decodes the aliased messages to their topics', async () => {
    const base = uid('jsalias');
    const sub = await mqttJs(tb.port, { properties: { topicAliasMaximum: 10 } });
    const msgs = collector(sub);
    await sub.subscribeAsync(`${base}/#`, { qos: 1 });
    const pub = await rawConnect(tb.port, 5);
    const topics = ['a', 'b', 'a', 'c', 'b', 'a'].map((t) => `${base}/${t}`);
    for (const [i, t] of topics.entries()) await publish(pub, t, String(i), { qos: 1 });
    const got = await msgs.waitFor(topics.length);
    expect(got.map((m) => [m.topic, m.payload])).toEqual(topics.map((t, i) => [t, String(i)]));
    await sub.endAsync();
    pub.close();
  });
});
