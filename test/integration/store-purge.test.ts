/**
 * Background purge (issue 4): expired queued messages and expired retained messages leave
 * the store in small batches (Broker.purge.batch = 500 per purge, one purge per
 * purge.intervalMs = 5 s), and expired sessions are removed. Time is a ManualClock; each
 * step advances it and calls broker.sweep(now) (the sweep timer may also run it: either way
 * at most one purge per 5 s of clock time).
 */
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/persistence/memory/index.js';
import type { SqliteStore } from '../../src/adapters/persistence/sqlite/index.js';
import { ManualClock } from '../../src/ports/clock.js';
import type { Store } from '../../src/ports/store.js';
import { publishMany, seqOf, seqPayload, StoreClient } from '../helpers/store-clients.js';
import { removeDir, sqliteAt, startStoreBroker, storeTempDir, type StoreBroker } from '../helpers/store-fixtures.js';
import { retainedOf } from '../unit/store/store-contract.js';

const EXPIRING = 1200; // queued, Message Expiry Interval 10 s
const EXPIRING_RETAINED = 1300;

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

async function storedDeliveries(store: Store, clientId: string): Promise<number[]> {
  const out: number[] = [];
  let after = 0;
  for (;;) {
    const rows = await store.loadDeliveries(clientId, after, 1000);
    if (rows.length === 0) return out;
    for (const r of rows) out.push(seqOf(r.message.payload));
    after = rows[rows.length - 1].delivery.seq;
  }
}

async function storedSessionIds(store: Store): Promise<string[]> {
  const ids: string[] = [];
  for await (const s of store.loadSessions(0)) ids.push(s.session.clientId);
  return ids.sort();
}

const kinds: Array<[string, () => Store]> = [
  [
    'sqlite',
    () => {
      const dir = storeTempDir('holdfast-purge-');
      cleanup.push(() => removeDir(dir));
      return sqliteAt(dir);
    },
  ],
  ['memory', () => new MemoryStore()],
];

describe.each(kinds)('background purge (%s store)', (kind, makeStore) => {
  it('MQTT-3.3.2-5 / MQTT5 3.3.2.3.3 expired queued and retained messages are purged in batches of at most 500; the rest stay and are delivered', async () => {
    const clock = new ManualClock(Date.now());
    const b: StoreBroker = await startStoreBroker({ store: makeStore(), clock });
    cleanup.push(() => b.stop());
    const { broker, store } = b;

    // An offline persistent subscriber, and one with a short session expiry.
    const { client: sub } = await StoreClient.connect(b.port, 5, { clientId: 'px', clean: false, properties: { sessionExpiryInterval: 3600 } });
    await sub.subscribe('p/#', 1);
    sub.disconnect();
    const { client: short } = await StoreClient.connect(b.port, 5, { clientId: 'short', clean: false, properties: { sessionExpiryInterval: 10 } });
    await short.subscribe('p/#', 1);
    short.disconnect();
    await sub.waitClosed();
    await short.waitClosed();

    const { client: pub } = await StoreClient.connect(b.port, 5, { clientId: 'ppub' }, { record: false });
    // seq 1..5: never expire; 6..1205: expire after 10 s; 1206..1210: expire after an hour.
    const expiryOf = (i: number): number | undefined => (i <= 5 ? undefined : i <= 5 + EXPIRING ? 10 : 3600);
    const total = 10 + EXPIRING;
    expect(
      await publishMany(pub, total, (i) => ({
        topic: `p/${i}`,
        payload: seqPayload(i),
        properties: expiryOf(i) === undefined ? undefined : { messageExpiryInterval: expiryOf(i) },
      })),
    ).toBe(0);
    // Retained: 3 that never expire, then 1,300 that expire after 10 s.
    expect(
      await publishMany(pub, 3 + EXPIRING_RETAINED, (i) => ({
        topic: i <= 3 ? `keep/${i}` : `gone/${i}`,
        payload: seqPayload(i),
        retain: true,
        properties: i <= 3 ? undefined : { messageExpiryInterval: 10 },
      })),
    ).toBe(0);
    pub.disconnect();
    await store.flush();
    expect((await storedDeliveries(store, 'px')).length).toBe(total);
    expect((await retainedOf(store)).size).toBe(3 + EXPIRING_RETAINED);

    // 11 s later: everything with a 10 s expiry has expired, and so has the session 'short'.
    clock.advance(11_000);
    const purged0 = broker.stats.purgedRows;
    broker.sweep(clock.now());
    await nextTurn();
    await store.flush();
    const afterOne = await storedDeliveries(store, 'px');
    const retainedAfterOne = (await retainedOf(store)).size;
    // One purge: at most 500 expired deliveries; retained: 500 index entries examined by the broker,
    // plus (sqlite) up to 500 expired rows removed by the store's own purge. Some are left for later.
    expect(total - afterOne.length).toBeGreaterThan(0);
    expect(total - afterOne.length).toBeLessThanOrEqual(broker.purge.batch);
    expect(retainedAfterOne).toBeLessThan(3 + EXPIRING_RETAINED);
    expect(retainedAfterOne).toBeGreaterThan(3);
    expect(3 + EXPIRING_RETAINED - retainedAfterOne).toBeLessThanOrEqual(2 * broker.purge.batch);
    expect(broker.stats.purgedRows).toBeGreaterThan(purged0);
    // The expired session ended (MQTT-4.1.0-2 / MQTT5 3.1.2.11.2) and left the store.
    expect(broker.sessions.has('short')).toBe(false);
    expect(await storedSessionIds(store)).toEqual(['px']);

    // More purges, one per 5 s of clock time, until nothing changes.
    let rounds = 1;
    for (let last = -1; rounds < 10; rounds++) {
      const now = (await storedDeliveries(store, 'px')).length + (await retainedOf(store)).size;
      if (now === last) break;
      last = now;
      clock.advance(broker.purge.intervalMs);
      broker.sweep(clock.now());
      await nextTurn();
      await store.flush();
    }
    expect(rounds).toBeGreaterThanOrEqual(3); // 1,200 expired deliveries need three purges of 500
    const keptSeqs = [1, 2, 3, 4, 5, ...Array.from({ length: 5 }, (_, k) => 6 + EXPIRING + k)];
    expect(await storedDeliveries(store, 'px')).toEqual(keptSeqs);
    expect([...(await retainedOf(store)).keys()].sort()).toEqual(['keep/1', 'keep/2', 'keep/3']);
    expect([...broker.router.retained.entries()].map(([t]) => t).sort()).toEqual(['keep/1', 'keep/2', 'keep/3']);
    if (kind === 'sqlite') {
      // Messages no delivery refers to any more are gone too.
      const db = new Database((store as SqliteStore).file, { readonly: true });
      try {
        expect((db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n).toBe(keptSeqs.length);
      } finally {
        db.close();
      }
    }

    // The subscriber comes back: exactly the unexpired messages, in order.
    const { client: back, connack } = await StoreClient.connect(b.port, 5, { clientId: 'px', clean: false, properties: { sessionExpiryInterval: 3600 } });
    expect(connack.sessionPresent).toBe(true);
    await back.waitUntil(() => back.publishCount >= keptSeqs.length, 5000, 'kept messages');
    await back.ping();
    expect(back.publishes.map((p) => seqOf(p.payload))).toEqual(keptSeqs);
    back.disconnect();
  }, 30_000);
});
