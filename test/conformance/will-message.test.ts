/**
 * Will messages (MQTT 3.1.1 3.1.2.5, MQTT 5.0 3.1.2.5 and 3.1.3.2): published when the
 * connection ends abnormally (socket lost, keepalive, protocol error, takeover), not after a
 * normal DISCONNECT, and after DISCONNECT 0x04; retain flag, QoS and properties.
 */
import { describe, expect, it } from 'vitest';
import { RC, type ProtocolVersion, type WillMessage } from '../../src/codec/mqtt/index.js';
import type { RawClient } from '../helpers/raw-client.js';
import {
  connectPacket,
  expectConnack,
  expectDisconnectThenClose,
  expectNothing,
  MessageLog,
  nextPacket,
  nextPublish,
  subscribe,
  uid,
  useHarness,
  waitUntil,
} from '../helpers/connect-harness.js';
import type { TestBroker } from '../helpers/broker.js';

const h = useHarness();

function will(topic: string, payload = 'gone', extra: Partial<WillMessage> = {}): WillMessage {
  return { topic, payload: Buffer.from(payload), qos: 0, retain: false, ...extra };
}

/** A v5 subscriber to will/# (QoS 2, Retain As Published so the will's RETAIN flag is visible). */
async function watcher(tb: TestBroker): Promise<RawClient> {
  const c = await h.connected(tb.port, 5);
  c.send({ type: 8, packetId: 1, subscriptions: [{ topic: 'will/#', qos: 2, noLocal: false, retainAsPublished: true, retainHandling: 0 }] });
  await nextPacket(c, 9);
  return c;
}

describe('will published on abnormal close', () => {
  for (const version of [4, 5] as const) {
    it(`MQTT-3.1.2-8 v${version === 5 ? 5 : '3.1.1'}: the will is published when the network connection is lost (socket destroyed)`, async () => {
      const tb = await h.broker();
      const w = await watcher(tb);
      const c = await h.connected(tb.port, version, { will: will(`will/lost${version}`, `bye${version}`) });
      c.close();
      const p = await nextPublish(w);
      expect([p.topic, p.payload.toString(), p.retain]).toEqual([`will/lost${version}`, `bye${version}`, false]);
      expect(tb.broker.stats.willsPublished).toBe(1);
    });
  }

  it('MQTT-3.1.2-8 the will is published when the server closes the connection for a keepalive timeout', async () => {
    const tb = await h.broker();
    const w = await watcher(tb);
    const c = await h.connected(tb.port, 5, { keepalive: 1, will: will('will/ka') });
    await expectDisconnectThenClose(c, RC.KEEP_ALIVE_TIMEOUT, 5000);
    expect((await nextPublish(w)).topic).toBe('will/ka');
  });

  it('MQTT-3.1.2-8 the will is published when the server closes the connection for a protocol error (second CONNECT)', async () => {
    const tb = await h.broker();
    const w = await watcher(tb);
    const id = uid();
    const c = await h.connected(tb.port, 5, { clientId: id, will: will('will/proto') });
    c.send(connectPacket(5, { clientId: id }));
    await expectDisconnectThenClose(c, RC.PROTOCOL_ERROR);
    expect((await nextPublish(w)).topic).toBe('will/proto');
  });

  it('MQTT5 3.14.2.2.2 an invalid DISCONNECT (Session Expiry 0 -> 60) is a protocol error: the will is published', async () => {
    const tb = await h.broker();
    const w = await watcher(tb);
    const c = await h.connected(tb.port, 5, { will: will('will/baddisc') });
    c.send({ type: 14, reasonCode: 0, properties: { sessionExpiryInterval: 60 } });
    await expectDisconnectThenClose(c, RC.PROTOCOL_ERROR);
    expect((await nextPublish(w)).topic).toBe('will/baddisc');
  });

  it('MQTT5 3.1.4 a taken-over connection publishes its will', async () => {
    const tb = await h.broker();
    const w = await watcher(tb);
    const id = uid();
    const a = await h.connected(tb.port, 5, { clientId: id, will: will('will/takeover') });
    await h.connected(tb.port, 5, { clientId: id });
    await expectDisconnectThenClose(a, RC.SESSION_TAKEN_OVER);
    expect((await nextPublish(w)).topic).toBe('will/takeover');
  });

  it('MQTT-3.1.2-8 MQTT.js: a client whose socket dies has its will delivered to an MQTT.js subscriber', async () => {
    const tb = await h.broker();
    const sub = await h.mqtt(tb.port, { protocolVersion: 4 });
    const log = new MessageLog(sub);
    await sub.subscribeAsync('will/js', { qos: 1 });
    const dying = await h.mqtt(tb.port, { protocolVersion: 5, will: { topic: 'will/js', payload: Buffer.from('js-bye'), qos: 1, retain: false } });
    dying.stream.destroy();
    await log.waitFor(1);
    expect(log.messages[0]).toMatchObject({ topic: 'will/js', payload: 'js-bye', qos: 1 });
  });
});

