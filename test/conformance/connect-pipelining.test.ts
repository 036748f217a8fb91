/**
 * Clients that do not wait for CONNACK: CONNECT + SUBSCRIBE + PUBLISH in one write (MQTT5 4.1
 * allows sending before CONNACK), including while an asynchronous auth hook is pending; and
 * MQTT-3.1.4-6: nothing after a refused CONNECT is processed.
 */
import { describe, expect, it } from 'vitest';
import { encode, RC, type Packet, type ProtocolVersion } from '../../src/codec/mqtt/index.js';
import type { AuthResult } from '../../src/broker/hooks.js';
import { connectPacket, expectConnack, expectNothing, nextPacket, subscribe, uid, useHarness } from '../helpers/connect-harness.js';

const h = useHarness();

function burst(version: ProtocolVersion, topic: string, connect: Partial<Extract<Packet, { type: 1 }>> = {}): Buffer {
  const packets: Packet[] = [
    connectPacket(version, connect),
    { type: 8, packetId: 1, subscriptions: [{ topic, qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] },
    { type: 3, topic, payload: Buffer.from('pipelined'), qos: 1, retain: false, dup: false, packetId: 2 },
    { type: 12 },
  ];
  return Buffer.concat(packets.map((p) => encode(p, version)));
}

/**
 * Reads until CONNACK, SUBACK, PUBACK, the message and PINGRESP have all arrived (the PUBACK
 * waits for the store, so it may come after the PINGRESP: acks of different kinds are not ordered).
 */
async function readBurst(c: Awaited<ReturnType<typeof h.open>>): Promise<Packet[]> {
  const out: Packet[] = [];
  const want = [2, 3, 4, 9, 13];
  while (!want.every((t) => out.some((p) => p.type === t))) out.push(await nextPacket(c));
  return out;
}

const byNumber = (a: number, b: number) => a - b;

describe('pipelined CONNECT', () => {
  for (const version of [4, 5] as const) {
    it(`MQTT-3.2.0-1 v${version === 5 ? 5 : '3.1.1'}: CONNECT + SUBSCRIBE + PUBLISH + PINGREQ in one write: CONNACK first, then every answer`, async () => {
      const tb = await h.broker();
      const c = await h.open(tb.port, version);
      c.send(burst(version, 'pipe/t'));
      const got = await readBurst(c);
      expect(got[0].type).toBe(2);
      expectConnack(got[0], 0);
      const types = got.map((p) => p.type);
      // SUBACK before the message it enabled (MQTT-3.8.4-1), PUBACK for the publish, the message delivered to itself.
      expect(types.filter((t) => t !== 2).sort(byNumber)).toEqual([3, 4, 9, 13]);
      expect(types.indexOf(9)).toBeLessThan(types.indexOf(3));
      const msg = got.find((p) => p.type === 3) as Extract<Packet, { type: 3 }>;
      expect([msg.topic, msg.payload.toString()]).toEqual(['pipe/t', 'pipelined']);
    });
  }

  it('MQTT-3.2.0-1 the burst waits for an asynchronous auth hook, then is processed in order after the CONNACK', async () => {
    let release!: (r: AuthResult) => void;
    let called!: () => void;
    const calledP = new Promise<void>((r) => (called = r));
    const tb = await h.broker({
      hooks: {
        authenticate: () => {
          called();
          return new Promise<AuthResult>((r) => (release = r));
        },
      },
    });
    const c = await h.open(tb.port, 5);
    c.send(burst(5, 'pipe/auth'));
    await calledP;
    expect(c.packets).toEqual([]); // nothing answered while authentication runs
    release({ ok: true });
    const got = await readBurst(c);
    expectConnack(got[0], 0);
    expect(got.map((p) => p.type).slice(1).sort(byNumber)).toEqual([3, 4, 9, 13]);
  });

  it('MQTT-3.2.0-1 a CONNECT delivered one byte at a time, followed by a SUBSCRIBE, works', async () => {
    const tb = await h.broker();
    const c = await h.open(tb.port, 5);
    const bytes = burst(5, 'pipe/bytes');
    for (const b of bytes) c.send(Buffer.from([b]));
    const got = await readBurst(c);
    expectConnack(got[0], 0);
    expect(got.map((p) => p.type).slice(1).sort(byNumber)).toEqual([3, 4, 9, 13]);
  });
});

describe('data after a refused CONNECT (MQTT-3.1.4-6)', () => {
  it('MQTT-3.1.4-6 v5: a PUBLISH pipelined after a CONNECT the auth hook refuses is not processed', async () => {
    const tb = await h.broker({
      hooks: { authenticate: async (req) => (req.client.username === 'evil' ? { ok: false, reasonCode: RC.NOT_AUTHORIZED } : { ok: true }) },
    });
    const watcher = await h.connected(tb.port, 5);
    expect(await subscribe(watcher, 'pipe/refused', 1)).toEqual([1]);
    const c = await h.open(tb.port, 5);
    c.send(burst(5, 'pipe/refused', { username: 'evil' }));
    expectConnack(await nextPacket(c, 2), RC.NOT_AUTHORIZED);
    await c.waitClosed();
    expect(c.packets).toEqual([]); // no SUBACK, PUBACK or PINGRESP
    await expectNothing(watcher);
    expect(tb.broker.stats.messagesPublished).toBe(0);
  });

  it('MQTT-3.1.4-5 3.1.1: a retained PUBLISH pipelined after a CONNECT refused with 0x02 is not stored', async () => {
    const tb = await h.broker();
    const c = await h.open(tb.port, 4);
    c.send(
      Buffer.concat([
        encode(connectPacket(4, { clientId: '', clean: false }), 4),
        encode({ type: 3, topic: 'pipe/retained', payload: Buffer.from('sneaky'), qos: 0, retain: true, dup: false }, 4),
      ]),
    );
    expectConnack(await nextPacket(c, 2), 0x02);
    await c.waitClosed();
    const late = await h.connected(tb.port, 4, { clientId: uid() });
    await subscribe(late, 'pipe/retained', 0);
    await expectNothing(late);
    expect(tb.broker.stats.messagesPublished).toBe(0);
  });
});
