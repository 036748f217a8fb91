/**
 * The device facts of bridge routes with deviceType / labels (src/app/device-facts.ts): read
 * when a device authenticates, only while a route needs them; the static (synchronous)
 * path stays synchronous for clients that are not devices; bounded.
 */
import { describe, expect, it } from 'vitest';
import type { AuthRequest, Hooks } from '../../../src/broker/hooks.js';
import { DeviceFactsCache } from '../../../src/app/device-facts.js';
import { chainAdmitPublish } from '../../../src/app/bridges.js';

const req = (clientId: string): AuthRequest => ({
  client: { clientId, username: clientId, protocolVersion: 5, remoteAddress: '127.0.0.1:1', listener: 'mqtt', certificate: undefined },
  password: undefined,
  connectProperties: undefined,
});

const registry = {
  lookups: 0,
  async get(id: string) {
    this.lookups++;
    if (!id.startsWith('dev')) throw Object.assign(new Error('no such device'), { code: 'DEVICE_NOT_FOUND' });
    return { id, type: 'meter', labels: { site: id === 'dev1' ? 'north' : 'south' } } as never;
  },
};

describe('device facts for bridge routes', () => {
  it('looks a device up when it authenticates (before the CONNACK), only while routes need it', async () => {
    let needed = true;
    const cache = new DeviceFactsCache(registry, () => needed, 2);
    const hooks: Hooks = { authenticate: (r) => (r.client.clientId.startsWith('dev') ? Promise.resolve({ ok: true, username: r.client.clientId }) : { ok: true }) };
    cache.install(hooks);
    const ac = new AbortController();
    expect(await hooks.authenticate!(req('dev1'), ac.signal)).toEqual({ ok: true, username: 'dev1' });
    expect(cache.lookup('dev1')).toEqual({ type: 'meter', labels: { site: 'north' } });
    // Not a device: answered synchronously, nothing looked up.
    const before = registry.lookups;
    expect(hooks.authenticate!(req('app'), ac.signal)).toEqual({ ok: true });
    expect(registry.lookups).toBe(before);
    // Bounded: the least recently connected goes.
    await hooks.authenticate!(req('dev2'), ac.signal);
    await hooks.authenticate!(req('dev3'), ac.signal);
    expect(cache.size).toBe(2);
    expect(cache.lookup('dev1')).toBeUndefined();
    // No route with device conditions: no lookups at all.
    needed = false;
    const n = registry.lookups;
    await hooks.authenticate!(req('dev4'), ac.signal);
    expect(registry.lookups).toBe(n);
    expect(cache.lookup('dev4')).toBeUndefined();
  });

  it('chains admitPublish: the first refusal wins, the next runs only when the first admits', () => {
    const hooks: Hooks = {};
    const calls: string[] = [];
    const client = req('c').client;
    chainAdmitPublish(hooks, (_c, topic) => (calls.push(`a:${topic}`), topic === 'x' ? { reasonCode: 0x97, reason: 'a' } : undefined));
    chainAdmitPublish(hooks, (_c, topic) => (calls.push(`b:${topic}`), topic === 'y' ? { reasonCode: 0x97, reason: 'b' } : undefined));
    expect(hooks.admitPublish!(client, 'x', 1, false)).toEqual({ reasonCode: 0x97, reason: 'a' });
    expect(hooks.admitPublish!(client, 'y', 1, false)).toEqual({ reasonCode: 0x97, reason: 'b' });
    expect(hooks.admitPublish!(client, 'z', 1, false)).toBeUndefined();
    expect(calls).toEqual(['a:x', 'a:y', 'b:y', 'a:z', 'b:z']);
  });
});
