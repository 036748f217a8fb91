/**
 * Issue 5, presence over real sockets: events on $holdfast/devices/{id}/presence (retained,
 * QoS 1) in order, the record kept in the store, the reconnect grace:
 * - connected -> disconnected (client DISCONNECT: at once, reason client-disconnect);
 * - connection lost, back within the grace: reconnecting -> connected, never disconnected;
 * - lost and not back: reconnecting, then disconnected with the lost connection's reason;
 * - kicked (device disabled): disconnected at once, reason administrative, 0x98;
 * - session takeover is not a disconnect; non-devices get no presence;
 * - start() after a restart marks records still "connected" as disconnected (server-restart).
 */
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryPlatformStore } from '../../src/adapters/persistence/memory/index.js';
import { allowEveryone } from '../../src/platform/device-auth/index.js';
import type { PresenceEvent } from '../../src/platform/presence/index.js';
import { waitUntil } from '../helpers/transport-wait.js';
import { connectOk, deviceWithSecret, startPlatformBroker, type PlatformBroker } from './platform-devices-harness.js';

let p: PlatformBroker | undefined;
const clients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await p?.stop();
  p = undefined;
});

class PresenceLog {
  readonly events: PresenceEvent[] = [];
  constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload) => {
      if (topic.endsWith('/presence') && payload.length > 0) this.events.push(JSON.parse(payload.toString()) as PresenceEvent);
    });
  }
  static async start(pb: PlatformBroker): Promise<PresenceLog> {
    const c = await connectOk(pb.url, { clientId: 'presence-observer', protocolVersion: 5 });
    clients.push(c);
    const log = new PresenceLog(c); // listening before SUBACK: retained events follow it at once
    await c.subscribeAsync('$holdfast/devices/+/presence', { qos: 1 });
    return log;
  }
  of(id: string): PresenceEvent[] {
    return this.events.filter((e) => e.deviceId === id);
  }
  states(id: string): string[] {
    return this.of(id).map((e) => e.state);
  }
  async waitFor(id: string, states: string[], timeoutMs = 5_000): Promise<void> {
    await waitUntil(() => this.states(id).length >= states.length, timeoutMs, `presence ${states.join(',')} of ${id}`, () => this.states(id));
    expect(this.states(id)).toEqual(states);
  }
}

async function device(pb: PlatformBroker, id: string, protocolVersion: 4 | 5 = 5): Promise<{ connect(): Promise<MqttClient> }> {
  const secret = await deviceWithSecret(pb, id);
  return {
    connect: async () => {
      const c = await connectOk(pb.url, { clientId: id, username: id, password: secret, protocolVersion, clean: true });
      clients.push(c);
      return c;
    },
  };
}

