/**
 * Retained messages (MQTT 3.1.1 3.3.1.3, MQTT5 3.3.1.3, 3.8.3.1): stored, replaced,
 * deleted by an empty payload, the RETAIN flag on delivery, Retain As Published, Retain
 * Handling 0/1/2, retained messages with a Message Expiry, and a large retained set
 * delivered through a small Receive Maximum.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProtocolVersion, PublishPacket } from '../../src/codec/mqtt/index.js';
import { encode } from '../../src/codec/mqtt/index.js';
import type { TestBroker } from '../helpers/broker.js';
import { startClockedBroker, stopBroker, type OffsetClock } from '../helpers/pubsub-broker.js';
import {
  nextPublish,
  payloads,
  publish,
  rawConnect,
  receiveAcking,
  subscribe,
  sync,
  takePublishes,
  uid,
} from '../helpers/pubsub-clients.js';

let tb: TestBroker & { clock: OffsetClock };
beforeAll(async () => {
  tb = await startClockedBroker();
});
afterAll(() => stopBroker(tb));

/** Subscribes a fresh client and returns what it got after the SUBACK (PINGREQ barrier). */
async function retainedFor(filter: string, v: ProtocolVersion = 5, qos: 0 | 1 | 2 = 1): Promise<PublishPacket[]> {
  const c = await rawConnect(tb.port, v);
  await subscribe(c, filter, { qos });
  await sync(c);
  const got = takePublishes(c);
  c.close();
  return got;
}

describe('store, replace, delete', () => {
  for (const v of [4, 5] as ProtocolVersion[]) {
    const r = v === 5 ? { store: 'MQTT-3.3.1-5', flag: 'MQTT-3.3.1-9' } : { store: 'MQTT-3.3.1-5/6', flag: 'MQTT-3.3.1-8' };
    it(`${r.store} / ${r.flag} v${v} a retained message is stored and sent to a new subscriber with RETAIN=1`, async () => {
      const topic = uid('ret');
      const pub = await rawConnect(tb.port, v);
      await publish(pub, topic, 'kept', { qos: 1, retain: true });
      const got = await retainedFor(topic, v);
      expect(got).toHaveLength(1);
      expect(got[0]).toMatchObject({ topic, retain: true, qos: 1 });
      expect(got[0].payload.toString()).toBe('kept');
      pub.close();
    });
  }

  it('MQTT-3.3.1-5 a new retained message replaces the previous one for the topic', async () => {
    const topic = uid('replace');
    const pub = await rawConnect(tb.port, 5);
    await publish(pub, topic, 'old', { qos: 1, retain: true });
    await publish(pub, topic, 'new', { qos: 0, retain: true });
    const got = await retainedFor(topic);
    expect(got.map((p) => [p.payload.toString(), p.qos, p.retain])).toEqual([['new', 0, true]]);
    pub.close();
  });

  it('MQTT-3.3.1-6/7 an empty retained payload deletes the retained message and is not stored itself; live subscribers still get it', async () => {
    const topic = uid('delete');
    const live = await rawConnect(tb.port, 5);
    await subscribe(live, topic, { qos: 1 });
    const pub = await rawConnect(tb.port, 5);
    await publish(pub, topic, 'present', { qos: 1, retain: true });
    await publish(pub, topic, '', { qos: 1, retain: true });
    const liveGot = await receiveAcking(live, 2);
    expect(payloads(liveGot)).toEqual(['present', '']);
    expect(await retainedFor(topic)).toEqual([]);
    expect(tb.broker.router.retained.has(topic)).toBe(false);
    live.close();
    pub.close();
  });

  it('MQTT-3.3.1-8 a non-retained PUBLISH neither stores, replaces nor removes the retained message', async () => {
    const topic = uid('noretain');
    const other = uid('noretain-other');
    const pub = await rawConnect(tb.port, 5);
    await publish(pub, topic, 'retained', { qos: 1, retain: true });
    await publish(pub, topic, 'not-retained', { qos: 1, retain: false });
    await publish(pub, topic, '', { qos: 1, retain: false });
    await publish(pub, other, 'plain', { qos: 1, retain: false });
    expect(payloads(await retainedFor(topic))).toEqual(['retained']);
    expect(await retainedFor(other)).toEqual([]);
    pub.close();
  });

  it('MQTT-3.8.4-8 a retained message is delivered at min(its QoS, the granted QoS)', async () => {
    const topic = uid('rq');
    const pub = await rawConnect(tb.port, 5);
    await publish(pub, topic, 'q2', { qos: 2, retain: true });
    expect((await retainedFor(topic, 5, 1))[0].qos).toBe(1);
    expect((await retainedFor(topic, 5, 2))[0].qos).toBe(2);
    expect((await retainedFor(topic, 5, 0))[0].qos).toBe(0);
    pub.close();
  });

  it('MQTT-4.7.2-1 / MQTT-3.3.1-9 a wildcard subscription gets every matching retained message, but `#` gets no `$` topics', async () => {
    const base = uid('wild');
    const pub = await rawConnect(tb.port, 5);
    await publish(pub, `${base}/a`, 'a', { qos: 1, retain: true });
    await publish(pub, `${base}/b/c`, 'bc', { qos: 1, retain: true });
    await publish(pub, `$${base}/d`, 'dollar', { qos: 1, retain: true });
    expect(payloads(await retainedFor(`${base}/#`)).sort()).toEqual(['a', 'bc']);
    expect(payloads(await retainedFor(`${base}/+`))).toEqual(['a']);
    expect(payloads(await retainedFor('#')).filter((p) => p === 'dollar')).toEqual([]);
    expect(payloads(await retainedFor(`$${base}/#`))).toEqual(['dollar']);
    pub.close();
  });
});

