/**
 * Device shadows over real sockets (issue 5): the delta round trip (API sets desired ->
 * the device gets the delta -> it reports -> the delta is empty and no more delta comes),
 * optimistic concurrency (SHADOW_VERSION_MISMATCH from the API and on update/rejected),
 * the size cap (SHADOW_TOO_LARGE), the history of the last N changes, the delta pushed on
 * connect, get/accepted, and a 3.1.1 device.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { isPlatformError } from '../../src/platform/errors.js';
import { addDevice, Device, startPlatformBroker, type PlatformBroker } from './platform-commands-helpers.js';

const cleanup: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
});

async function platformBroker(opts: Parameters<typeof startPlatformBroker>[0] = {}): Promise<PlatformBroker> {
  const b = await startPlatformBroker(opts);
  cleanup.push(() => b.stop());
  return b;
}

async function device(b: PlatformBroker, id: string, o: Parameters<typeof Device.connect>[2] = {}): Promise<Device> {
  const d = await Device.connect(b.port, id, o);
  cleanup.push(() => d.end());
  return d;
}

/** A shadow/get round trip: every reply the server published before it has arrived when it returns. */
async function getRoundTrip(d: Device): Promise<Record<string, unknown>> {
  const before = d.on('shadow/get/accepted').length;
  await d.publishJson('shadow/get', {});
  const all = await d.waitFor('shadow/get/accepted', before + 1);
  return d.json(all[before]);
}

describe('issue 5 shadows: delta round trip', () => {
  it('API sets desired -> device gets the delta -> device reports -> delta empty, no more delta', async () => {
    const b = await platformBroker();
    await addDevice(b.platform, 'meter-1');
    const d = await device(b, 'meter-1');

    const doc = await b.shadows.updateDesired('meter-1', { led: 'on', fw: { version: 2, channel: 'stable' } });
    expect(doc.version).toBe(1);
    expect(doc.delta).toEqual({ led: 'on', fw: { version: 2, channel: 'stable' } });

    const [delta] = await d.waitFor('shadow/delta');
    expect(delta.qos).toBe(1);
    const body = d.json(delta);
    expect(body.version).toBe(1);
    expect(body.delta).toEqual({ led: 'on', fw: { version: 2, channel: 'stable' } });
    const meta = body.metadata as Record<string, number>;
    expect(Object.keys(meta).sort()).toEqual(['fw', 'led']);
    expect(meta.led).toBe(doc.metadata.desired.led);

    // The device reports part of it: the delta shrinks to what still differs (deep compare).
    await d.publishJson('shadow/update', { reported: { led: 'on', fw: { version: 1, channel: 'stable' } } });
    const [acc1] = await d.waitFor('shadow/update/accepted');
    const a1 = d.json(acc1);
    expect(a1.version).toBe(2);
    expect(a1.delta).toEqual({ fw: { version: 2, channel: 'stable' } });

    // Then the rest (nested merge: only fw.version changes).
    await d.publishJson('shadow/update', { reported: { fw: { version: 2 } } });
    const acc = await d.waitFor('shadow/update/accepted', 2);
    const a2 = d.json(acc[1]);
    expect(a2.version).toBe(3);
    expect(a2.delta).toEqual({});
    expect(a2.reported).toEqual({ led: 'on', fw: { version: 2, channel: 'stable' } });

    // No more delta: a later round trip on the same device line has seen none.
    const got = await getRoundTrip(d);
    expect(got.version).toBe(3);
    expect(got.delta).toEqual({});
    expect(d.on('shadow/delta')).toHaveLength(1);

    const api = await b.shadows.get('meter-1');
    expect(api.delta).toEqual({});
    expect(api.metadata.reported.fw).toBeGreaterThan(0);
  });

  it('null deletes a key and arrays replace; a desired change pushes the new delta', async () => {
    const b = await platformBroker();
    await addDevice(b.platform, 'm-2');
    const d = await device(b, 'm-2');
    await b.shadows.updateDesired('m-2', { modes: ['a', 'b'], tz: 'UTC' });
    await d.waitFor('shadow/delta');
    await d.publishJson('shadow/update', { reported: { modes: ['a', 'b'], tz: 'UTC' } });
    await d.waitFor('shadow/update/accepted');

    const doc = await b.shadows.updateDesired('m-2', { modes: ['c'], tz: null });
    expect(doc.desired).toEqual({ modes: ['c'] });
    expect(doc.metadata.desired.tz).toBeUndefined();
    const deltas = await d.waitFor('shadow/delta', 2);
    expect(d.json(deltas[1]).delta).toEqual({ modes: ['c'] });
  });
});

