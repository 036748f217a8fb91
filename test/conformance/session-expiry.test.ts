/**
 * Session Expiry Interval (MQTT5 3.1.2.11.2, 3.2.2.3.2, 3.14.2.2.2; MQTT-3.1.2-23,
 * MQTT-4.1.0-1/2) with small values: the broker's sweep runs every 250 ms. "Gone" is observed
 * as the broker's sessionsExpired counter moving, then confirmed by Session Present 0.
 */
import { describe, expect, it } from 'vitest';
import { RC } from '../../src/codec/mqtt/index.js';
import {
  expectConnack,
  expectDisconnectThenClose,
  publish,
  subscribe,
  uid,
  useHarness,
  waitUntil,
} from '../helpers/connect-harness.js';
import type { TestBroker } from '../helpers/broker.js';

const h = useHarness();

async function connectAndLeave(tb: TestBroker, clientId: string, sessionExpiryInterval: number | undefined, disconnectExpiry?: number) {
  const properties = sessionExpiryInterval === undefined ? undefined : { sessionExpiryInterval };
  const c = await h.connected(tb.port, 5, { clientId, clean: false, properties });
  c.send({ type: 14, reasonCode: 0, properties: disconnectExpiry === undefined ? undefined : { sessionExpiryInterval: disconnectExpiry } });
  await c.waitClosed();
}

async function sessionPresent(tb: TestBroker, clientId: string): Promise<boolean> {
  const { c, ack } = await h.connect(tb.port, 5, { clientId, clean: false, properties: { sessionExpiryInterval: 60 } });
  expectConnack(ack, 0, ack.sessionPresent);
  c.send({ type: 14, reasonCode: 0 });
  await c.waitClosed();
  return ack.sessionPresent;
}

describe('Session Expiry Interval at CONNECT', () => {
  it('MQTT5 3.1.2.11.2 an absent (0) Session Expiry Interval ends the session when the connection closes', async () => {
    const tb = await h.broker();
    const id = uid();
    await connectAndLeave(tb, id, undefined);
    expect(tb.broker.sessions.has(id)).toBe(false);
    expect(await sessionPresent(tb, id)).toBe(false);
  });

  it('MQTT-3.1.2-23 / MQTT-4.1.0-2 Session Expiry Interval 1 s: the session is kept, then discarded once it has passed', async () => {
    const tb = await h.broker();
    const id = uid();
    await connectAndLeave(tb, id, 1);
    expect(await sessionPresent(tb, id)).toBe(true); // kept (and this reconnect set the expiry to 60 s)
    await connectAndLeave(tb, id, 1);
    const leftAt = Date.now();
    await waitUntil(() => tb.broker.stats.sessionsExpired === 1, 5000, 'session expiry');
    expect(Date.now() - leftAt).toBeGreaterThanOrEqual(900);
    expect(await sessionPresent(tb, id)).toBe(false);
  });

  it('MQTT-4.1.0-2 messages queued for an expired session are discarded and counted', async () => {
    const tb = await h.broker();
    const id = uid();
    const c = await h.connected(tb.port, 5, { clientId: id, clean: false, properties: { sessionExpiryInterval: 1 } });
    await subscribe(c, 'exp/t', 1);
    c.send({ type: 14, reasonCode: 0 });
    await c.waitClosed();
    const pub = await h.connected(tb.port, 5);
    await publish(pub, 'exp/t', 'lost', 1, 1);
    await publish(pub, 'exp/t', 'lost', 1, 2);
    await waitUntil(() => tb.broker.stats.sessionsExpired === 1, 5000, 'session expiry');
    expect(tb.broker.stats.dropped('session-ended')).toBe(2);
  });

  it('MQTT-4.1.0-1 the session is not discarded while its connection is open, however long', async () => {
    const tb = await h.broker();
    const id = uid();
    const stay = await h.connected(tb.port, 5, { clientId: id, clean: false, properties: { sessionExpiryInterval: 1 } });
    await connectAndLeave(tb, uid('witness'), 1);
    await waitUntil(() => tb.broker.stats.sessionsExpired === 1, 5000, 'witness session expiry');
    // The witness (same interval) expired; ours, connected all along, did not.
    stay.send({ type: 14, reasonCode: 0 });
    await stay.waitClosed();
    expect(await sessionPresent(tb, id)).toBe(true);
  });

  it('MQTT5 3.2.2.3.2 an interval above mqtt.maxSessionExpiryS is capped: CONNACK returns the cap and the session expires by it', async () => {
    const tb = await h.broker({ config: { mqtt: { maxSessionExpiryS: 1 } } });
    const id = uid();
    const { c, ack } = await h.connect(tb.port, 5, { clientId: id, clean: false, properties: { sessionExpiryInterval: 3600 } });
    expectConnack(ack, 0);
    expect(ack.properties?.sessionExpiryInterval).toBe(1);
    c.send({ type: 14, reasonCode: 0 });
    await c.waitClosed();
    await waitUntil(() => tb.broker.stats.sessionsExpired === 1, 5000, 'capped session expiry');
    expect(tb.broker.sessions.has(id)).toBe(false);
  });

  it('MQTT5 3.2.2.3.2 an interval within the cap is not echoed in the CONNACK', async () => {
    const tb = await h.broker({ config: { mqtt: { maxSessionExpiryS: 100 } } });
    const { ack } = await h.connect(tb.port, 5, { clean: false, properties: { sessionExpiryInterval: 100 } });
    expectConnack(ack, 0);
    expect(ack.properties?.sessionExpiryInterval).toBeUndefined();
  });

  it('holdfast: a 3.1.1 CleanSession 0 session lasts mqtt.maxSessionExpiryS and then ends', async () => {
    const tb = await h.broker({ config: { mqtt: { maxSessionExpiryS: 1 } } });
    const id = uid();
    const c = await h.connected(tb.port, 4, { clientId: id, clean: false });
    c.send({ type: 14 });
    await c.waitClosed();
    expect(tb.broker.sessions.has(id)).toBe(true);
    await waitUntil(() => tb.broker.stats.sessionsExpired === 1, 5000, '3.1.1 session expiry');
    const back = await h.connect(tb.port, 4, { clientId: id, clean: false });
    expectConnack(back.ack, 0, false);
  });
});

