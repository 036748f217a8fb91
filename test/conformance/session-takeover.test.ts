/**
 * Session takeover (MQTT5 3.1.4 step 3, MQTT-3.1.4-3; MQTT 3.1.1 MQTT-3.1.4-2): a second
 * connection with the same client id replaces the first; with Clean Start 0 the session,
 * everything queued and everything unacknowledged in it, moves to the new connection.
 */
import { describe, expect, it } from 'vitest';
import type { IDisconnectPacket } from 'mqtt';
import { RC, type PublishPacket } from '../../src/codec/mqtt/index.js';
import {
  ack,
  expectConnack,
  expectDisconnectThenClose,
  expectNothing,
  nextPacket,
  nextPublish,
  publish,
  subscribe,
  uid,
  useHarness,
} from '../helpers/connect-harness.js';

const h = useHarness();
const KEEP = { sessionExpiryInterval: 300 };

describe('the old connection', () => {
  it('MQTT-3.1.4-3 v5: the existing connection gets DISCONNECT 0x8E (Session taken over) with a Reason String, then close', async () => {
    const tb = await h.broker();
    const id = uid();
    const a = await h.connected(tb.port, 5, { clientId: id });
    const b = await h.connect(tb.port, 5, { clientId: id });
    expectConnack(b.ack, 0);
    await expectDisconnectThenClose(a, RC.SESSION_TAKEN_OVER);
    await expectNothing(b.c);
    expect(tb.broker.stats.takeovers).toBe(1);
    expect(tb.broker.stats.connectionsClosed.get('taken-over')).toBe(1);
  });

  it('MQTT-3.1.4-2 3.1.1: the existing connection is closed without a packet and the new one is accepted', async () => {
    const tb = await h.broker();
    const id = uid();
    const a = await h.connected(tb.port, 4, { clientId: id });
    const b = await h.connect(tb.port, 4, { clientId: id });
    expectConnack(b.ack, 0);
    await a.waitClosed();
    expect(a.packets).toEqual([]);
    await expectNothing(b.c);
  });

  it('MQTT-3.1.4-3 a 5.0 client takes over from a 3.1.1 connection with the same id (and vice versa)', async () => {
    const tb = await h.broker();
    const id = uid();
    const v4 = await h.connected(tb.port, 4, { clientId: id });
    const v5 = await h.connected(tb.port, 5, { clientId: id });
    await v4.waitClosed();
    const again = await h.connected(tb.port, 4, { clientId: id });
    await expectDisconnectThenClose(v5, RC.SESSION_TAKEN_OVER);
    await expectNothing(again);
  });

  it('MQTT-3.1.4-2 a CONNECT refused by authentication does not take over the existing connection', async () => {
    const tb = await h.broker({
      hooks: { authenticate: async (req) => (req.password?.toString() === 'good' ? { ok: true } : { ok: false, reasonCode: RC.NOT_AUTHORIZED }) },
    });
    const id = uid();
    const a = await h.connected(tb.port, 5, { clientId: id, username: 'u', password: Buffer.from('good') });
    const intruder = await h.connect(tb.port, 5, { clientId: id, username: 'u', password: Buffer.from('bad') });
    expectConnack(intruder.ack, RC.NOT_AUTHORIZED);
    await intruder.c.waitClosed();
    await expectNothing(a, 14);
    expect(a.closed).toBe(false);
    expect(tb.broker.stats.takeovers).toBe(0);
  });

  it('MQTT-3.1.4-3 MQTT.js v5: the taken-over client sees a disconnect with reason 0x8E', async () => {
    const tb = await h.broker();
    const clientId = uid('js');
    const a = await h.mqtt(tb.port, { protocolVersion: 5, clientId });
    const disconnected = new Promise<IDisconnectPacket>((resolve) => a.once('disconnect', resolve));
    const b = await h.mqtt(tb.port, { protocolVersion: 5, clientId });
    const packet = await disconnected;
    expect(packet.reasonCode).toBe(RC.SESSION_TAKEN_OVER);
    expect(typeof packet.properties?.reasonString).toBe('string');
    expect(b.connected).toBe(true);
  });
});