describe('issue 5 shadows: optimistic concurrency, size cap, history', () => {
  it('an update with a stale expected version is rejected (API and device), the document unchanged', async () => {
    const b = await platformBroker();
    await addDevice(b.platform, 'oc-1');
    const d = await device(b, 'oc-1');
    await b.shadows.updateDesired('oc-1', { a: 1 }, 0);
    await b.shadows.updateDesired('oc-1', { a: 2 }, 1);

    const err = await b.shadows.updateDesired('oc-1', { a: 3 }, 1).catch((e: unknown) => e);
    expect(isPlatformError(err, 'SHADOW_VERSION_MISMATCH')).toBe(true);

    await d.publishJson('shadow/update', { reported: { a: 2 }, version: 1 });
    const [rej] = await d.waitFor('shadow/update/rejected');
    expect(d.json(rej)).toMatchObject({ code: 'SHADOW_VERSION_MISMATCH' });

    await d.publishJson('shadow/update', { reported: { a: 2 }, version: 2 });
    const [acc] = await d.waitFor('shadow/update/accepted');
    expect(d.json(acc)).toMatchObject({ version: 3, delta: {} });
    const doc = await b.shadows.get('oc-1');
    expect(doc.desired).toEqual({ a: 2 });
    expect(doc.version).toBe(3);
  });

  it('documents over the size cap are refused with SHADOW_TOO_LARGE (API and device)', async () => {
    const b = await platformBroker({ shadowMaxBytes: 200 });
    await addDevice(b.platform, 'big-1');
    const d = await device(b, 'big-1');
    await b.shadows.updateDesired('big-1', { small: 'x'.repeat(100) });
    const err = await b.shadows.updateDesired('big-1', { more: 'y'.repeat(100) }).catch((e: unknown) => e);
    expect(isPlatformError(err, 'SHADOW_TOO_LARGE')).toBe(true);

    await d.publishJson('shadow/update', { reported: { blob: 'z'.repeat(300) } });
    const [rej] = await d.waitFor('shadow/update/rejected');
    expect(d.json(rej)).toMatchObject({ code: 'SHADOW_TOO_LARGE' });
    const doc = await b.shadows.get('big-1');
    expect(doc.version).toBe(1);
    expect(doc.reported).toEqual({});
    expect(Object.keys(doc.desired)).toEqual(['small']);
  });

  it('keeps the history of the last N changes, newest first, with side, patch and author', async () => {
    const b = await platformBroker({ historyLimit: 3 });
    await addDevice(b.platform, 'h-1');
    const d = await device(b, 'h-1');
    for (let i = 1; i <= 4; i++) await b.shadows.updateDesired('h-1', { step: i });
    await d.publishJson('shadow/update', { reported: { step: 4 } });
    await d.waitFor('shadow/update/accepted');

    const h = await b.shadows.history('h-1', 10);
    expect(h.map((c) => c.version)).toEqual([5, 4, 3]);
    expect(h[0]).toMatchObject({ side: 'reported', by: 'device', patch: { step: 4 } });
    expect(h[1]).toMatchObject({ side: 'desired', by: 'api', patch: { step: 4 } });
    expect((await b.shadows.history('h-1', 1)).map((c) => c.version)).toEqual([5]);
  });

  it('unknown devices: DEVICE_NOT_FOUND from the API, update/rejected to the client', async () => {
    const b = await platformBroker();
    const err = await b.shadows.get('ghost').catch((e: unknown) => e);
    expect(isPlatformError(err, 'DEVICE_NOT_FOUND')).toBe(true);
    const d = await device(b, 'ghost');
    await d.publishJson('shadow/update', { reported: { a: 1 } });
    const [rej] = await d.waitFor('shadow/update/rejected');
    expect(d.json(rej)).toMatchObject({ code: 'DEVICE_NOT_FOUND' });
  });

  it('malformed updates are rejected with INVALID_INPUT', async () => {
    const b = await platformBroker();
    await addDevice(b.platform, 'bad-1');
    const d = await device(b, 'bad-1');
    await d.client.publishAsync(d.topic('shadow/update'), 'not json', { qos: 1 });
    await d.publishJson('shadow/update', { reported: [1, 2] });
    const rej = await d.waitFor('shadow/update/rejected', 2);
    expect(rej.map((r) => d.json(r).code)).toEqual(['INVALID_INPUT', 'INVALID_INPUT']);
  });

  it("messages on another device's shadow topic are ignored (the publisher must be the device)", async () => {
    const b = await platformBroker();
    await addDevice(b.platform, 'victim');
    await addDevice(b.platform, 'intruder');
    const victim = await device(b, 'victim');
    const intruder = await device(b, 'intruder');
    await intruder.client.publishAsync(victim.topic('shadow/update'), JSON.stringify({ reported: { owned: true } }), { qos: 1 });
    // The victim's own request after it: its reply comes after anything the intruder caused.
    const got = await getRoundTrip(victim);
    expect(got.version).toBe(0);
    expect(got.reported).toEqual({});
    expect(victim.on('shadow/update/accepted')).toHaveLength(0);
    expect(victim.on('shadow/update/rejected')).toHaveLength(0);
  });
});