describe('RETAIN flag on live forwarding (Retain As Published)', () => {
  it('MQTT-3.3.1-12 v5 Retain As Published 0: live forwarding clears RETAIN', async () => {
    const topic = uid('rap0');
    const sub = await rawConnect(tb.port, 5);
    await subscribe(sub, [[topic, { qos: 1, retainAsPublished: false }]]);
    const pub = await rawConnect(tb.port, 5);
    await publish(pub, topic, 'live', { qos: 1, retain: true });
    expect(await nextPublish(sub)).toMatchObject({ topic, retain: false });
    sub.close();
    pub.close();
  });

  it('MQTT-3.3.1-9 (3.1.1) v4 live forwarding of a retained PUBLISH clears RETAIN', async () => {
    const topic = uid('v4live');
    const sub = await rawConnect(tb.port, 4);
    await subscribe(sub, topic, { qos: 1 });
    const pub = await rawConnect(tb.port, 4);
    await publish(pub, topic, 'live', { qos: 1, retain: true });
    expect(await nextPublish(sub)).toMatchObject({ topic, retain: false });
    sub.close();
    pub.close();
  });

  it('MQTT-3.3.1-13 v5 Retain As Published 1: live forwarding keeps the RETAIN flag as published', async () => {
    const topic = uid('rap1');
    const sub = await rawConnect(tb.port, 5);
    await subscribe(sub, [[topic, { qos: 1, retainAsPublished: true }]]);
    const pub = await rawConnect(tb.port, 5);
    await publish(pub, topic, 'r', { qos: 1, retain: true });
    await publish(pub, topic, 'n', { qos: 1, retain: false });
    const got = await receiveAcking(sub, 2);
    expect(got.map((p) => [p.payload.toString(), p.retain])).toEqual([
      ['r', true],
      ['n', false],
    ]);
    sub.close();
    pub.close();
  });
});

describe('Retain Handling', () => {
  it('MQTT-3.3.1-9 Retain Handling 0: retained messages are sent at every SUBSCRIBE, also when the subscription exists', async () => {
    const topic = uid('rh0');
    const pub = await rawConnect(tb.port, 5);
    await publish(pub, topic, 'r', { qos: 1, retain: true });
    const c = await rawConnect(tb.port, 5);
    await subscribe(c, [[topic, { qos: 1, retainHandling: 0 }]]);
    expect(payloads(await receiveAcking(c, 1))).toEqual(['r']);
    await subscribe(c, [[topic, { qos: 1, retainHandling: 0 }]]);
    const again = await receiveAcking(c, 1);
    expect(again[0]).toMatchObject({ retain: true });
    c.close();
    pub.close();
  });

  it('MQTT-3.3.1-10 Retain Handling 1: sent for a new subscription, not when it already existed', async () => {
    const topic = uid('rh1');
    const pub = await rawConnect(tb.port, 5);
    await publish(pub, topic, 'r', { qos: 1, retain: true });
    const c = await rawConnect(tb.port, 5);
    await subscribe(c, [[topic, { qos: 1, retainHandling: 1 }]]);
    expect(payloads(await receiveAcking(c, 1))).toEqual(['r']);
    await subscribe(c, [[topic, { qos: 1, retainHandling: 1 }]]);
    await sync(c);
    expect(takePublishes(c)).toEqual([]);
    c.close();
    pub.close();
  });

  it('MQTT-3.3.1-11 Retain Handling 2: retained messages are never sent at SUBSCRIBE', async () => {
    const topic = uid('rh2');
    const pub = await rawConnect(tb.port, 5);
    await publish(pub, topic, 'r', { qos: 1, retain: true });
    const c = await rawConnect(tb.port, 5);
    await subscribe(c, [[topic, { qos: 1, retainHandling: 2 }]]);
    await sync(c);
    expect(takePublishes(c)).toEqual([]);
    // The subscription works for live messages.
    await publish(pub, topic, 'live', { qos: 1 });
    expect(payloads(await receiveAcking(c, 1))).toEqual(['live']);
    c.close();
    pub.close();
  });

  it('MQTT-3.3.4-3 a retained message sent at SUBSCRIBE carries the Subscription Identifier', async () => {
    const topic = uid('rsid');
    const pub = await rawConnect(tb.port, 5);
    await publish(pub, topic, 'r', { qos: 1, retain: true });
    const c = await rawConnect(tb.port, 5);
    await subscribe(c, topic, { qos: 1, subscriptionId: 4711 });
    const [p] = await receiveAcking(c, 1);
    expect(p.properties?.subscriptionIdentifiers).toEqual([4711]);
    c.close();
    pub.close();
  });
});

