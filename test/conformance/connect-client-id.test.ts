/**
 * Client identifiers (MQTT 3.1.1 3.1.3.1, MQTT 5.0 3.1.3.1 and 3.2.2.3.7): zero-length ids,
 * the Assigned Client Identifier, limits.
 */
import { describe, expect, it } from 'vitest';
import { RC } from '../../src/codec/mqtt/index.js';
import {
  expectConnack,
  expectNothing,
  expectReasonString,
  nextPacket,
  nextPublish,
  publish,
  subscribe,
  useHarness,
} from '../helpers/connect-harness.js';

const h = useHarness();

describe('zero-length client id, MQTT 3.1.1', () => {
  it('MQTT-3.1.3-8 3.1.1: zero-length id with CleanSession 0 gets CONNACK 0x02 (Identifier rejected), then close', async () => {
    const tb = await h.broker();
    const { c, ack } = await h.connect(tb.port, 4, { clientId: '', clean: false });
    expectConnack(ack, 0x02);
    await c.waitClosed();
    expect(tb.broker.sessions.size).toBe(0);
  });

  it('MQTT-3.1.3-6 3.1.1: zero-length id with CleanSession 1 is accepted and each client gets its own unique id', async () => {
    const tb = await h.broker();
    const a = await h.connected(tb.port, 4, { clientId: '' });
    const b = await h.connected(tb.port, 4, { clientId: '' });
    // Unique ids: the second did not take over the first; both are alive and distinct sessions exist.
    await expectNothing(a);
    await expectNothing(b);
    expect(a.closed).toBe(false);
    expect(tb.broker.sessions.size).toBe(2);
    expect(tb.broker.stats.takeovers).toBe(0);
  });

  it('MQTT-3.1.3-9 3.1.1: mqtt.allowEmptyClientId false refuses a zero-length id with CONNACK 0x02', async () => {
    const tb = await h.broker({ config: { mqtt: { allowEmptyClientId: false } } });
    const { c, ack } = await h.connect(tb.port, 4, { clientId: '' });
    expectConnack(ack, 0x02);
    await c.waitClosed();
  });
});

describe('zero-length client id, MQTT 5.0', () => {
  it('MQTT-3.2.2-16 v5: a zero-length id gets an Assigned Client Identifier, different for each client', async () => {
    const tb = await h.broker();
    const a = await h.connect(tb.port, 5, { clientId: '' });
    const b = await h.connect(tb.port, 5, { clientId: '' });
    expectConnack(a.ack, 0);
    expectConnack(b.ack, 0);
    const idA = a.ack.properties?.assignedClientIdentifier;
    const idB = b.ack.properties?.assignedClientIdentifier;
    expect(typeof idA).toBe('string');
    expect(idA!.length).toBeGreaterThan(0);
    expect(idB).not.toBe(idA);
    expect(tb.broker.sessions.has(idA!)).toBe(true);
    expect(tb.broker.sessions.has(idB!)).toBe(true);
  });

  it('MQTT-3.1.3-7 v5: the Assigned Client Identifier names the session: reconnecting with it resumes the session', async () => {
    const tb = await h.broker();
    const first = await h.connect(tb.port, 5, { clientId: '', properties: { sessionExpiryInterval: 60 } });
    const assigned = first.ack.properties!.assignedClientIdentifier!;
    expect(await subscribe(first.c, 'assigned/t', 1)).toEqual([1]);
    first.c.send({ type: 14, reasonCode: 0 });
    await first.c.waitClosed();

    const pub = await h.connected(tb.port, 5);
    await publish(pub, 'assigned/t', 'queued', 1, 3);

    const again = await h.connect(tb.port, 5, { clientId: assigned, clean: false, properties: { sessionExpiryInterval: 60 } });
    expectConnack(again.ack, 0, true);
    // A client that sent an id gets no Assigned Client Identifier.
    expect(again.ack.properties?.assignedClientIdentifier).toBeUndefined();
    const p = await nextPublish(again.c);
    expect([p.topic, p.payload.toString(), p.qos]).toEqual(['assigned/t', 'queued', 1]);
  });

  it('MQTT-3.1.3-8 v5: mqtt.allowEmptyClientId false refuses a zero-length id with CONNACK 0x85 and a Reason String', async () => {
    const tb = await h.broker({ config: { mqtt: { allowEmptyClientId: false } } });
    const { c, ack } = await h.connect(tb.port, 5, { clientId: '' });
    expectConnack(ack, RC.CLIENT_IDENTIFIER_NOT_VALID);
    expectReasonString(ack);
    await c.waitClosed();
  });

  it('MQTT-3.2.2-16 MQTT.js v5 with an empty client id receives the Assigned Client Identifier', async () => {
    const tb = await h.broker();
    const { error, connack } = await h.mqttAttempt(tb.port, { protocolVersion: 5, clientId: '' });
    expect(error).toBeUndefined();
    const assigned = connack?.properties?.assignedClientIdentifier;
    expect(typeof assigned).toBe('string');
    expect(tb.broker.sessions.has(assigned!)).toBe(true);
  });
});

describe('client id limits', () => {
  it('MQTT-3.1.3-5 a 23-character id of the required alphabet is accepted (3.1.1 and 5.0)', async () => {
    const tb = await h.broker();
    const id = 'aZ09bY18cX27dW36eV45fU5';
    expect(id.length).toBe(23);
    const { ack } = await h.connect(tb.port, 4, { clientId: id });
    expectConnack(ack, 0);
    const v5 = await h.connect(tb.port, 5, { clientId: id.toLowerCase() });
    expectConnack(v5.ack, 0);
  });

  it('MQTT-3.1.3-8 (5.0) / MQTT-3.1.3-9 (3.1.1) an id longer than mqtt.maxClientIdLength is refused: v5 CONNACK 0x85, 3.1.1 CONNACK 0x02', async () => {
    const tb = await h.broker({ config: { mqtt: { maxClientIdLength: 30 } } });
    const long = 'x'.repeat(31);
    const v5 = await h.connect(tb.port, 5, { clientId: long });
    expectConnack(v5.ack, RC.CLIENT_IDENTIFIER_NOT_VALID);
    await v5.c.waitClosed();
    const v4 = await h.connect(tb.port, 4, { clientId: long });
    expectConnack(v4.ack, 0x02);
    await v4.c.waitClosed();
    const ok = await h.connect(tb.port, 5, { clientId: 'x'.repeat(30) });
    expectConnack(ok.ack, 0);
  });

  it('MQTT-3.2.2-7 a refused CONNECT (0x85) gets nothing after its CONNACK', async () => {
    const tb = await h.broker({ config: { mqtt: { maxClientIdLength: 30 } } });
    const { c } = await h.connect(tb.port, 5, { clientId: 'y'.repeat(40) });
    c.send({ type: 12 });
    await c.waitClosed();
    await expect(nextPacket(c, 13, 200)).rejects.toThrow(/closed/);
  });
});