describe('issue 5 shadows: delta when the device connects', () => {
  it('a persistent v5 device that was offline while desired changed gets one delta on connect', async () => {
    const b = await platformBroker();
    await addDevice(b.platform, 'p-1');
    const first = await Device.connect(b.port, 'p-1', { persistent: true });
    await first.end();

    await b.shadows.updateDesired('p-1', { interval: 60 });
    await b.shadows.updateDesired('p-1', { interval: 30 });

    const d = await device(b, 'p-1', { persistent: true, subscribe: false });
    expect(d.sessionPresent).toBe(true);
    const [delta] = await d.waitFor('shadow/delta');
    expect(d.json(delta)).toMatchObject({ version: 2, delta: { interval: 30 } });
    // Desired changes while offline were not queued: exactly the one delta pushed on connect.
    await getRoundTrip(d);
    expect(d.on('shadow/delta')).toHaveLength(1);
  });

  it('no delta on connect when desired equals reported', async () => {
    const b = await platformBroker();
    await addDevice(b.platform, 'p-2');
    await b.shadows.updateDesired('p-2', { a: 1 });
    await b.shadows.updateReported('p-2', { a: 1 }, undefined, 'test');
    const first = await Device.connect(b.port, 'p-2', { persistent: true });
    await first.end();
    const d = await device(b, 'p-2', { persistent: true, subscribe: false });
    const got = await getRoundTrip(d);
    expect(got.delta).toEqual({});
    expect(d.on('shadow/delta')).toHaveLength(0);
  });

  it('a 3.1.1 device: delta on connect, update/accepted and get/accepted', async () => {
    const b = await platformBroker();
    await addDevice(b.platform, 'v4-1');
    const first = await Device.connect(b.port, 'v4-1', { version: 4, persistent: true });
    await first.end();
    await b.shadows.updateDesired('v4-1', { relay: true });
    const d = await device(b, 'v4-1', { version: 4, persistent: true, subscribe: false });
    const [delta] = await d.waitFor('shadow/delta');
    expect(d.json(delta)).toMatchObject({ version: 1, delta: { relay: true } });
    await d.publishJson('shadow/update', { reported: { relay: true } });
    const [acc] = await d.waitFor('shadow/update/accepted');
    expect(d.json(acc)).toMatchObject({ version: 2, delta: {}, reported: { relay: true } });
  });
});