describe('retained messages with Message Expiry', () => {
  it('MQTT-3.3.2-5 an expired retained message is not sent to new subscribers', async () => {
    const topic = uid('rexp');
    const pub = await rawConnect(tb.port, 5);
    await publish(pub, topic, 'short-lived', { qos: 1, retain: true, properties: { messageExpiryInterval: 1 } });
    expect(payloads(await retainedFor(topic))).toEqual(['short-lived']);
    tb.clock.advance(2_000);
    expect(await retainedFor(topic)).toEqual([]);
    pub.close();
  });

  it('MQTT-3.3.2-6 a retained message is sent with its remaining lifetime', async () => {
    const topic = uid('rrem');
    const pub = await rawConnect(tb.port, 5);
    await publish(pub, topic, 'r', { qos: 1, retain: true, properties: { messageExpiryInterval: 100 } });
    tb.clock.advance(40_000);
    const [p] = await retainedFor(topic);
    expect(p.properties?.messageExpiryInterval).toBeGreaterThanOrEqual(59);
    expect(p.properties?.messageExpiryInterval).toBeLessThanOrEqual(60);
    pub.close();
  });
});

describe('many retained messages', () => {
  it('MQTT-3.3.1-9 / MQTT-3.3.4-9 5,000 QoS 1 retained messages through Receive Maximum 10: never more than 10 outstanding, each once, in order', async () => {
    const base = uid('many1');
    const n = 5000;
    const pub = await rawConnect(tb.port, 5);
    const bufs: Buffer[] = [];
    for (let i = 0; i < n; i++) {
      bufs.push(encode({ type: 3, topic: `${base}/${i}`, payload: Buffer.from(String(i)), qos: 1, packetId: (i % 1000) + 1, retain: true, dup: false }, 5));
      if (bufs.length === 500) {
        // Stay under the broker's Receive Maximum (1024): send 500, collect their PUBACKs.
        pub.send(Buffer.concat(bufs.splice(0)));
        for (let k = 0; k < 500; k++) await pub.next(4, 10_000);
      }
    }
    const c = await rawConnect(tb.port, 5, { properties: { receiveMaximum: 10 } });
    await subscribe(c, `${base}/#`, { qos: 1 });
    const outstanding = new Set<number>();
    const got: string[] = [];
    let maxOutstanding = 0;
    while (got.length < n) {
      const p = await nextPublish(c, 10_000);
      expect(p.qos).toBe(1);
      expect(p.retain).toBe(true);
      outstanding.add(p.packetId!);
      maxOutstanding = Math.max(maxOutstanding, outstanding.size);
      got.push(p.payload.toString());
      // Acknowledge lazily: only when the window is full or the broker has nothing more to send.
      let ackNow = outstanding.size >= 10 || got.length === n;
      if (!ackNow && !c.packets.some((x) => x.type === 3)) {
        await sync(c);
        ackNow = !c.packets.some((x) => x.type === 3);
      }
      if (ackNow) {
        for (const id of outstanding) c.send({ type: 4, packetId: id });
        outstanding.clear();
      }
    }
    expect(maxOutstanding).toBeLessThanOrEqual(10);
    expect(got).toEqual(Array.from({ length: n }, (_, i) => String(i)));
    await sync(c);
    expect(takePublishes(c)).toEqual([]);
    c.close();
    pub.close();
  });
});
