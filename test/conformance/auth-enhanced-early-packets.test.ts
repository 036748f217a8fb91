/**
 * Packets other than AUTH / DISCONNECT sent while MQTT 5 enhanced authentication is still
 * running (MQTT-3.1.2-30 forbids them). Until the CONNACK the client is not authenticated:
 * nothing it sends may be routed or answered (MQTT-3.2.0-1), and the server must survive it.
 * The broker reports such errors before CONNACK in a CONNACK (MQTT5 4.13.1): 0x82.
 */
import { describe, expect, it } from 'vitest';
import { RC, type Packet } from '../../src/codec/mqtt/index.js';
import type { Hooks } from '../../src/broker/hooks.js';
import type { RawClient } from '../helpers/raw-client.js';
import type { TestBroker } from '../helpers/broker.js';
import { connectPacket, expectConnack, expectNothing, nextPacket, subscribe, useHarness } from '../helpers/connect-harness.js';

const h = useHarness();

/** Step 0 asks for more; the client then never completes the exchange. */
const twoStep: Hooks = { enhancedAuth: async (s) => (s.step === 0 ? { status: 'continue' } : { status: 'success' }) };

async function midAuth(tb: TestBroker): Promise<RawClient> {
  const c = await h.open(tb.port, 5);
  c.send(connectPacket(5, { properties: { authenticationMethod: 'TWO-STEP' } }));
  expect((await nextPacket(c, 15)).type).toBe(15);
  return c;
}

describe('packets before the CONNACK of an enhanced authentication (MQTT-3.1.2-30)', () => {
  it('MQTT-3.1.2-30 a QoS 0 PUBLISH sent mid-authentication is not routed; the connection is refused with CONNACK 0x82', async () => {
    const tb = await h.broker({ hooks: twoStep });
    const plain = await h.connected(tb.port, 5);
    await subscribe(plain, 'early/#', 0);
    const c = await midAuth(tb);
    c.send({ type: 3, topic: 'early/pub', payload: Buffer.from('unauthenticated'), qos: 0, retain: false, dup: false });
    const p = await nextPacket(c, undefined, 2000);
    expectConnack(p, RC.PROTOCOL_ERROR);
    await c.waitClosed();
    await expectNothing(plain);
    expect(tb.broker.stats.messagesPublished).toBe(0);
  });

  it('MQTT-3.2.0-1 a PINGREQ sent mid-authentication gets no PINGRESP before a CONNACK', async () => {
    const tb = await h.broker({ hooks: twoStep });
    const c = await midAuth(tb);
    c.send({ type: 12 });
    const p: Packet = await nextPacket(c, undefined, 2000);
    expect(p.type, `first packet after the AUTH challenge: ${JSON.stringify(p)}`).toBe(2);
    expectConnack(p, RC.PROTOCOL_ERROR);
    await c.waitClosed();
  });

  it('MQTT-3.1.2-30 a SUBSCRIBE sent mid-authentication is refused with CONNACK 0x82 and the broker keeps serving others', async () => {
    const tb = await h.broker({ hooks: twoStep });
    const c = await midAuth(tb);
    c.send({ type: 8, packetId: 1, subscriptions: [{ topic: 'early/sub', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    expectConnack(await nextPacket(c, undefined, 2000), RC.PROTOCOL_ERROR);
    await c.waitClosed();
    const other = await h.connected(tb.port, 5);
    await expectNothing(other);
  });

  it('MQTT-3.1.2-30 a QoS 1 PUBLISH sent mid-authentication is refused with CONNACK 0x82 and the broker keeps serving others', async () => {
    const tb = await h.broker({ hooks: twoStep });
    const c = await midAuth(tb);
    c.send({ type: 3, topic: 'early/q1', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, packetId: 1 });
    expectConnack(await nextPacket(c, undefined, 2000), RC.PROTOCOL_ERROR);
    await c.waitClosed();
    const other = await h.connected(tb.port, 5);
    await expectNothing(other);
  });
});
