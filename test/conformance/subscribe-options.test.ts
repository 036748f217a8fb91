/**
 * Subscriptions as state: replacement by a second SUBSCRIBE to the same filter,
 * overlapping subscriptions (one copy, highest QoS, every Subscription Identifier),
 * No Local, and UNSUBSCRIBE (reason codes, always an UNSUBACK, messages stop).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProtocolVersion } from '../../src/codec/mqtt/index.js';
import { RC } from '../../src/codec/mqtt/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { stopBroker } from '../helpers/pubsub-broker.js';
import {
  collector,
  expectDisconnect,
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
} from '../helpers/pubsub-clients.js';
import type { RawClient } from '../helpers/raw-client.js';

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

describe('replacing a subscription', () => {
  for (const v of [4, 5] as ProtocolVersion[]) {
    it(`MQTT-3.8.4-3 v${v} a second SUBSCRIBE to the same filter replaces the first (new QoS, still one copy)`, async () => {
      const topic = uid('repl');
      const clientId = uid('repl-sub');
      const c = await rawConnect(tb.port, v, { clientId });
      expect(await subscribe(c, topic, { qos: 2 })).toEqual([2]);
      expect(await subscribe(c, topic, { qos: 0 })).toEqual([0]);
      expect(tb.broker.sessions.get(clientId)!.subscriptions.size).toBe(1);
      await publish(pub, topic, 'x', { qos: 2 });
      await sync(c);
      const got = takePublishes(c);
      expect(got.map((p) => p.qos)).toEqual([0]);
      c.close();
    });
  }

  it('MQTT-3.8.4-3 v5 replacing a subscription also replaces its Subscription Identifier', async () => {
    const topic = uid('replid');
    const c = await rawConnect(tb.port, 5);
    await subscribe(c, topic, { qos: 1, subscriptionId: 5 });
    await subscribe(c, topic, { qos: 1, subscriptionId: 6 });
    await publish(pub, topic, 'x', { qos: 1 });
    const [p] = await receiveAcking(c, 1);
    expect(p.properties?.subscriptionIdentifiers).toEqual([6]);
    await subscribe(c, topic, { qos: 1 }); // no identifier now
    await publish(pub, topic, 'y', { qos: 1 });
    const [q] = await receiveAcking(c, 1);
    expect(q.properties?.subscriptionIdentifiers).toBeUndefined();
    c.close();
  });
});

describe('overlapping subscriptions', () => {
  it('MQTT-3.3.4-2/3/4 v5 one copy at the highest QoS carrying every matching Subscription Identifier', async () => {
    const b = uid('ovl');
    const c = await rawConnect(tb.port, 5);
    await subscribe(c, `${b}/+`, { qos: 1, subscriptionId: 1 });
    await subscribe(c, `${b}/#`, { qos: 2, subscriptionId: 2 });
    await subscribe(c, `${b}/x`, { qos: 0 }); // no identifier
    await subscribe(c, `+/x`, { qos: 0, subscriptionId: 3 }); // matches too
    await publish(pub, `${b}/x`, 'one', { qos: 2 });
    await sync(c);
    const got = takePublishes(c);
    expect(got).toHaveLength(1);
    expect(got[0].qos).toBe(2);
    expect([...got[0].properties!.subscriptionIdentifiers!].sort()).toEqual([1, 2, 3]);
    c.close();
  });

  it('MQTT-3.3.4-2 v5 the QoS of the copy is still capped by the published QoS', async () => {
    const b = uid('ovlq');
    const c = await rawConnect(tb.port, 5);
    await subscribe(c, [`${b}/+`, `${b}/#`], { qos: 2 });
    await publish(pub, `${b}/x`, 'q1', { qos: 1 });
    await sync(c);
    expect(takePublishes(c).map((p) => p.qos)).toEqual([1]);
    c.close();
  });

  it('MQTT-3.3.5-1 (3.1.1) v4 overlapping subscriptions: one copy at the highest granted QoS', async () => {
    const b = uid('ovl4');
    const c = await rawConnect(tb.port, 4);
    await subscribe(c, `${b}/+`, { qos: 0 });
    await subscribe(c, `${b}/#`, { qos: 1 });
    await publish(pub, `${b}/x`, 'x', { qos: 2 });
    await sync(c);
    expect(takePublishes(c).map((p) => p.qos)).toEqual([1]);
    c.close();
  });

  it('MQTT-3.3.4-3 a single matching subscription with an identifier: the PUBLISH carries exactly it', async () => {
    const topic = uid('sid');
    const c = await rawConnect(tb.port, 5);
    await subscribe(c, topic, { qos: 1, subscriptionId: 268_435_455 });
    await publish(pub, topic, 'x', { qos: 1 });
    const [p] = await receiveAcking(c, 1);
    expect(p.properties?.subscriptionIdentifiers).toEqual([268_435_455]);
    c.close();
  });
});

describe('No Local', () => {
  it('MQTT-3.8.3-3 No Local: the publisher does not get its own messages; others do', async () => {
    const topic = uid('nl');
    const me = await rawConnect(tb.port, 5);
    await subscribe(me, [[topic, { qos: 1, noLocal: true }]]);
    const other = await rawConnect(tb.port, 5);
    await subscribe(other, topic, { qos: 1 });
    await publish(me, topic, 'mine', { qos: 1 });
    await publish(pub, topic, 'theirs', { qos: 1 });
    expect(payloads(await receiveAcking(other, 2))).toEqual(['mine', 'theirs']);
    expect(payloads(await receiveAcking(me, 1))).toEqual(['theirs']);
    await sync(me);
    expect(takePublishes(me)).toEqual([]);
    me.close();
    other.close();
  });

  it('MQTT-3.8.3-3 / MQTT-3.3.4-2 a No Local subscription does not hide the message from an overlapping normal one', async () => {
    const b = uid('nlovl');
    const me = await rawConnect(tb.port, 5);
    await subscribe(me, [[`${b}/x`, { qos: 2, noLocal: true }]], { subscriptionId: 1 });
    await subscribe(me, [[`${b}/+`, { qos: 1 }]], { subscriptionId: 2 });
    await publish(me, `${b}/x`, 'own', { qos: 2 });
    const [p] = await receiveAcking(me, 1);
    expect(p.qos).toBe(1); // only the normal subscription matched
    expect(p.properties?.subscriptionIdentifiers).toEqual([2]);
    await sync(me);
    expect(takePublishes(me)).toEqual([]);
    me.close();
  });

  it('MQTT-3.8.3-3 without No Local the publisher gets its own message (MQTT.js flow)', async () => {
    const topic = uid('nonl');
    const c = await mqttJs(tb.port);
    const msgs = collector(c);
    await c.subscribeAsync(topic, { qos: 1, nl: false });
    await c.publishAsync(topic, 'echo', { qos: 1 });
    const [m] = await msgs.waitFor(1);
    expect(m.payload).toBe('echo');
    await c.endAsync();
  });

  it('MQTT-3.8.3-4 No Local on a shared subscription is a Protocol Error -> DISCONNECT 0x82', async () => {
    const c = await rawConnect(tb.port, 5);
    c.send({
      type: 8,
      packetId: 1,
      properties: {},
      subscriptions: [{ topic: `$share/g/${uid('nlshared')}`, qos: 1, noLocal: true, retainAsPublished: false, retainHandling: 0 }],
    });
    await expectDisconnect(c, RC.PROTOCOL_ERROR);
  });
});

describe('UNSUBSCRIBE', () => {
  it('MQTT5 3.11.3 / MQTT-3.10.4-6 one UNSUBACK with a code per filter: 0x00, 0x11 No subscription existed, 0x8F invalid', async () => {
    const b = uid('unsub');
    const c = await rawConnect(tb.port, 5);
    await subscribe(c, [`${b}/a`, `${b}/+`], { qos: 1 });
    const ack = await unsubscribe(c, [`${b}/a`, `${b}/never`, `${b}/#/x`, `${b}/+`, `${b}/a`]);
    expect(ack.reasonCodes).toEqual([
      RC.SUCCESS,
      RC.NO_SUBSCRIPTION_EXISTED,
      RC.TOPIC_FILTER_INVALID,
      RC.SUCCESS,
      RC.NO_SUBSCRIPTION_EXISTED,
    ]);
    c.close();
  });

  it('MQTT-3.10.4-5 v4 an UNSUBACK is sent even when nothing was subscribed', async () => {
    const c = await rawConnect(tb.port, 4);
    const ack = await unsubscribe(c, [uid('nothing')]);
    expect(ack.type).toBe(11);
    c.close();
  });

  for (const v of [4, 5] as ProtocolVersion[]) {
    it(`MQTT-3.10.4-1/2 v${v} after UNSUBSCRIBE no more messages are delivered for the filter`, async () => {
      const topic = uid('stop');
      const c = await rawConnect(tb.port, v);
      await subscribe(c, topic, { qos: 1 });
      await publish(pub, topic, 'before', { qos: 1 });
      expect(payloads(await receiveAcking(c, 1))).toEqual(['before']);
      await unsubscribe(c, [topic]);
      await publish(pub, topic, 'after', { qos: 1 });
      await sync(c);
      expect(takePublishes(c)).toEqual([]);
      c.close();
    });
  }

  it('MQTT-3.10.4-1 UNSUBSCRIBE compares filters character by character: a/+ does not remove a/b', async () => {
    const b = uid('chars');
    const c = await rawConnect(tb.port, 5);
    await subscribe(c, `${b}/x`, { qos: 1 });
    const ack = await unsubscribe(c, [`${b}/+`]);
    expect(ack.reasonCodes).toEqual([RC.NO_SUBSCRIPTION_EXISTED]);
    await publish(pub, `${b}/x`, 'still', { qos: 1 });
    expect(payloads(await receiveAcking(c, 1))).toEqual(['still']);
    c.close();
  });
});

describe('server capabilities and limits', () => {
  it('MQTT5 3.8.2.1.2 Subscription Identifiers not available: a SUBSCRIBE with one -> DISCONNECT 0xA1', async () => {
    const t = await startTestBroker({ config: { mqtt: { subscriptionIdentifierAvailable: false } } });
    try {
      const c = await rawConnect(t.port, 5);
      c.send({
        type: 8,
        packetId: 1,
        properties: { subscriptionIdentifiers: [7] },
        subscriptions: [{ topic: 'a', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
      });
      await expectDisconnect(c, RC.SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED);
    } finally {
      await stopBroker(t);
    }
  });

  it('MQTT5 3.9.3 Wildcard subscriptions not available: SUBACK 0xA2 for wildcard filters, plain filters granted', async () => {
    const t = await startTestBroker({ config: { mqtt: { wildcardSubscriptionAvailable: false } } });
    try {
      const c = await rawConnect(t.port, 5);
      expect(await subscribe(c, ['a/+', 'a/#', '#', 'a/b'], { qos: 1 })).toEqual([
        RC.WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED,
        RC.WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED,
        RC.WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED,
        1,
      ]);
      c.close();
    } finally {
      await stopBroker(t);
    }
  });

  it('holdfast mqtt.maxSubscriptionsPerSession: past the limit SUBACK 0x97 Quota exceeded; replacing an existing one still works', async () => {
    const t = await startTestBroker({ config: { mqtt: { maxSubscriptionsPerSession: 2 } } });
    try {
      const c = await rawConnect(t.port, 5);
      expect(await subscribe(c, ['q/1', 'q/2', 'q/3'], { qos: 1 })).toEqual([1, 1, RC.QUOTA_EXCEEDED]);
      expect(await subscribe(c, 'q/1', { qos: 2 })).toEqual([2]);
      const v4 = await rawConnect(t.port, 4);
      expect(await subscribe(v4, ['q/1', 'q/2', 'q/3'], { qos: 0 })).toEqual([0, 0, 0x80]);
      c.close();
      v4.close();
    } finally {
      await stopBroker(t);
    }
  });
});
