/**
 * Session Present, Clean Start / Clean Session and resuming a session (MQTT 3.1.1 3.1.2.4,
 * 3.2.2.2; MQTT 5.0 3.1.2.4, 3.2.2.1.1, 4.4): stored subscriptions and queued QoS 1/2
 * messages come back, in order; unacknowledged ones are resent with DUP.
 */
import type { IConnackPacket } from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { ProtocolVersion, PublishPacket } from '../../src/codec/mqtt/index.js';
import {
  ack,
  expectConnack,
  expectNothing,
  MessageLog,
  nextPacket,
  nextPublish,
  publish,
  subscribe,
  uid,
  useHarness,
} from '../helpers/connect-harness.js';

const h = useHarness();

/** Session-keeping CONNECT fields: CleanSession 0 (3.1.1) or Clean Start 0 + expiry (v5). */
function keep(version: ProtocolVersion, clientId: string, clean = false) {
  return version === 5 ? { clientId, clean, properties: { sessionExpiryInterval: 300 } } : { clientId, clean };
}

describe('Session Present', () => {
  it('MQTT-3.2.2-3 / MQTT-3.1.2-6 v5: Clean Start 0 without a stored session gets Session Present 0, then 1 after reconnecting', async () => {
    const tb = await h.broker();
    const id = uid();
    const first = await h.connect(tb.port, 5, keep(5, id));
    expectConnack(first.ack, 0, false);
    first.c.send({ type: 14, reasonCode: 0 });
    await first.c.waitClosed();
    const second = await h.connect(tb.port, 5, keep(5, id));
    expectConnack(second.ack, 0, true); // MQTT-3.1.2-5: resumed
  });

  it('MQTT-3.2.2-2 / MQTT-3.1.2-4 v5: Clean Start 1 gets Session Present 0 and discards the stored session', async () => {
    const tb = await h.broker();
    const id = uid();
    const first = await h.connected(tb.port, 5, keep(5, id));
    await subscribe(first, 'cs/old', 1);
    first.send({ type: 14, reasonCode: 0 });
    await first.waitClosed();

    const pub = await h.connected(tb.port, 5);
    await publish(pub, 'cs/old', 'queued-before-clean-start', 1, 1);

    const fresh = await h.connect(tb.port, 5, keep(5, id, true));
    expectConnack(fresh.ack, 0, false);
    // The queued message and the subscription went with the old session.
    await publish(pub, 'cs/old', 'after', 1, 2);
    await expectNothing(fresh.c);
  });

  it('MQTT-3.2.2-1..3 3.1.1: CleanSession 1 -> 0; CleanSession 0 without session -> 0; with session -> 1', async () => {
    const tb = await h.broker();
    const id = uid();
    const a = await h.connect(tb.port, 4, { clientId: id, clean: true });
    expectConnack(a.ack, 0, false); // MQTT-3.2.2-1
    a.c.send({ type: 14 });
    await a.c.waitClosed();
    const b = await h.connect(tb.port, 4, { clientId: id, clean: false });
    expectConnack(b.ack, 0, false); // MQTT-3.2.2-3: the clean session left nothing
    b.c.send({ type: 14 });
    await b.c.waitClosed();
    const c = await h.connect(tb.port, 4, { clientId: id, clean: false });
    expectConnack(c.ack, 0, true); // MQTT-3.2.2-2
    c.c.send({ type: 14 });
    await c.c.waitClosed();
    const d = await h.connect(tb.port, 4, { clientId: id, clean: true });
    expectConnack(d.ack, 0, false); // MQTT-3.2.2-1 even though a session was stored
  });

  it('MQTT-3.2.2-6 v5 / MQTT-3.2.2-4 3.1.1: a refused CONNACK has Session Present 0 even when a session is stored', async () => {
    const tb = await h.broker({
      hooks: {
        authenticate: async (req) => (req.password?.toString() === 'ok' ? { ok: true } : { ok: false, reasonCode: 0x86 }),
      },
    });
    for (const version of [4, 5] as const) {
      const id = uid();
      const first = await h.connected(tb.port, version, { ...keep(version, id), username: 'u', password: Buffer.from('ok') });
      first.send({ type: 14 });
      await first.waitClosed();
      expect(tb.broker.sessions.has(id)).toBe(true);
      const refused = await h.connect(tb.port, version, { ...keep(version, id), username: 'u', password: Buffer.from('bad') });
      expectConnack(refused.ack, version === 5 ? 0x86 : 0x04, false);
      await refused.c.waitClosed();
    }
  });
});

