/**
 * Will Delay Interval (MQTT5 3.1.3.2.2, MQTT-3.1.2-8, MQTT-3.1.3-9): the will waits for the
 * delay, is cancelled by a new connection to the session in time, and is sent when the session
 * ends if that comes first. Small values; the sweep runs every 250 ms.
 */
import { describe, expect, it } from 'vitest';
import { RC, type WillMessage } from '../../src/codec/mqtt/index.js';
import type { RawClient } from '../helpers/raw-client.js';
import type { TestBroker } from '../helpers/broker.js';
import { expectConnack, expectDisconnectThenClose, expectNothing, nextPacket, nextPublish, uid, useHarness, waitUntil } from '../helpers/connect-harness.js';

const h = useHarness();

function delayedWill(topic: string, willDelayInterval: number): WillMessage {
  return { topic, payload: Buffer.from(topic), qos: 1, retain: false, properties: { willDelayInterval } };
}

async function watcher(tb: TestBroker): Promise<RawClient> {
  const c = await h.connected(tb.port, 5);
  c.send({ type: 8, packetId: 1, subscriptions: [{ topic: 'wd/#', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
  await nextPacket(c, 9);
  return c;
}

describe('Will Delay Interval', () => {
  it('MQTT5 3.1.3.2.2 a will with delay 1 s is not published at the close but after the delay', async () => {
    const tb = await h.broker();
    const w = await watcher(tb);
    const c = await h.connected(tb.port, 5, { clean: false, properties: { sessionExpiryInterval: 60 }, will: delayedWill('wd/one', 1) });
    c.close();
    const closedAt = Date.now();
    await waitUntil(() => tb.broker.stats.connectionsClosed.get('socket-closed') === 1, 5000, 'server-side close');
    await expectNothing(w); // not at the close
    const p = await nextPublish(w, 5000);
    expect(p.topic).toBe('wd/one');
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(900);
  });

  it('MQTT-3.1.3-9 reconnecting to the session before the delay has passed cancels the will', async () => {
    const tb = await h.broker();
    const w = await watcher(tb);
    const id = uid();
    const c = await h.connected(tb.port, 5, { clientId: id, clean: false, properties: { sessionExpiryInterval: 60 }, will: delayedWill('wd/cancelled', 1) });
    c.close();
    await waitUntil(() => tb.broker.stats.connectionsClosed.get('socket-closed') === 1, 5000, 'server-side close');
    const back = await h.connect(tb.port, 5, { clientId: id, clean: false, properties: { sessionExpiryInterval: 60 } });
    expectConnack(back.ack, 0, true);
    // A witness with the same delay, closed after ours: when its will arrives, ours was due too.
    const witness = await h.connected(tb.port, 5, { clean: false, properties: { sessionExpiryInterval: 60 }, will: delayedWill('wd/witness', 1) });
    witness.close();
    expect((await nextPublish(w, 5000)).topic).toBe('wd/witness');
    w.send({ type: 12 });
    await nextPacket(w, 13);
    expect(w.packets.filter((p) => p.type === 3)).toEqual([]);
    expect(tb.broker.stats.willsPublished).toBe(1);
  });

  it('MQTT-3.1.3-9 a takeover (Clean Start 0) within the delay also cancels the will', async () => {
    const tb = await h.broker();
    const w = await watcher(tb);
    const id = uid();
    const a = await h.connected(tb.port, 5, { clientId: id, clean: false, properties: { sessionExpiryInterval: 60 }, will: delayedWill('wd/takeover', 1) });
    await h.connected(tb.port, 5, { clientId: id, clean: false, properties: { sessionExpiryInterval: 60 } });
    await expectDisconnectThenClose(a, RC.SESSION_TAKEN_OVER);
    const witness = await h.connected(tb.port, 5, { clean: false, properties: { sessionExpiryInterval: 60 }, will: delayedWill('wd/witness2', 1) });
    witness.close();
    expect((await nextPublish(w, 5000)).topic).toBe('wd/witness2');
    expect(w.packets.filter((p) => p.type === 3)).toEqual([]);
  });

  it('MQTT-3.1.2-8 the will is sent when the session ends, if that comes before the delay (expiry 1 s, delay 30 s)', async () => {
    const tb = await h.broker();
    const w = await watcher(tb);
    const c = await h.connected(tb.port, 5, { clean: false, properties: { sessionExpiryInterval: 1 }, will: delayedWill('wd/session-end', 30) });
    c.close();
    const closedAt = Date.now();
    const p = await nextPublish(w, 5000);
    expect(p.topic).toBe('wd/session-end');
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(900);
    expect(tb.broker.stats.sessionsExpired).toBe(1);
  });

  it('MQTT-3.1.2-8 a takeover with Clean Start 1 ends the old session, so its delayed will is sent at once', async () => {
    const tb = await h.broker();
    const w = await watcher(tb);
    const id = uid();
    const a = await h.connected(tb.port, 5, { clientId: id, clean: false, properties: { sessionExpiryInterval: 60 }, will: delayedWill('wd/clean-takeover', 30) });
    const b = await h.connect(tb.port, 5, { clientId: id, clean: true });
    expectConnack(b.ack, 0, false);
    await expectDisconnectThenClose(a, RC.SESSION_TAKEN_OVER);
    expect((await nextPublish(w, 3000)).topic).toBe('wd/clean-takeover');
  });

  it('MQTT-3.1.2-8 with Session Expiry 0 the session ends at the close, so a delayed will is sent at once', async () => {
    const tb = await h.broker();
    const w = await watcher(tb);
    const c = await h.connected(tb.port, 5, { will: delayedWill('wd/no-session', 30) });
    c.close();
    expect((await nextPublish(w, 3000)).topic).toBe('wd/no-session');
  });

  it('MQTT5 3.1.3.2.2 DISCONNECT 0x04 with a Will Delay Interval: the will still waits for the delay', async () => {
    const tb = await h.broker();
    const w = await watcher(tb);
    const c = await h.connected(tb.port, 5, { clean: false, properties: { sessionExpiryInterval: 60 }, will: delayedWill('wd/04', 1) });
    c.send({ type: 14, reasonCode: RC.DISCONNECT_WITH_WILL });
    await c.waitClosed();
    const closedAt = Date.now();
    await expectNothing(w);
    expect((await nextPublish(w, 5000)).topic).toBe('wd/04');
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(700);
  });
});