describe('presence', () => {
  it('issue 5: connected then disconnected (client DISCONNECT, no grace), with address, protocol version and reason; kept on the record', async () => {
    p = await startPlatformBroker({ graceMs: 5_000, fallback: allowEveryone });
    const log = await PresenceLog.start(p);
    const d = await device(p, 'pm-1', 4);
    const c = await d.connect();
    await log.waitFor('pm-1', ['connected']);
    const [connected] = log.of('pm-1');
    expect(connected.protocolVersion).toBe(4);
    expect(connected.remoteAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    expect((await p.registry.get('pm-1')).presence).toMatchObject({ state: 'connected', connectsLastMinute: 1 });
    await c.endAsync();
    await log.waitFor('pm-1', ['connected', 'disconnected']);
    expect(log.of('pm-1')[1]).toMatchObject({ reason: 'client-disconnect', reasonCode: 0 });
    await p.presence.flush();
    expect(await p.store.getPresence('pm-1')).toMatchObject({
      state: 'disconnected',
      lastDisconnectCause: 'client-disconnect',
      lastDisconnectReasonCode: 0,
      remoteAddress: connected.remoteAddress,
      protocolVersion: 4,
      connectsLastMinute: 1,
    });
    expect((await p.registry.list({ presence: 'disconnected', limit: 10 })).items.map((x) => x.id)).toEqual(['pm-1']);
    expect(p.presence.current('presence-observer')).toBeUndefined(); // not a device: no presence
    expect(log.of('presence-observer')).toEqual([]);
  });

  it('issue 5: a lost connection back within the grace is reconnecting -> connected, never disconnected', async () => {
    p = await startPlatformBroker({ graceMs: 10_000, fallback: allowEveryone });
    const log = await PresenceLog.start(p);
    const d = await device(p, 'pm-2');
    const c = await d.connect();
    await log.waitFor('pm-2', ['connected']);
    c.stream.destroy(); // the link drops: no DISCONNECT
    await log.waitFor('pm-2', ['connected', 'reconnecting']);
    expect(log.of('pm-2')[1]).toMatchObject({ reason: 'socket-closed' });
    await p.presence.flush();
    expect((await p.registry.list({ presence: 'reconnecting', limit: 10 })).items.map((x) => x.id)).toEqual(['pm-2']);
    await d.connect();
    await log.waitFor('pm-2', ['connected', 'reconnecting', 'connected']);
    await p.presence.flush();
    expect(await p.store.getPresence('pm-2')).toMatchObject({ state: 'connected', connectsLastMinute: 2, lastDisconnectCause: 'socket-closed' });
  });

  it('issue 5: a lost connection not back within the grace becomes disconnected, with its reason and the time it was lost', async () => {
    p = await startPlatformBroker({ graceMs: 300, fallback: allowEveryone });
    const log = await PresenceLog.start(p);
    const d = await device(p, 'pm-3');
    const c = await d.connect();
    await log.waitFor('pm-3', ['connected']);
    c.stream.destroy();
    await log.waitFor('pm-3', ['connected', 'reconnecting', 'disconnected']);
    const [, lost, gone] = log.of('pm-3');
    expect(gone).toMatchObject({ reason: 'socket-closed', at: lost.at });
    await p.presence.flush();
    expect(await p.store.getPresence('pm-3')).toMatchObject({ state: 'disconnected', since: lost.at, lastDisconnectCause: 'socket-closed' });
  });

  it('issue 5: a kicked device (disabled) is disconnected at once, reason administrative 0x98, despite the grace', async () => {
    p = await startPlatformBroker({ graceMs: 10_000, fallback: allowEveryone });
    const log = await PresenceLog.start(p);
    const d = await device(p, 'pm-4');
    await d.connect();
    await log.waitFor('pm-4', ['connected']);
    await p.registry.setEnabled('pm-4', false);
    await log.waitFor('pm-4', ['connected', 'disconnected']);
    expect(log.of('pm-4')[1]).toMatchObject({ reason: 'administrative', reasonCode: 0x98 });
  });

  it('issue 5: a session takeover is not a disconnect', async () => {
    p = await startPlatformBroker({ graceMs: 0, fallback: allowEveryone });
    const log = await PresenceLog.start(p);
    const d = await device(p, 'pm-5');
    const first = await d.connect();
    await log.waitFor('pm-5', ['connected']);
    const closed = new Promise<void>((resolve) => first.once('close', () => resolve()));
    await d.connect();
    await closed;
    await log.waitFor('pm-5', ['connected', 'connected']);
    // A marker event from another device: everything before it has been published.
    const marker = await device(p, 'pm-5-marker');
    await marker.connect();
    await log.waitFor('pm-5-marker', ['connected']);
    expect(log.states('pm-5')).toEqual(['connected', 'connected']);
    expect(p.presence.current('pm-5')).toMatchObject({ state: 'connected', connectsLastMinute: 2 });
  });

  it('issue 5: the last presence event is retained; deleting the device clears it', async () => {
    p = await startPlatformBroker({ graceMs: 0, fallback: allowEveryone });
    const d = await device(p, 'pm-6');
    const c = await d.connect();
    await waitUntil(() => p!.tb.broker.router.retained.has('$holdfast/devices/pm-6/presence'), 5_000, 'retained presence');
    await c.endAsync();
    await waitUntil(
      () => p!.tb.broker.router.retained.get('$holdfast/devices/pm-6/presence')?.payload.toString().includes('"disconnected"') === true,
      5_000,
      'retained disconnected',
    );
    const late = await PresenceLog.start(p);
    await late.waitFor('pm-6', ['disconnected']);
    await p.registry.delete('pm-6');
    expect(p.tb.broker.router.retained.has('$holdfast/devices/pm-6/presence')).toBe(false);
  });

  it('issue 5: deleting a connected device kicks it and leaves no retained presence behind', async () => {
    p = await startPlatformBroker({ graceMs: 10_000, fallback: allowEveryone });
    const log = await PresenceLog.start(p);
    const d = await device(p, 'pm-7');
    const c = await d.connect();
    await log.waitFor('pm-7', ['connected']);
    const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
    await p.registry.delete('pm-7');
    await closed;
    // Presence events are published in order: once a later device's event is seen, any event
    // of the deleted device would have been published before it.
    const marker = await device(p, 'pm-7-marker');
    await marker.connect();
    await log.waitFor('pm-7-marker', ['connected']);
    expect(p.tb.broker.router.retained.has('$holdfast/devices/pm-7/presence')).toBe(false);
    await p.presence.flush();
    expect(await p.store.getPresence('pm-7')).toBeUndefined();
  });

  it('issue 5: after a restart, records still connected or reconnecting are marked disconnected (server-restart)', async () => {
    const store = new MemoryPlatformStore();
    await store.open();
    const t = Date.now() - 60_000;
    for (const [id, state] of [['r-1', 'connected'], ['r-2', 'reconnecting'], ['r-3', 'disconnected']] as const) {
      await store.putDevice({ id, type: 'meter', labels: {}, metadata: {}, enabled: true, createdAt: t, updatedAt: t });
      await store.putPresence({
        deviceId: id,
        state,
        since: t,
        lastSeen: t,
        remoteAddress: '10.1.1.1:5000',
        protocolVersion: 5,
        lastDisconnectCause: undefined,
        lastDisconnectReasonCode: undefined,
        connectsLastMinute: 3,
      });
    }
    p = await startPlatformBroker({ store, graceMs: 0, fallback: allowEveryone });
    expect(await store.getPresence('r-1')).toMatchObject({ state: 'disconnected', lastDisconnectCause: 'server-restart', lastSeen: t });
    expect(await store.getPresence('r-2')).toMatchObject({ state: 'disconnected', lastDisconnectCause: 'server-restart' });
    expect(await store.getPresence('r-3')).toMatchObject({ state: 'disconnected', since: t, lastDisconnectCause: undefined });
    const log = await PresenceLog.start(p);
    await waitUntil(() => log.events.length >= 2, 5_000, 'retained restart events', () => log.events);
    expect(log.events.map((e) => `${e.deviceId} ${e.state} ${e.reason}`).sort()).toEqual([
      'r-1 disconnected server-restart',
      'r-2 disconnected server-restart',
    ]);
  });
});
