/**
 * ShadowServiceImpl against the memory platform store and an unstarted broker (its server
 * publish/subscribe API works without listeners): concurrent API writes are serialized per
 * device (no lost update), a write that loses a race with another writer is retried
 * (or refused when it named an expected version), and deltas are published only to a
 * connected device.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../../src/adapters/persistence/memory/index.js';
import { MemoryPlatformStore } from '../../../src/adapters/persistence/memory/memory-platform-store.js';
import { Broker } from '../../../src/broker/broker.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { ManualClock } from '../../../src/ports/clock.js';
import type { ShadowChange, ShadowRecord } from '../../../src/ports/platform-store.js';
import { isPlatformError } from '../../../src/platform/errors.js';
import { ShadowServiceImpl } from '../../../src/platform/shadows/index.js';
import { testConfig } from '../../helpers/broker.js';

/** A store where another writer bumps the version right before our next `racesLeft` writes. */
class RacyStore extends MemoryPlatformStore {
  racesLeft = 0;
  override async putShadow(s: ShadowRecord, expected: number, change: ShadowChange, limit: number): Promise<boolean> {
    if (this.racesLeft > 0) {
      this.racesLeft--;
      const cur = (await this.getShadow(s.deviceId))!;
      const other = { ...cur, reported: { ...cur.reported, other: this.racesLeft }, version: cur.version + 1 };
      await super.putShadow(other, cur.version, { ...change, version: other.version, side: 'reported', patch: {}, by: 'other' }, limit);
    }
    return super.putShadow(s, expected, change, limit);
  }
}

async function setup() {
  const store = new RacyStore();
  const clock = new ManualClock();
  const broker = new Broker(testConfig(), { store: new MemoryStore(), logger: silentLogger(), clock });
  const published: string[] = [];
  broker.subscribeInternal('$holdfast/#', (m) => published.push(m.topic));
  const shadows = new ShadowServiceImpl({
    store,
    broker,
    clock,
    logger: silentLogger(),
    maxBytes: 4096,
    historyLimit: 100,
    devices: async (id) => id.startsWith('dev'),
  });
  shadows.start();
  return { store, clock, shadows, published };
}

describe('issue 5 ShadowServiceImpl', () => {
  it('serializes concurrent writes of one device: every change lands, one version each', async () => {
    const { shadows } = await setup();
    const docs = await Promise.all(Array.from({ length: 40 }, (_, i) => shadows.updateDesired('dev-1', { [`k${i}`]: i })));
    expect(docs.map((d) => d.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const doc = await shadows.get('dev-1');
    expect(doc.version).toBe(40);
    expect(Object.keys(doc.desired)).toHaveLength(40);
    expect(await shadows.history('dev-1', 100)).toHaveLength(40);
  });

  it('a write that lost a race is retried on the new version; with an expected version it is refused', async () => {
    const { store, shadows } = await setup();
    await shadows.updateDesired('dev-2', { a: 1 });
    store.racesLeft = 1;
    const doc = await shadows.updateDesired('dev-2', { b: 2 });
    expect(doc.version).toBe(3); // the other writer's version 2, then ours
    expect(doc.reported).toEqual({ other: 0 });
    expect(doc.desired).toEqual({ a: 1, b: 2 });

    store.racesLeft = 1;
    const err = await shadows.updateDesired('dev-2', { c: 3 }, 3).catch((e: unknown) => e);
    expect(isPlatformError(err, 'SHADOW_VERSION_MISMATCH')).toBe(true);
    expect((await shadows.get('dev-2')).desired).toEqual({ a: 1, b: 2 });
  });

  it('refuses patches that are not objects, bad versions and unknown devices; an empty patch changes nothing', async () => {
    const { shadows } = await setup();
    for (const p of [null, [1], 'x', 5]) {
      expect(isPlatformError(await shadows.updateDesired('dev-3', p as never).catch((e: unknown) => e), 'INVALID_INPUT')).toBe(true);
    }
    expect(isPlatformError(await shadows.updateDesired('dev-3', {}, -1).catch((e: unknown) => e), 'INVALID_INPUT')).toBe(true);
    expect(isPlatformError(await shadows.updateDesired('nope', { a: 1 }).catch((e: unknown) => e), 'DEVICE_NOT_FOUND')).toBe(true);
    expect(isPlatformError(await shadows.history('dev-3', 0).catch((e: unknown) => e), 'INVALID_INPUT')).toBe(true);
    const doc = await shadows.updateDesired('dev-3', {});
    expect(doc.version).toBe(0);
    expect(await shadows.history('dev-3', 10)).toEqual([]);
  });

  it('timestamps come from the clock, per top-level key', async () => {
    const { shadows, clock } = await setup();
    await shadows.updateDesired('dev-4', { a: 1, b: 1 });
    const t1 = clock.now();
    clock.advance(500);
    const doc = await shadows.updateDesired('dev-4', { b: 2 });
    expect(doc.metadata.desired).toEqual({ a: t1, b: t1 + 500 });
    expect(doc.updatedAt).toBe(t1 + 500);
  });

  it('no delta is published to a device that is not connected', async () => {
    const { shadows, published } = await setup();
    await shadows.updateDesired('dev-5', { a: 1 });
    shadows.onDeviceConnected('dev-5'); // called, but no session is attached
    await shadows.idle();
    expect(published).toEqual([]);
  });
});