describe('Session Expiry Interval at DISCONNECT (MQTT5 3.14.2.2.2)', () => {
  it('MQTT5 3.14.2.2.2 DISCONNECT with Session Expiry Interval 0 ends a session that would have been kept', async () => {
    const tb = await h.broker();
    const id = uid();
    await connectAndLeave(tb, id, 300, 0);
    expect(tb.broker.sessions.has(id)).toBe(false);
    expect(await sessionPresent(tb, id)).toBe(false);
  });

  it('MQTT5 3.14.2.2.2 DISCONNECT can lengthen the interval: the session outlives one that kept 1 s', async () => {
    const tb = await h.broker();
    const id = uid();
    await connectAndLeave(tb, id, 1, 300);
    await connectAndLeave(tb, uid('witness'), 1);
    await waitUntil(() => tb.broker.stats.sessionsExpired === 1, 5000, 'witness session expiry');
    expect(await sessionPresent(tb, id)).toBe(true);
  });

  it('MQTT5 3.14.2.2.2 / MQTT-3.14.2-2 Session Expiry 0 at CONNECT and non-zero at DISCONNECT: DISCONNECT 0x82 (without a Session Expiry Interval), session gone', async () => {
    const tb = await h.broker();
    const id = uid();
    const c = await h.connected(tb.port, 5, { clientId: id, clean: false });
    c.send({ type: 14, reasonCode: 0, properties: { sessionExpiryInterval: 60 } });
    await expectDisconnectThenClose(c, RC.PROTOCOL_ERROR);
    expect(tb.broker.sessions.has(id)).toBe(false);
    expect(await sessionPresent(tb, id)).toBe(false);
  });

  it('MQTT5 3.14.2.2.2 a DISCONNECT interval above mqtt.maxSessionExpiryS is capped', async () => {
    const tb = await h.broker({ config: { mqtt: { maxSessionExpiryS: 1 } } });
    const id = uid();
    await connectAndLeave(tb, id, 1, 3600);
    await waitUntil(() => tb.broker.stats.sessionsExpired === 1, 5000, 'capped session expiry');
    expect(tb.broker.sessions.has(id)).toBe(false);
  });
});
