/**
 * Issue 5, the presence state machine and its write queue without sockets: a fake broker
 * that records publishes, a manual clock and sweep(now) for the grace and retention
 * deadlines, a gated store for the bounded, coalescing write queue.
 */
import { describe, expect, it } from 'vitest';
import { MemoryPlatformStore } from '../../src/adapters/persistence/memory/index.js';
import type { ServerPublish } from '../../src/broker/broker.js';
import type { ClientInfo } from '../../src/broker/hooks.js';
import { silentLogger } from '../../src/observability/logger.js';
import { PresenceTracker, PresenceWriter, type PresenceEvent } from '../../src/platform/presence/index.js';
import { ManualClock } from '../../src/ports/clock.js';
import type { PresenceRecord } from '../../src/ports/platform-store.js';

const conn = (clientId: string, port = 1000): ClientInfo => ({
  clientId,
  username: clientId,
  protocolVersion: 5,
  remoteAddress: `10.0.0.9:${port}`,
  listener: 'mqtt',
  certificate: undefined,
});

async function setup(graceMs: number) {
  const clock = new ManualClock(1_700_000_000_000);
  const store = new MemoryPlatformStore();
  const published: ServerPublish[] = [];
  const tracker = new PresenceTracker({
    broker: { publishFromServer: (p) => (published.push(p), 1) },
    store,
    clock,
    logger: silentLogger(),
    isDevice: (c) => c.clientId.startsWith('dev-'),
    graceMs,
    retentionMs: 60_000,
  });
  await tracker.start();
  const events = async (): Promise<PresenceEvent[]> => {
    await Promise.resolve(); // publishes run in a microtask
    return published.map((p) => JSON.parse(p.payload.toString()) as PresenceEvent);
  };
  return { clock, store, tracker, published, events };
}

describe('presence state machine', () => {
  it('issue 5: reconnecting within the grace, disconnected after it (at = when lost), evicted after the retention', async () => {
    const { clock, store, tracker, published, events } = await setup(5_000);
    const a = conn('dev-1');
    tracker.onConnected(a);
    clock.advance(1_000);
    tracker.onDisconnected(a, 'keepalive-timeout', 0x8d);
    const lostAt = clock.now();
    clock.advance(4_999);
    tracker.sweep();
    expect((await events()).map((e) => e.state)).toEqual(['connected', 'reconnecting']);
    clock.advance(1);
    tracker.sweep();
    const ev = await events();
    expect(ev.map((e) => e.state)).toEqual(['connected', 'reconnecting', 'disconnected']);
    expect(ev[2]).toEqual({ deviceId: 'dev-1', state: 'disconnected', at: lostAt, reason: 'keepalive-timeout', reasonCode: 0x8d });
    expect(published.every((p) => p.retain === true && p.qos === 1 && p.topic === '$holdfast/devices/dev-1/presence')).toBe(true);
    await tracker.flush();
    expect(await store.getPresence('dev-1')).toMatchObject({ state: 'disconnected', since: lostAt, lastDisconnectCause: 'keepalive-timeout' });
    expect(tracker.trackedDevices).toBe(1);
    clock.advance(60_000);
    tracker.sweep();
    expect(tracker.trackedDevices).toBe(0);
    // Back later: the reason of the last disconnect is read from the store, not lost.
    tracker.onConnected(conn('dev-1', 2000));
    await tracker.flush();
    expect(await store.getPresence('dev-1')).toMatchObject({
      state: 'connected',
      remoteAddress: '10.0.0.9:2000',
      lastDisconnectCause: 'keepalive-timeout',
      lastDisconnectReasonCode: 0x8d,
      connectsLastMinute: 1,
    });
    await tracker.stop();
  });

  it('issue 5: a reconnect within the grace cancels the pending disconnect; the old connection\'s late end is ignored', async () => {
    const { clock, tracker, events } = await setup(5_000);
    const a = conn('dev-2');
    tracker.onConnected(a);
    tracker.onDisconnected(a, 'socket-error', 0);
    clock.advance(1_000);
    const b = conn('dev-2', 1001);
    tracker.onConnected(b);
    tracker.onDisconnected(a, 'socket-closed', 0); // stale: not the current connection
    clock.advance(10_000);
    tracker.sweep();
    expect((await events()).map((e) => e.state)).toEqual(['connected', 'reconnecting', 'connected']);
    expect(tracker.current('dev-2')).toMatchObject({ state: 'connected', remoteAddress: '10.0.0.9:1001', connectsLastMinute: 2 });
    await tracker.stop();
  });

  it('issue 5: connects in the last minute count flapping; non-devices are not tracked', async () => {
    const { clock, tracker, events } = await setup(0);
    for (let i = 0; i < 5; i++) {
      const c = conn('dev-3', 3000 + i);
      tracker.onConnected(c);
      tracker.onDisconnected(c, 'socket-closed', 0); // graceMs 0: disconnected at once
      clock.advance(20_000);
    }
    // connects at t=0,20,40,60,80 s; now t=100 s: the ones after t=40 s count.
    expect(tracker.current('dev-3')).toMatchObject({ state: 'disconnected', connectsLastMinute: 2 });
    tracker.onConnected(conn('console'));
    expect(tracker.current('console')).toBeUndefined();
    expect((await events()).filter((e) => e.deviceId === 'console')).toEqual([]);
    await tracker.stop();
  });
});

describe('presence write queue', () => {
  it('coalesces per device and drops new devices beyond maxPending (counted)', async () => {
    const written: PresenceRecord[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const store = new MemoryPlatformStore();
    const slow = Object.assign(store, {
      putPresence: async (p: PresenceRecord) => {
        await gate;
        written.push(p);
      },
    });
    const w = new PresenceWriter(slow, silentLogger(), 2);
    const rec = (deviceId: string, since: number): PresenceRecord => ({
      deviceId,
      state: 'connected',
      since,
      lastSeen: since,
      remoteAddress: undefined,
      protocolVersion: 5,
      lastDisconnectCause: undefined,
      lastDisconnectReasonCode: undefined,
      connectsLastMinute: 1,
    });
    const put = (id: string, since: number) => w.enqueue(id, { readStored: false, build: () => rec(id, since) });
    expect(put('a', 1)).toBe(true);
    await new Promise((r) => setImmediate(r)); // the writer takes `a` and waits on the gate
    expect(put('b', 1)).toBe(true);
    expect(put('b', 2)).toBe(true); // coalesced
    expect(put('c', 1)).toBe(true);
    expect(put('d', 1)).toBe(false); // 2 devices queued: full
    expect(w.counters).toMatchObject({ coalesced: 1, dropped: 1 });
    release();
    await w.flush();
    expect(written.map((r) => `${r.deviceId}@${r.since}`)).toEqual(['a@1', 'b@2', 'c@1']);
  });
});
