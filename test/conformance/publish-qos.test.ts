/**
 * PUBLISH at QoS 0/1/2 in both directions, the QoS 2 exchange (PUBREC / PUBREL / PUBCOMP)
 * inbound and outbound, duplicate detection, exactly-once across a reconnect, ack order and
 * message order. Raw bytes (RawClient) so that every packet can be checked exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AckPacket, ProtocolVersion, PublishPacket } from '../../src/codec/mqtt/index.js';
import { RC, encode } from '../../src/codec/mqtt/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { stopBroker } from '../helpers/pubsub-broker.js';
import {
  nextPublish,
  publish,
  rawConnect,
  receiveAcking,
  sendPublish,
  subscribe,
  sync,
  takePublishes,
  uid,
  payloads,
  waitUntil,
} from '../helpers/pubsub-clients.js';
import { RawClient } from '../helpers/raw-client.js';

let tb: TestBroker;
beforeAll(async () => {
  tb = await startTestBroker();
});
afterAll(() => stopBroker(tb));

const VERSIONS: ProtocolVersion[] = [4, 5];

describe('QoS 0/1/2 in both directions', () => {
  for (const v of VERSIONS) {
    it(`MQTT-3.3.4-1 / MQTT-4.3.1 v${v} QoS 0: no acknowledgement, delivered as QoS 0 without a packet id`, async () => {
      const topic = uid('q0');
      const sub = await rawConnect(tb.port, v);
      expect(await subscribe(sub, topic, { qos: 2 })).toEqual([2]);
      const pub = await rawConnect(tb.port, v);
      await publish(pub, topic, 'zero', { qos: 0 });
      const p = await nextPublish(sub);
      expect(p).toMatchObject({ topic, qos: 0, dup: false, retain: false });
      expect(p.packetId).toBeUndefined();
      expect(p.payload.toString()).toBe('zero');
      // The publisher got nothing back for a QoS 0 PUBLISH (the PINGRESP of publish() was the only packet).
      await sync(pub);
      expect(pub.packets).toEqual([]);
      sub.close();
      pub.close();
    });

    it(`MQTT-4.3.2 v${v} QoS 1: PUBACK with the packet id; delivered as QoS 1 with a packet id, completed by PUBACK`, async () => {
      const topic = uid('q1');
      const clientId = uid('q1sub');
      const sub = await rawConnect(tb.port, v, { clientId });
      await subscribe(sub, topic, { qos: 1 });
      const pub = await rawConnect(tb.port, v);
      const ack = await publish(pub, topic, 'one', { qos: 1, packetId: 4242 });
      expect(ack).toMatchObject({ type: 4, packetId: 4242 });
      expect(ack!.reasonCode ?? 0).toBe(0);
      const p = await nextPublish(sub);
      expect(p).toMatchObject({ topic, qos: 1, dup: false });
      expect(p.packetId).toBeGreaterThan(0);
      sub.send({ type: 4, packetId: p.packetId! });
      await sync(sub);
      expect(tb.broker.sessions.get(clientId)!.inflight.size).toBe(0);
      sub.close();
      pub.close();
    });

    it(`MQTT-4.3.3 v${v} QoS 2 inbound: PUBREC, then PUBREL -> PUBCOMP with the same packet id`, async () => {
      const topic = uid('q2in');
      const sub = await rawConnect(tb.port, v);
      await subscribe(sub, topic, { qos: 2 });
      const pub = await rawConnect(tb.port, v);
      sendPublish(pub, topic, 'two', { qos: 2, packetId: 17 });
      const rec = (await pub.next(5)) as AckPacket;
      expect(rec).toMatchObject({ type: 5, packetId: 17 });
      expect(rec.reasonCode ?? 0).toBe(0);
      pub.send({ type: 6, packetId: 17 });
      const comp = (await pub.next(7)) as AckPacket;
      expect(comp).toMatchObject({ type: 7, packetId: 17 });
      expect(comp.reasonCode ?? 0).toBe(0);
      const p = await nextPublish(sub);
      expect(p).toMatchObject({ topic, qos: 2 });
      expect(p.payload.toString()).toBe('two');
      sub.close();
      pub.close();
    });

    it(`MQTT-4.3.3 v${v} QoS 2 outbound: PUBLISH, client PUBREC -> PUBREL, client PUBCOMP completes it`, async () => {
      const topic = uid('q2out');
      const clientId = uid('q2sub');
      const sub = await rawConnect(tb.port, v, { clientId });
      await subscribe(sub, topic, { qos: 2 });
      const pub = await rawConnect(tb.port, v);
      await publish(pub, topic, 'x', { qos: 2 });
      const p = await nextPublish(sub);
      expect(p.qos).toBe(2);
      sub.send({ type: 5, packetId: p.packetId! });
      const rel = (await sub.next(6)) as AckPacket;
      expect(rel).toMatchObject({ type: 6, packetId: p.packetId });
      expect(rel.reasonCode ?? 0).toBe(0);
      expect(tb.broker.sessions.get(clientId)!.inflight.size).toBe(1); // waiting for PUBCOMP
      sub.send({ type: 7, packetId: p.packetId! });
      await sync(sub);
      expect(tb.broker.sessions.get(clientId)!.inflight.size).toBe(0);
      expect(takePublishes(sub)).toEqual([]); // delivered exactly once
      sub.close();
      pub.close();
    });
  }
});

describe('DUP flag', () => {
  it('MQTT-3.3.1-3 the DUP flag of a forwarded PUBLISH is set independently of the incoming one', async () => {
    const topic = uid('dupfwd');
    const sub = await rawConnect(tb.port, 5);
    await subscribe(sub, topic, { qos: 1 });
    const pub = await rawConnect(tb.port, 5);
    await publish(pub, topic, 'first-try-with-dup', { qos: 1, dup: true });
    const p = await nextPublish(sub);
    expect(p).toMatchObject({ qos: 1, dup: false });
    sub.close();
    pub.close();
  });
});

describe('QoS 2 duplicate detection', () => {
  for (const v of VERSIONS) {
    const rule = v === 5 ? 'MQTT-4.3.3-10' : 'MQTT-4.3.3-2';
    it(`${rule} v${v} a QoS 2 PUBLISH resent with DUP before PUBREL gets PUBREC again and is not delivered twice`, async () => {
      const topic = uid('dup');
      const sub = await rawConnect(tb.port, v);
      await subscribe(sub, topic, { qos: 2 });
      const pub = await rawConnect(tb.port, v);
      sendPublish(pub, topic, 'once', { qos: 2, packetId: 9 });
      expect(await pub.next(5)).toMatchObject({ type: 5, packetId: 9 });
      sendPublish(pub, topic, 'once', { qos: 2, packetId: 9, dup: true });
      expect(await pub.next(5)).toMatchObject({ type: 5, packetId: 9 });
      sendPublish(pub, topic, 'once', { qos: 2, packetId: 9, dup: true });
      expect(await pub.next(5)).toMatchObject({ type: 5, packetId: 9 });
      pub.send({ type: 6, packetId: 9 });
      expect(await pub.next(7)).toMatchObject({ type: 7, packetId: 9 });
      const first = await nextPublish(sub);
      await receiveAckingQos2(sub, first);
      await sync(sub);
      expect(takePublishes(sub)).toEqual([]);
      sub.close();
      pub.close();
    });
  }

  it('MQTT-4.3.3-12 after PUBCOMP the same packet id starts a new Application Message', async () => {
    const topic = uid('reuse');
    const sub = await rawConnect(tb.port, 5);
    await subscribe(sub, topic, { qos: 1 });
    const pub = await rawConnect(tb.port, 5);
    await publish(pub, topic, 'first', { qos: 2, packetId: 33 });
    await publish(pub, topic, 'second', { qos: 2, packetId: 33 });
    const got = await receiveAcking(sub, 2);
    expect(payloads(got)).toEqual(['first', 'second']);
    sub.close();
    pub.close();
  });
});

async function receiveAckingQos2(c: RawClient, p: PublishPacket): Promise<void> {
  c.send({ type: 5, packetId: p.packetId! });
  await c.next(6);
  c.send({ type: 7, packetId: p.packetId! });
}

describe('QoS 2 exactly once across a reconnect (persistent session)', () => {
  for (const v of VERSIONS) {
    const persist = v === 5 ? { clean: false, properties: { sessionExpiryInterval: 60 } } : { clean: false };
    it(`MQTT-4.4.0-1 / MQTT-4.3.3-10 v${v} PUBLISH resent with DUP after a reconnect is acknowledged and not delivered twice`, async () => {
      const topic = uid('xo');
      const clientId = uid('xopub');
      const sub = await rawConnect(tb.port, v);
      await subscribe(sub, topic, { qos: 2 });
      const pub1 = await RawClient.connected(tb.port, v, { clientId, ...persist });
      sendPublish(pub1, topic, 'exactly-once', { qos: 2, packetId: 77 });
      expect(await pub1.next(5)).toMatchObject({ type: 5, packetId: 77 });
      pub1.close(); // connection lost before PUBREL
      await waitOffline(clientId);
      const pub2 = await RawClient.open(tb.port, v);
      pub2.send({ type: 1, protocolName: 'MQTT', protocolVersion: v, keepalive: 60, clientId, ...persist });
      expect(await pub2.next(2)).toMatchObject({ type: 2, sessionPresent: true, reasonCode: 0 });
      sendPublish(pub2, topic, 'exactly-once', { qos: 2, packetId: 77, dup: true });
      expect(await pub2.next(5)).toMatchObject({ type: 5, packetId: 77 });
      pub2.send({ type: 6, packetId: 77 });
      const comp = (await pub2.next(7)) as AckPacket;
      expect(comp.packetId).toBe(77);
      expect(comp.reasonCode ?? 0).toBe(0);
      const p = await nextPublish(sub);
      await receiveAckingQos2(sub, p);
      await sync(sub);
      expect([p, ...takePublishes(sub)].map((x) => x.payload.toString())).toEqual(['exactly-once']);
      pub2.close();
      sub.close();
    });

    it(`MQTT-4.4.0-1 / MQTT-4.3.3-11 v${v} PUBREL resent after a reconnect gets PUBCOMP 0x00; the message was delivered once`, async () => {
      const topic = uid('xr');
      const clientId = uid('xrpub');
      const sub = await rawConnect(tb.port, v);
      await subscribe(sub, topic, { qos: 2 });
      const pub1 = await RawClient.connected(tb.port, v, { clientId, ...persist });
      sendPublish(pub1, topic, 'm', { qos: 2, packetId: 5 });
      expect(await pub1.next(5)).toMatchObject({ type: 5, packetId: 5 });
      pub1.close();
      await waitOffline(clientId);
      const pub2 = await RawClient.open(tb.port, v);
      pub2.send({ type: 1, protocolName: 'MQTT', protocolVersion: v, keepalive: 60, clientId, ...persist });
      expect(await pub2.next(2)).toMatchObject({ sessionPresent: true });
      pub2.send({ type: 6, packetId: 5 });
      const comp = (await pub2.next(7)) as AckPacket;
      expect(comp.packetId).toBe(5);
      expect(comp.reasonCode ?? 0).toBe(0);
      const p = await nextPublish(sub);
      await receiveAckingQos2(sub, p);
      await sync(sub);
      expect(takePublishes(sub)).toEqual([]);
      pub2.close();
      sub.close();
    });
  }

  it('MQTT-4.4.0-1 v5 outbound QoS 2: after PUBREC and a reconnect the broker resends PUBREL, not the PUBLISH', async () => {
    const topic = uid('or');
    const clientId = uid('orsub');
    const persist = { clean: false, properties: { sessionExpiryInterval: 60 } };
    const sub1 = await RawClient.connected(tb.port, 5, { clientId, ...persist });
    await subscribe(sub1, topic, { qos: 2 });
    const pub = await rawConnect(tb.port, 5);
    await publish(pub, topic, 'p', { qos: 2 });
    const p = await nextPublish(sub1);
    sub1.send({ type: 5, packetId: p.packetId! });
    expect(await sub1.next(6)).toMatchObject({ packetId: p.packetId });
    sub1.close();
    await waitOffline(clientId);
    const sub2 = await RawClient.open(tb.port, 5);
    sub2.send({ type: 1, protocolName: 'MQTT', protocolVersion: 5, keepalive: 60, clientId, ...persist });
    expect(await sub2.next(2)).toMatchObject({ sessionPresent: true });
    expect(await sub2.next(6)).toMatchObject({ type: 6, packetId: p.packetId });
    sub2.send({ type: 7, packetId: p.packetId! });
    await sync(sub2);
    expect(takePublishes(sub2)).toEqual([]);
    expect(tb.broker.sessions.get(clientId)!.inflight.size).toBe(0);
    sub2.close();
    pub.close();
  });

  it('MQTT-4.4.0-1 v5 outbound QoS 1 unacknowledged before a reconnect is resent with DUP=1 and the same packet id', async () => {
    const topic = uid('o1');
    const clientId = uid('o1sub');
    const persist = { clean: false, properties: { sessionExpiryInterval: 60 } };
    const sub1 = await RawClient.connected(tb.port, 5, { clientId, ...persist });
    await subscribe(sub1, topic, { qos: 1 });
    const pub = await rawConnect(tb.port, 5);
    await publish(pub, topic, 'again', { qos: 1 });
    const first = await nextPublish(sub1);
    expect(first.dup).toBe(false);
    sub1.close();
    await waitOffline(clientId);
    const sub2 = await RawClient.open(tb.port, 5);
    sub2.send({ type: 1, protocolName: 'MQTT', protocolVersion: 5, keepalive: 60, clientId, ...persist });
    expect(await sub2.next(2)).toMatchObject({ sessionPresent: true });
    const again = await nextPublish(sub2);
    expect(again).toMatchObject({ dup: true, packetId: first.packetId, qos: 1, topic });
    expect(again.payload.toString()).toBe('again');
    sub2.close();
    pub.close();
  });
});

function waitOffline(clientId: string): Promise<void> {
  return waitUntil(() => tb.broker.sessions.get(clientId)?.online !== true, `session ${clientId} offline`);
}

describe('unknown packet identifiers (MQTT 5)', () => {
  it('MQTT5 3.7.2.1 PUBREL for an unknown packet id -> PUBCOMP 0x92 Packet Identifier not found', async () => {
    const c = await rawConnect(tb.port, 5);
    c.send({ type: 6, packetId: 999 });
    const comp = (await c.next(7)) as AckPacket;
    expect(comp).toMatchObject({ type: 7, packetId: 999, reasonCode: RC.PACKET_IDENTIFIER_NOT_FOUND });
    c.close();
  });

  it('MQTT-4.3.3-11 v4 PUBREL for an unknown packet id -> PUBCOMP (3.1.1 has no reason code)', async () => {
    const c = await rawConnect(tb.port, 4);
    c.send({ type: 6, packetId: 998 });
    const comp = (await c.next(7)) as AckPacket;
    expect(comp.packetId).toBe(998);
    expect(comp.reasonCode ?? 0).toBe(0);
    c.close();
  });

  it('MQTT5 3.6.2.1 PUBREC for an unknown packet id -> PUBREL 0x92 Packet Identifier not found', async () => {
    const c = await rawConnect(tb.port, 5);
    c.send({ type: 5, packetId: 555 });
    const rel = (await c.next(6)) as AckPacket;
    expect(rel).toMatchObject({ type: 6, packetId: 555, reasonCode: RC.PACKET_IDENTIFIER_NOT_FOUND });
    c.close();
  });
});

describe('ordering', () => {
  for (const v of VERSIONS) {
    it(`MQTT-4.6.0-2/3 v${v} acknowledgements leave in the order the PUBLISH packets arrived (QoS 1 and 2 interleaved)`, async () => {
      const topic = uid('ackorder');
      const sub = await rawConnect(tb.port, v);
      await subscribe(sub, topic, { qos: 0 });
      const pub = await rawConnect(tb.port, v);
      const sent: [number, number][] = [];
      const bufs: Buffer[] = [];
      for (let i = 0; i < 40; i++) {
        const qos = i % 3 === 0 ? 2 : 1;
        const packetId = 100 + i;
        sent.push([qos === 1 ? 4 : 5, packetId]);
        bufs.push(encodePublish(v, topic, `m${i}`, qos, packetId));
      }
      pub.send(Buffer.concat(bufs)); // one write: the broker sees them back to back
      const acks: [number, number][] = [];
      while (acks.length < sent.length) {
        const a = (await pub.next(undefined)) as AckPacket;
        acks.push([a.type, a.packetId]);
      }
      expect(acks).toEqual(sent);
      sub.close();
      pub.close();
    });

    it(`MQTT-4.6.0-6 v${v} messages from one publisher reach a subscriber in publish order (QoS 1, 300 messages)`, async () => {
      const topic = uid('order');
      const sub = await rawConnect(tb.port, v, v === 5 ? { properties: { receiveMaximum: 7 } } : {});
      await subscribe(sub, topic, { qos: 1 });
      const pub = await rawConnect(tb.port, v);
      const bufs: Buffer[] = [];
      for (let i = 0; i < 300; i++) bufs.push(encodePublish(v, topic, String(i), 1, i + 1));
      pub.send(Buffer.concat(bufs));
      const got = await receiveAcking(sub, 300);
      expect(payloads(got)).toEqual(Array.from({ length: 300 }, (_, i) => String(i)));
      sub.close();
      pub.close();
    });
  }

  it('MQTT-4.6.0-6 QoS 0 messages from one publisher keep their order too', async () => {
    const topic = uid('order0');
    const sub = await rawConnect(tb.port, 5);
    await subscribe(sub, topic, { qos: 0 });
    const pub = await rawConnect(tb.port, 5);
    const bufs: Buffer[] = [];
    for (let i = 0; i < 200; i++) bufs.push(encodePublish(5, topic, String(i), 0, 0));
    pub.send(Buffer.concat(bufs));
    await sync(pub);
    await sync(sub);
    expect(payloads(takePublishes(sub))).toEqual(Array.from({ length: 200 }, (_, i) => String(i)));
    sub.close();
    pub.close();
  });
});

function encodePublish(v: ProtocolVersion, topic: string, payload: string, qos: 0 | 1 | 2, packetId: number): Buffer {
  return encode(
    { type: 3, topic, payload: Buffer.from(payload), qos, retain: false, dup: false, packetId: qos > 0 ? packetId : undefined },
    v,
  );
}
