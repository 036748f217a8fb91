/**
 * The durability contract at the broker (issue 4), observed with a store whose commit
 * barrier the test holds by hand (test/helpers/store-gated.ts):
 * - PUBACK / PUBREC only after the message and its copies for persistent sessions are
 *   committed, in publish order (MQTT-4.6.0-2/3);
 * - QoS 2 to a persistent session is stored before it is forwarded;
 * - a failed commit is reported (v5: 0x80 with a Reason String; 3.1.1: the connection is
 *   closed without an acknowledgement, so the client resends), and a publication the broker
 *   refused is not delivered.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RC } from '../../src/codec/mqtt/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { StoreClient } from '../helpers/store-clients.js';
import { GatedStore } from '../helpers/store-gated.js';

let tb: TestBroker | undefined;
let store: GatedStore;
afterEach(async () => {
  store?.release();
  await tb?.stop();
  tb = undefined;
});

async function brokerWithGate(): Promise<TestBroker> {
  store = new GatedStore();
  tb = await startTestBroker({ store });
  return tb;
}

const persistent = (clientId: string) => ({ clientId, clean: false, properties: { sessionExpiryInterval: 3600 } });

async function offlineSubscriber(port: number, clientId: string, filter: string, qos: 1 | 2): Promise<void> {
  const { client } = await StoreClient.connect(port, 5, persistent(clientId));
  await client.subscribe(filter, qos);
  client.disconnect();
  await client.waitClosed();
}

describe('durability contract at the broker', () => {
  it('issue 4: the QoS 1 PUBACK waits for the commit of the persistent copy; acks leave in publish order (MQTT-4.6.0-2)', async () => {
    const { port } = await brokerWithGate();
    await offlineSubscriber(port, 'off', 'd/#', 1);
    const { client: pub } = await StoreClient.connect(port, 5, { clientId: 'pub' });
    store.hold();
    pub.sendMany([1, 2, 3].map((packetId) => ({ type: 3 as const, topic: `d/${packetId}`, payload: Buffer.from('x'), qos: 1 as const, retain: false, dup: false, packetId })));
    await pub.ping(); // answered at once: the PUBACKs are held back, not lost
    expect(pub.acks.size).toBe(0);
    expect(store.pendingBarriers).toBeGreaterThan(0);
    store.release();
    await pub.waitUntil(() => pub.acks.size === 3, 5000, '3 PUBACKs');
    expect(pub.order.filter((p) => p.type === 4).map((p) => p.packetId)).toEqual([1, 2, 3]);
    expect([...pub.acks.values()].map((a) => a.reasonCode ?? 0)).toEqual([0, 0, 0]);
  });

  it('issue 4: QoS 2 to a persistent session is stored before it is forwarded; the PUBREC also waits for the commit', async () => {
    const { port } = await brokerWithGate();
    const { client: sub } = await StoreClient.connect(port, 5, persistent('online2'));
    await sub.subscribe('q2/#', 2);
    const { client: pub } = await StoreClient.connect(port, 5, { clientId: 'pub2' }, { autoAck: false });
    store.hold();
    pub.send({ type: 3, topic: 'q2/a', payload: Buffer.from('once'), qos: 2, retain: false, dup: false, packetId: 5 });
    await pub.ping();
    await sub.ping();
    expect(pub.acks.size).toBe(0);
    expect(sub.publishCount).toBe(0);
    store.release();
    await sub.waitUntil(() => sub.publishCount === 1, 5000, 'the QoS 2 delivery');
    await pub.waitUntil(() => pub.acks.has(5), 5000, 'PUBREC');
    expect(pub.acks.get(5)!).toMatchObject({ type: 5 });
    expect(pub.acks.get(5)!.reasonCode ?? 0).toBe(0);
  });

  it('MQTT5 3.4.2.1 a failed commit: the v5 publisher gets PUBACK 0x80 with a Reason String', async () => {
    const { port } = await brokerWithGate();
    await offlineSubscriber(port, 'off1', 'f/#', 1);
    const { client: pub } = await StoreClient.connect(port, 5, { clientId: 'pubf' });
    store.hold();
    pub.send({ type: 3, topic: 'f/1', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, packetId: 7 });
    await pub.ping();
    store.fail();
    await pub.waitUntil(() => pub.acks.has(7), 5000, 'PUBACK');
    expect(pub.acks.get(7)!.reasonCode).toBe(RC.UNSPECIFIED_ERROR);
    expect(pub.acks.get(7)!.properties?.reasonString).toBeTruthy();
  });

  it('MQTT-4.8.0-1 a failed commit for a 3.1.1 publisher: no PUBACK, the connection is closed (the client will resend)', async () => {
    const { port } = await brokerWithGate();
    await offlineSubscriber(port, 'off311', 'g/#', 1);
    const { client: pub } = await StoreClient.connect(port, 4, { clientId: 'pub311' });
    store.hold();
    pub.send({ type: 3, topic: 'g/1', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, packetId: 8 });
    await pub.ping();
    store.fail();
    await pub.waitClosed();
    expect(pub.acks.size).toBe(0);
  });

  it('MQTT5 3.5.2.1 a QoS 2 publication refused with PUBREC 0x80 (failed commit) is not delivered; its resend is delivered exactly once', async () => {
    const { port } = await brokerWithGate();
    const { client: sub } = await StoreClient.connect(port, 5, persistent('online3'));
    await sub.subscribe('r2/#', 2);
    const { client: pub } = await StoreClient.connect(port, 5, { clientId: 'pub3' }, { autoAck: false });
    store.hold();
    pub.send({ type: 3, topic: 'r2/a', payload: Buffer.from('exactly once'), qos: 2, retain: false, dup: false, packetId: 9 });
    await pub.ping();
    store.fail();
    await pub.waitUntil(() => pub.acks.has(9), 5000, 'PUBREC');
    expect(pub.acks.get(9)!.reasonCode).toBe(RC.UNSPECIFIED_ERROR);
    // The exchange ended with an error (MQTT5 4.3.3): the packet id is free; the publisher tries again.
    const ack = await pub.publishAcked({ topic: 'r2/a', payload: Buffer.from('exactly once'), qos: 2, retain: false, packetId: 9 });
    expect(ack.reasonCode ?? 0).toBe(0);
    pub.send({ type: 6, packetId: 9 });
    await pub.nextOther(7);
    await sub.waitUntil(() => sub.publishCount >= 1, 5000, 'the delivery');
    await sub.ping();
    expect(sub.publishes.map((p) => p.topic)).toEqual(['r2/a']);
  });
});