describe('no will after a normal DISCONNECT', () => {
  for (const version of [4, 5] as const) {
    it(`MQTT-3.14.4-3 / MQTT-3.1.2-10 v${version === 5 ? 5 : '3.1.1'}: DISCONNECT (0x00) discards the will`, async () => {
      const tb = await h.broker();
      const w = await watcher(tb);
      const c = await h.connected(tb.port, version, { will: will('will/normal') });
      c.send({ type: 14, reasonCode: 0 });
      await c.waitClosed();
      await expectNothing(w);
      expect(tb.broker.stats.willsPublished).toBe(0);
    });
  }

  it('MQTT-3.1.2-10 v5: a will discarded by DISCONNECT is not published when a persistent session later expires', async () => {
    const tb = await h.broker();
    const w = await watcher(tb);
    const c = await h.connected(tb.port, 5, { clean: false, properties: { sessionExpiryInterval: 1 }, will: will('will/expired') });
    c.send({ type: 14, reasonCode: 0 });
    await c.waitClosed();
    await waitUntil(() => tb.broker.stats.sessionsExpired === 1, 5000, 'session expiry');
    await expectNothing(w);
  });

  it('MQTT-3.1.2-12 3.1.1: a client without a will publishes nothing when its socket dies', async () => {
    const tb = await h.broker();
    const w = await watcher(tb);
    const c = await h.connected(tb.port, 4);
    c.close();
    await waitUntil(() => tb.broker.stats.connectionsClosed.get('socket-closed') === 1, 5000, 'server-side close');
    await expectNothing(w);
  });

  it('MQTT-3.1.2-7 a refused CONNECT has no session, so its will is never stored or published', async () => {
    const tb = await h.broker({
      hooks: { authenticate: async (req) => (req.client.username === 'bad' ? { ok: false, reasonCode: RC.NOT_AUTHORIZED } : { ok: true }) },
    });
    const w = await watcher(tb);
    const { c, ack } = await h.connect(tb.port, 5, { username: 'bad', will: will('will/refused') });
    expectConnack(ack, RC.NOT_AUTHORIZED);
    await c.waitClosed();
    await expectNothing(w);
    expect(tb.broker.stats.willsPublished).toBe(0);
  });
});

describe('DISCONNECT with Will Message (0x04)', () => {
  it('MQTT5 3.14.2.1 DISCONNECT 0x04 closes normally but publishes the will', async () => {
    const tb = await h.broker();
    const w = await watcher(tb);
    const c = await h.connected(tb.port, 5, { will: will('will/04', 'asked-for') });
    c.send({ type: 14, reasonCode: RC.DISCONNECT_WITH_WILL });
    await c.waitClosed();
    const p = await nextPublish(w);
    expect([p.topic, p.payload.toString()]).toEqual(['will/04', 'asked-for']);
  });
});

describe('DISCONNECT with an error reason code', () => {
  for (const reasonCode of [RC.UNSPECIFIED_ERROR, RC.IMPLEMENTATION_SPECIFIC_ERROR] as const) {
    it(`MQTT-3.1.2-8 / MQTT-3.14.4-3 v5: only 0x00 deletes the will; a client DISCONNECT with 0x${reasonCode.toString(16)} publishes it`, async () => {
      const tb = await h.broker();
      const w = await watcher(tb);
      const c = await h.connected(tb.port, 5, { will: will('will/client-error') });
      c.send({ type: 14, reasonCode });
      await c.waitClosed();
      const p = await nextPublish(w, 3000);
      expect(p.topic).toBe('will/client-error');
    });
  }
});

describe('will flags and properties', () => {
  for (const version of [4, 5] as const) {
    it(`${version === 5 ? 'MQTT-3.1.2-15 v5' : 'MQTT-3.1.2-17 3.1.1'}: Will Retain 1 publishes the will as a retained message`, async () => {
      const tb = await h.broker();
      const c = await h.connected(tb.port, version, { will: will('will/kept', 'last-words', { retain: true }) });
      c.close();
      await waitUntil(() => tb.broker.stats.willsPublished === 1, 5000, 'will');
      const late = await h.connected(tb.port, version as ProtocolVersion);
      await subscribe(late, 'will/kept', 1);
      const p = await nextPublish(late);
      expect([p.topic, p.payload.toString(), p.retain]).toEqual(['will/kept', 'last-words', true]);
    });
  }

  it('MQTT-3.1.2-14 v5: Will Retain 0 publishes a non-retained message: a later subscriber gets nothing', async () => {
    const tb = await h.broker();
    const w = await watcher(tb);
    const c = await h.connected(tb.port, 5, { will: will('will/once') });
    c.close();
    expect((await nextPublish(w)).retain).toBe(false);
    const late = await h.connected(tb.port, 5);
    await subscribe(late, 'will/once', 1);
    await expectNothing(late);
  });

  it('MQTT-3.1.2-12 v5: Will QoS is used: QoS 1 and 2 wills reach a QoS 2 subscriber at their own QoS, capped by the subscription', async () => {
    const tb = await h.broker();
    const w = await watcher(tb); // QoS 2 subscription
    const low = await h.connected(tb.port, 5);
    await subscribe(low, 'will/qos/#', 1);
    for (const qos of [1, 2] as const) {
      const c = await h.connected(tb.port, 5, { will: will(`will/qos/${qos}`, 'q', { qos }) });
      c.close();
      const p = await nextPublish(w);
      expect([p.topic, p.qos]).toEqual([`will/qos/${qos}`, qos]);
      w.send(qos === 1 ? { type: 4, packetId: p.packetId! } : { type: 5, packetId: p.packetId! });
      expect((await nextPublish(low)).qos).toBe(1); // MQTT-3.8.4-8 (v5): min(will QoS, granted QoS)
    }
  });

  it('MQTT-3.1.3-10 / MQTT5 3.1.3.2 v5 will properties (Content Type, User Properties, Response Topic) are forwarded', async () => {
    const tb = await h.broker();
    const w = await watcher(tb);
    const c = await h.connected(tb.port, 5, {
      will: will('will/props', '{}', {
        properties: { contentType: 'application/json', userProperties: [['k', 'v'], ['k', 'w']], responseTopic: 'reply/here' },
      }),
    });
    c.close();
    const p = await nextPublish(w);
    expect(p.properties).toMatchObject({ contentType: 'application/json', userProperties: [['k', 'v'], ['k', 'w']], responseTopic: 'reply/here' });
    expect(p.properties?.willDelayInterval).toBeUndefined();
  });
});
