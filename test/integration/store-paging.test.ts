/**
 * Paging of long queues (issue 4: "streamed from disk on reconnect"): a persistent
 * session keeps at most session.maxInMemoryQueued queued deliveries in memory; the rest
 * live only in the store and are read back in order, in batches, as the queue drains.
 * Small limits (maxInMemoryQueued 4: read-back batches of 2) make every boundary reachable
 * with a handful of messages. Run against both adapters.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/persistence/memory/index.js';
import type { Store } from '../../src/ports/store.js';
import { StoreClient } from '../helpers/store-clients.js';
import { removeDir, sqliteAt, startStoreBroker, storeTempDir, type StoreBroker } from '../helpers/store-fixtures.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A store, and a second one on the same data (sqlite: a new instance on the same file; memory: the same instance). */
interface StorePair {
  first: Store;
  again(): Store;
}

const kinds: Array<[string, () => StorePair]> = [
  [
    'sqlite',
    () => {
      const dir = storeTempDir('holdfast-paging-');
      cleanup.push(() => removeDir(dir));
      return { first: sqliteAt(dir), again: () => sqliteAt(dir) };
    },
  ],
  [
    'memory',
    () => {
      const store = new MemoryStore();
      return { first: store, again: () => store };
    },
  ],
];

const persistent = (clientId: string, receiveMaximum?: number) => ({
  clientId,
  clean: false,
  properties: { sessionExpiryInterval: 3600, ...(receiveMaximum !== undefined ? { receiveMaximum } : {}) },
});

async function broker(store: Store): Promise<StoreBroker> {
  const b = await startStoreBroker({ store, config: { session: { maxInMemoryQueued: 4 } } });
  cleanup.push(() => b.stop());
  return b;
}

describe.each(kinds)('queue paging (%s store, maxInMemoryQueued 4)', (_kind, makeStores) => {
  it('MQTT-4.6.0-6 a backlog longer than the in-memory window, topped up while it drains, arrives complete and in order', async () => {
    const b = await broker(makeStores().first);
    const { client: s } = await StoreClient.connect(b.port, 5, persistent('pg'));
    await s.subscribe('pg/#', 1);
    s.disconnect();
    await s.waitClosed();
    const { client: pub } = await StoreClient.connect(b.port, 5, { clientId: 'pgpub' });
    for (let i = 1; i <= 11; i++) await pub.publishAcked({ topic: `pg/${i}`, payload: Buffer.from(`${i}`), qos: 1, retain: false, packetId: i });
    const session = b.broker.sessions.get('pg')!;
    expect(session.queuedCount).toBe(11);
    expect(session.queue.length).toBe(4);

    const { client: back } = await StoreClient.connect(b.port, 5, persistent('pg', 1), { autoAck: false });
    const got: string[] = [];
    let next = 12;
    while (got.length < 16) {
      await back.waitUntil(() => back.publishCount > got.length, 5000, `publish #${got.length + 1}`);
      got.push(back.publishes[got.length].topic);
      // While it drains, more messages arrive (they go to disk behind the backlog).
      if (next <= 16) {
        await pub.publishAcked({ topic: `pg/${next}`, payload: Buffer.from(`${next}`), qos: 1, retain: false, packetId: next });
        next++;
      }
      back.send({ type: 4, packetId: back.publishes[got.length - 1].packetId! });
    }
    await back.ping();
    expect(got).toEqual(Array.from({ length: 16 }, (_, i) => `pg/${i + 1}`));
    expect(back.publishCount).toBe(16);
  });

  it('MQTT-4.6.0-6 a message the subscriber publishes to itself in the same packet burst as its PUBACK (while a read-back is in flight) is not lost', async () => {
    const b = await broker(makeStores().first);
    const { client: s } = await StoreClient.connect(b.port, 5, persistent('me'));
    await s.subscribe('me/#', 1);
    s.disconnect();
    await s.waitClosed();
    const { client: pub } = await StoreClient.connect(b.port, 5, { clientId: 'mepub' });
    // 5 queued: 4 in memory, 1 on disk only.
    for (let i = 1; i <= 5; i++) await pub.publishAcked({ topic: `me/${i}`, payload: Buffer.from(`${i}`), qos: 1, retain: false, packetId: i });

    const { client: back } = await StoreClient.connect(b.port, 5, persistent('me', 1), { autoAck: false });
    await back.waitUntil(() => back.publishCount === 1, 5000, 'me/1');
    // One write: PUBACK me/1 (-> me/2 sent, the queue is down to 2: the disk read-back of me/5 starts),
    // then PUBLISH me/self (queued behind me/5).
    back.sendMany([
      { type: 4, packetId: back.publishes[0].packetId! },
      { type: 3, topic: 'me/self', payload: Buffer.from('self'), qos: 1, retain: false, dup: false, packetId: 100 },
    ]);
    await back.waitUntil(() => back.acks.has(100), 5000, 'PUBACK of me/self');
    // Acknowledge one at a time (window 1); a marker is published after me/4 has arrived.
    let acked = 1;
    const ackUpTo = async (n: number): Promise<void> => {
      while (acked < n) {
        await back.waitUntil(() => back.publishCount > acked || back.closed, 2000, `publish #${acked + 1}`);
        if (back.publishCount <= acked) return;
        back.send({ type: 4, packetId: back.publishes[acked].packetId! });
        acked++;
      }
    };
    await ackUpTo(4); // me/2, me/3, me/4
    await pub.publishAcked({ topic: 'me/marker', payload: Buffer.from('m'), qos: 1, retain: false, packetId: 50 });
    // The marker was published after me/self: it must not arrive before it (MQTT-4.6.0-6), and me/self must arrive.
    // (A lost message shows as a timeout on publish #7, then as the wrong list below.)
    await ackUpTo(7).catch(() => undefined);
    await back.ping();
    expect(back.publishes.map((p) => p.topic)).toEqual(['me/1', 'me/2', 'me/3', 'me/4', 'me/5', 'me/self', 'me/marker']);
  });

  it('MQTT-4.6.0-6 a restart with more queued than the in-memory window, then more messages: nothing replaced, all in order', async () => {
    const stores = makeStores();
    const b1 = await broker(stores.first);
    const { client: s } = await StoreClient.connect(b1.port, 5, persistent('rs'));
    await s.subscribe('rs/#', 1);
    s.disconnect();
    await s.waitClosed();
    const { client: pub } = await StoreClient.connect(b1.port, 5, { clientId: 'rspub' });
    for (let i = 1; i <= 10; i++) await pub.publishAcked({ topic: `rs/${i}`, payload: Buffer.from(`${i}`), qos: 1, retain: false, packetId: i });
    await b1.stop();

    const b2 = await broker(stores.again());
    expect(b2.broker.sessions.get('rs')!.queuedCount).toBe(10);
    const { client: pub2 } = await StoreClient.connect(b2.port, 5, { clientId: 'rspub' });
    for (let i = 11; i <= 13; i++) await pub2.publishAcked({ topic: `rs/${i}`, payload: Buffer.from(`${i}`), qos: 1, retain: false, packetId: i });
    expect(b2.broker.sessions.get('rs')!.queuedCount).toBe(13);
    const { client: back, connack } = await StoreClient.connect(b2.port, 5, persistent('rs'));
    expect(connack.sessionPresent).toBe(true);
    await back.waitUntil(() => back.publishCount >= 13, 2000, '13 messages').catch(() => undefined);
    await back.ping();
    expect(back.publishes.map((p) => p.topic)).toEqual(Array.from({ length: 13 }, (_, i) => `rs/${i + 1}`));
  });
});
