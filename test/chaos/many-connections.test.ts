/**
 * Many connections: 2,000 clients (half 3.1.1, half 5.0) connect, subscribe, each receive
 * one QoS 1 broadcast, acknowledge it and disconnect normally. Afterwards the broker holds
 * nothing: broker.connections and broker.sessions (clean sessions, MQTT-3.1.2-6 / MQTT5
 * 3.1.2.4 with Session Expiry 0) are back to 0.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PublishPacket } from '../../src/codec/mqtt/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { pool, waitUntil } from '../helpers/transport-wait.js';

const CLIENTS = 2_000;
const CONCURRENCY = 100;

let tb: TestBroker;
beforeAll(async () => {
  tb = await startTestBroker();
});
afterAll(async () => {
  await tb.stop();
});

describe('chaos: many connections', () => {
  it(`MQTT-3.1.2-6 MQTT-3.14.4-1 ${CLIENTS} clients connect, subscribe, get one broadcast each, disconnect; nothing stays behind`, async () => {
    const broker = tb.broker;
    expect(broker.connections.size).toBe(0);
    expect(broker.sessions.size).toBe(0);
    const deliveredBefore = broker.stats.messagesDelivered;

    const clients = await pool(CLIENTS, CONCURRENCY, async (i) => {
      const version = i % 2 === 0 ? 4 : 5;
      const c = await RawClient.connected(tb.port, version, { clientId: `many-${i}`, keepalive: 120 });
      c.send({
        type: 8,
        packetId: 1,
        subscriptions: [{ topic: 'bcast/+', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
        properties: version === 5 ? {} : undefined,
      });
      const suback = await c.next(9, 10_000);
      expect(suback).toMatchObject({ packetId: 1, reasonCodes: [1] });
      return c;
    });
    expect(broker.connections.size).toBe(CLIENTS);
    expect(broker.sessions.size).toBe(CLIENTS);

    const pub = await RawClient.connected(tb.port, 5, { clientId: 'many-publisher' });
    pub.send({ type: 3, topic: 'bcast/all', payload: Buffer.from('to everyone'), qos: 1, retain: false, dup: false, packetId: 7, properties: {} });
    expect(await pub.next(4)).toMatchObject({ packetId: 7, reasonCode: 0 });

    await pool(CLIENTS, CONCURRENCY, async (i) => {
      const c = clients[i];
      const p = (await c.next(3, 15_000)) as PublishPacket;
      expect(p.topic).toBe('bcast/all');
      expect(p.payload.toString()).toBe('to everyone');
      expect(p.qos).toBe(1);
      c.send({ type: 4, packetId: p.packetId!, reasonCode: 0, properties: c.version === 5 ? {} : undefined });
      // A PINGREQ after the PUBACK: its PINGRESP proves the PUBACK was processed, and nothing else came.
      c.send({ type: 12 });
      expect((await c.next(undefined, 10_000)).type).toBe(13);
      c.send({ type: 14, reasonCode: 0, properties: c.version === 5 ? {} : undefined });
      await c.waitClosed(10_000); // MQTT-3.14.4-1: the server closes after DISCONNECT
    });
    expect(broker.stats.messagesDelivered - deliveredBefore).toBe(CLIENTS);

    pub.send({ type: 14, reasonCode: 0, properties: {} });
    await pub.waitClosed();
    await waitUntil(() => broker.connections.size === 0, 10_000, 'broker.connections to drain to 0', () => broker.connections.size);
    await waitUntil(() => broker.sessions.size === 0, 10_000, 'broker.sessions to drain to 0', () => broker.sessions.size);
  }, 60_000);
});