describe('resuming a session', () => {
  for (const version of [4, 5] as const) {
    it(`${version === 5 ? 'MQTT-3.1.2-5 v5' : 'MQTT-3.1.2-4/5 3.1.1'}: the resumed session keeps its subscriptions and delivers queued QoS 1 and 2 messages in order`, async () => {
      const tb = await h.broker();
      const id = uid();
      const sub = await h.connected(tb.port, version, keep(version, id));
      expect(await subscribe(sub, 'resume/+', 2)).toEqual([2]);
      sub.send({ type: 14 });
      await sub.waitClosed();

      const pub = await h.connected(tb.port, version);
      for (let i = 0; i < 5; i++) {
        await publish(pub, 'resume/q1', `one-${i}`, 1, 10 + i);
        await publish(pub, 'resume/q2', `two-${i}`, 2, 20 + i);
      }

      const back = await h.connect(tb.port, version, keep(version, id));
      expectConnack(back.ack, 0, true);
      const got: PublishPacket[] = [];
      for (let i = 0; i < 10; i++) {
        const p = await nextPublish(back.c);
        got.push(p);
        await ack(back.c, p);
      }
      // MQTT-4.6.0-6: order per topic is kept; QoS is min(published, granted).
      expect(got.filter((p) => p.topic === 'resume/q1').map((p) => [p.payload.toString(), p.qos])).toEqual(
        [0, 1, 2, 3, 4].map((i) => [`one-${i}`, 1]),
      );
      expect(got.filter((p) => p.topic === 'resume/q2').map((p) => [p.payload.toString(), p.qos])).toEqual(
        [0, 1, 2, 3, 4].map((i) => [`two-${i}`, 2]),
      );
      // And the stored subscription still routes new messages.
      await publish(pub, 'resume/live', 'live', 1, 40);
      const live = await nextPublish(back.c);
      expect(live.payload.toString()).toBe('live');
    });
  }

  it('MQTT-4.4.0-1 v5: an unacknowledged QoS 1 message is resent on reconnect with DUP 1 and its original packet id', async () => {
    const tb = await h.broker();
    const id = uid();
    const sub = await h.connected(tb.port, 5, keep(5, id));
    await subscribe(sub, 'dup/t', 1);
    const pub = await h.connected(tb.port, 5);
    await publish(pub, 'dup/t', 'unacked', 1, 5);
    const first = await nextPublish(sub);
    expect(first.dup).toBe(false);
    sub.close(); // no PUBACK
    await sub.waitClosed();

    const back = await h.connect(tb.port, 5, keep(5, id));
    expectConnack(back.ack, 0, true);
    const again = await nextPublish(back.c);
    expect(again.payload.toString()).toBe('unacked');
    expect(again.packetId).toBe(first.packetId);
    expect(again.dup).toBe(true); // MQTT-3.3.1-1
  });

  it('MQTT-4.4.0-1 3.1.1: a QoS 2 message whose PUBCOMP is missing gets its PUBREL resent on reconnect', async () => {
    const tb = await h.broker();
    const id = uid();
    const sub = await h.connected(tb.port, 4, { clientId: id, clean: false });
    await subscribe(sub, 'rel/t', 2);
    const pub = await h.connected(tb.port, 4);
    await publish(pub, 'rel/t', 'exactly-once', 2, 9);
    const p = await nextPublish(sub);
    sub.send({ type: 5, packetId: p.packetId! });
    await nextPacket(sub, 6);
    sub.close(); // no PUBCOMP
    await sub.waitClosed();

    const back = await h.connect(tb.port, 4, { clientId: id, clean: false });
    expectConnack(back.ack, 0, true);
    const rel = await nextPacket(back.c, 6);
    expect(rel).toMatchObject({ type: 6, packetId: p.packetId });
    back.c.send({ type: 7, packetId: p.packetId! });
    // MQTT5 4.3.3: the PUBLISH is not sent again once PUBREL was sent.
    await expectNothing(back.c);
  });

  for (const protocolVersion of [4, 5] as const) {
    it(`${protocolVersion === 5 ? 'MQTT-3.1.2-5' : 'MQTT-3.1.2-4/5'} MQTT.js v${protocolVersion} with clean false receives the messages queued while it was away`, async () => {
      const tb = await h.broker();
      const clientId = uid('js');
      const props = protocolVersion === 5 ? { properties: { sessionExpiryInterval: 300 } } : {};
      const a = await h.mqtt(tb.port, { protocolVersion, clientId, clean: false, ...props });
      await a.subscribeAsync('jsq/#', { qos: 1 });
      await a.endAsync();
      const pub = await h.mqtt(tb.port, { protocolVersion, clientId: uid('jp') });
      for (let i = 0; i < 4; i++) await pub.publishAsync('jsq/t', `m${i}`, { qos: 1 });

      const client = h.mqttManual(tb.port, { protocolVersion, clientId, clean: false, ...props });
      const log = new MessageLog(client);
      const connack = new Promise<IConnackPacket>((resolve) => client.once('connect', resolve));
      client.connect();
      expect((await connack).sessionPresent).toBe(true);
      await log.waitFor(4);
      expect(log.messages.map((m) => m.payload)).toEqual(['m0', 'm1', 'm2', 'm3']);
    });
  }
});