describe('the session moves to the new connection', () => {
  it('MQTT-3.1.2-5 v5 takeover with Clean Start 0: Session Present 1 and the subscriptions keep routing', async () => {
    const tb = await h.broker();
    const id = uid();
    const a = await h.connected(tb.port, 5, { clientId: id, clean: false, properties: KEEP });
    await subscribe(a, 'to/t', 1);
    const b = await h.connect(tb.port, 5, { clientId: id, clean: false, properties: KEEP });
    expectConnack(b.ack, 0, true);
    await expectDisconnectThenClose(a, RC.SESSION_TAKEN_OVER);
    const pub = await h.connected(tb.port, 5);
    await publish(pub, 'to/t', 'to-b', 1, 1);
    expect((await nextPublish(b.c)).payload.toString()).toBe('to-b');
  });

  it('MQTT-3.1.2-4 v5 takeover with Clean Start 1: Session Present 0 and the old subscriptions are gone', async () => {
    const tb = await h.broker();
    const id = uid();
    const a = await h.connected(tb.port, 5, { clientId: id, clean: false, properties: KEEP });
    await subscribe(a, 'to/clean', 1);
    const b = await h.connect(tb.port, 5, { clientId: id, clean: true, properties: KEEP });
    expectConnack(b.ack, 0, false);
    await expectDisconnectThenClose(a, RC.SESSION_TAKEN_OVER);
    const pub = await h.connected(tb.port, 5);
    await publish(pub, 'to/clean', 'nobody', 1, 1);
    await expectNothing(b.c);
  });

  it('MQTT-4.4.0-1 nothing is lost in the move: the inflight message is resent with DUP 1, then every queued one, in order', async () => {
    const tb = await h.broker();
    const id = uid();
    // A allows one unacknowledged message at a time and never acknowledges: the rest queues.
    const a = await h.connected(tb.port, 5, { clientId: id, clean: false, properties: { ...KEEP, receiveMaximum: 1 } });
    await subscribe(a, 'busy/t', 1);
    const pub = await h.connected(tb.port, 5);
    const N = 8;
    for (let i = 0; i < N; i++) await publish(pub, 'busy/t', `m${i}`, 1, 100 + i);
    const inflight = await nextPublish(a);
    expect(inflight.payload.toString()).toBe('m0');
    await expectNothing(a); // the window of 1 is full: m1.. are queued

    const b = await h.connect(tb.port, 5, { clientId: id, clean: false, properties: KEEP });
    expectConnack(b.ack, 0, true);
    await expectDisconnectThenClose(a, RC.SESSION_TAKEN_OVER);
    const got: PublishPacket[] = [];
    for (let i = 0; i < N; i++) {
      const p = await nextPublish(b.c);
      got.push(p);
      await ack(b.c, p);
    }
    expect(got.map((p) => p.payload.toString())).toEqual(Array.from({ length: N }, (_, i) => `m${i}`));
    expect(got[0].dup).toBe(true); // MQTT-3.3.1-1: a re-delivery
    expect(got[0].packetId).toBe(inflight.packetId); // original packet identifier
    expect(got.slice(1).every((p) => !p.dup)).toBe(true);
    await expectNothing(b.c);
    expect(tb.broker.stats.dropped('session-ended')).toBe(0);
  });

  it('MQTT-4.4.0-1 3.1.1: messages queued for an offline CleanSession 0 session and one unacknowledged survive a takeover chain', async () => {
    const tb = await h.broker();
    const id = uid();
    const a = await h.connected(tb.port, 4, { clientId: id, clean: false });
    await subscribe(a, 'chain/t', 2);
    const pub = await h.connected(tb.port, 4);
    await publish(pub, 'chain/t', 'first', 2, 1);
    const first = await nextPublish(a); // never acknowledged by A
    const b = await h.connect(tb.port, 4, { clientId: id, clean: false });
    expectConnack(b.ack, 0, true);
    await a.waitClosed();
    const again = await nextPublish(b.c);
    expect([again.payload.toString(), again.packetId, again.dup, again.qos]).toEqual(['first', first.packetId, true, 2]);
    await ack(b.c, again);
    await publish(pub, 'chain/t', 'second', 2, 2);
    const second = await nextPublish(b.c);
    expect(second.payload.toString()).toBe('second');
  });

  it('MQTT-4.4.0-1 v5: a PUBREL waiting for PUBCOMP is resent to the new connection', async () => {
    const tb = await h.broker();
    const id = uid();
    const a = await h.connected(tb.port, 5, { clientId: id, clean: false, properties: KEEP });
    await subscribe(a, 'q2/t', 2);
    const pub = await h.connected(tb.port, 5);
    await publish(pub, 'q2/t', 'x', 2, 1);
    const p = await nextPublish(a);
    a.send({ type: 5, packetId: p.packetId! });
    await nextPacket(a, 6);
    const b = await h.connect(tb.port, 5, { clientId: id, clean: false, properties: KEEP });
    expectConnack(b.ack, 0, true);
    expect(await nextPacket(b.c, 6)).toMatchObject({ type: 6, packetId: p.packetId });
    b.c.send({ type: 7, packetId: p.packetId! });
    await expectNothing(b.c);
  });
});
