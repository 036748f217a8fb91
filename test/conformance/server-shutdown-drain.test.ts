/**
 * Issue 8, graceful shutdown at the broker: publishes read before the stop are acknowledged
 * before the connection closes (v5: then DISCONNECT 0x8B with the Server Reference; 3.1.1:
 * then a plain close), a connection whose acknowledgement does not come in time is cut at
 * the drain deadline and counted, and wills follow shutdown.wills. The store's commit is
 * held by hand (GatedStore) so that the acknowledgements are still waiting at the stop.
 */
import { describe, expect, it } from 'vitest';
import { RC } from '../../src/codec/mqtt/index.js';
import { GatedStore } from '../helpers/store-gated.js';
import { connectPacket, expectServerDisconnect, nextPacket, uid, useHarness, waitUntil } from '../helpers/connect-harness.js';

const h = useHarness();
const REF = 'mqtt-2.example.com:1883';

describe('graceful shutdown drains in-flight publishes (issue 8)', () => {
  it('MQTT5 3.14.2.1 / MQTT-4.3.2-4 v5: a QoS 1 publish read before the stop gets its PUBACK, then DISCONNECT 0x8B with the Server Reference', async () => {
    const store = new GatedStore();
    const tb = await h.broker({ store });
    const c = await h.connected(tb.port, 5);
    store.hold();
    c.send({ type: 3, topic: 'drain/v5', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, packetId: 7 });
    await waitUntil(() => store.flushCalls > 0, 5000, 'the publish to wait for its commit');
    const closing = tb.broker.close({ drainTimeoutMs: 5000, serverReference: REF });
    store.release();
    const ack = await nextPacket(c, undefined);
    expect(ack).toMatchObject({ type: 4, packetId: 7 });
    const d = await nextPacket(c, 14);
    expectServerDisconnect(d, RC.SERVER_SHUTTING_DOWN);
    expect((d as { properties?: { serverReference?: string } }).properties?.serverReference).toBe(REF);
    await c.waitClosed();
    expect(await closing).toMatchObject({ connections: 1, drained: 1, cut: 0 });
  });

  it('MQTT-4.3.2-2 3.1.1: a QoS 1 publish read before the stop gets its PUBACK, then the connection is closed', async () => {
    const store = new GatedStore();
    const tb = await h.broker({ store });
    const c = await h.connected(tb.port, 4);
    store.hold();
    c.send({ type: 3, topic: 'drain/v4', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, packetId: 9 });
    await waitUntil(() => store.flushCalls > 0, 5000, 'the publish to wait for its commit');
    const closing = tb.broker.close({ drainTimeoutMs: 5000 });
    store.release();
    expect(await nextPacket(c, undefined)).toMatchObject({ type: 4, packetId: 9 });
    await c.waitClosed();
    expect(await closing).toMatchObject({ connections: 1, drained: 1, cut: 0 });
  });

  it('a connection still waiting for its commit at the drain deadline is cut (no PUBACK: the client resends) and counted', async () => {
    const store = new GatedStore();
    const tb = await h.broker({ store });
    const c = await h.connected(tb.port, 5);
    store.hold();
    c.send({ type: 3, topic: 'drain/cut', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, packetId: 3 });
    await waitUntil(() => store.flushCalls > 0, 5000, 'the publish to wait for its commit');
    const closing = tb.broker.close({ drainTimeoutMs: 100 });
    await c.waitClosed();
    expect(c.packets.filter((p) => p.type === 4)).toEqual([]);
    store.release();
    expect(await closing).toMatchObject({ connections: 1, drained: 0, cut: 1 });
  });

  it('an abort (second signal) cuts the drain at once', async () => {
    const store = new GatedStore();
    const tb = await h.broker({ store });
    const c = await h.connected(tb.port, 4);
    store.hold();
    c.send({ type: 3, topic: 'drain/abort', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, packetId: 4 });
    await waitUntil(() => store.flushCalls > 0, 5000, 'the publish to wait for its commit');
    const force = new AbortController();
    const closing = tb.broker.close({ drainTimeoutMs: 60_000, signal: force.signal });
    force.abort();
    await c.waitClosed();
    store.release();
    expect(await closing).toMatchObject({ cut: 1 });
  });
});

describe('connections accepted just before the stop (issue 8)', () => {
  for (const version of [5, 4] as const) {
    it(`MQTT-3.2.2-6 / MQTT5 3.2.2.2 v${version}: a CONNECT that arrives during the drain gets CONNACK ${version === 5 ? '0x88 Server unavailable' : '3 Server unavailable'}, not a silent close`, async () => {
      const tb = await h.broker();
      const c = await h.open(tb.port, version);
      await waitUntil(() => tb.broker.connections.size === 1, 5000, 'the connection to be accepted');
      const closing = tb.broker.close({ drainTimeoutMs: 5000 });
      c.send(connectPacket(version, { clientId: uid('late') }));
      const ack = await nextPacket(c, 2);
      expect(ack).toMatchObject({ type: 2, reasonCode: version === 5 ? RC.SERVER_UNAVAILABLE : 3 });
      await c.waitClosed();
      expect(await closing).toMatchObject({ connections: 1, drained: 1, cut: 0 });
    });
  }
});

describe('wills at a server stop (shutdown.wills)', () => {
  async function stopWith(wills: 'session-end' | 'never' | 'always'): Promise<{ published: number; stored: string[] }> {
    const tb = await h.broker();
    const will = { topic: 'wills/x', payload: Buffer.from('gone'), qos: 1 as const, retain: false };
    await h.connected(tb.port, 4, { clientId: uid('clean'), clean: true, will });
    const persistentId = uid('persistent');
    await h.connected(tb.port, 5, { clientId: persistentId, clean: false, will, properties: { sessionExpiryInterval: 3600 } });
    const stored: string[] = [];
    const putWill = tb.store.putWill.bind(tb.store);
    tb.store.putWill = (clientId, w) => {
      stored.push(clientId);
      putWill(clientId, w);
    };
    await tb.broker.close({ wills, drainTimeoutMs: 1000 });
    return { published: tb.broker.stats.willsPublished, stored: stored.map((id) => (id === persistentId ? 'persistent' : id)) };
  }

  it('session-end (default): the will of the session that ends fires; the persistent session keeps its will pending', async () => {
    expect(await stopWith('session-end')).toEqual({ published: 1, stored: ['persistent'] });
  });

  it('never: no will fires at the stop; the persistent session keeps its will pending', async () => {
    expect(await stopWith('never')).toEqual({ published: 0, stored: ['persistent'] });
  });

  it('always: every will fires, as on a network failure', async () => {
    expect(await stopWith('always')).toEqual({ published: 2, stored: [] });
  });
});
