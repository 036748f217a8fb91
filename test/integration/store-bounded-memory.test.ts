/**
 * Bounded memory with a large backlog (issue 4): 100,000 QoS 1 messages queued for one
 * offline persistent session stay on disk, not in RAM (the session keeps at most
 * session.maxInMemoryQueued of them in memory); on reconnect all 100,000 arrive in order,
 * read back from the store in batches.
 *
 * The bound: each message has a 200-byte payload, so the payloads alone are 20 MB; held in
 * memory each queued message also costs a Delivery and a Message object, a Buffer object and
 * a topic string (at least ~250 bytes more), i.e. >= 45 MB for 100,000 (measured: 53 MB
 * with maxInMemoryQueued raised to 200,000, everything in RAM). Retained growth (heapUsed +
 * external after a full GC) must stay below 5 MB, a tenth of that; with maxInMemoryQueued =
 * 1,000 about 1% of the backlog is expected in memory (measured: ~1 MB).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { forceGc } from '../helpers/transport-memory.js';
import { publishMany, seqOf, seqPayload, StoreClient } from '../helpers/store-clients.js';
import { removeDir, sqliteAt, startStoreBroker, storeTempDir, type StoreBroker } from '../helpers/store-fixtures.js';

const N = 100_000;
const PAYLOAD = 200;
const BOUND_BYTES = 5 * 1024 * 1024;

const dir = storeTempDir('holdfast-backlog-');
let b: StoreBroker | undefined;
afterAll(async () => {
  await b?.stop();
  removeDir(dir);
});

const retainedBytes = (): number => {
  forceGc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};

describe('bounded memory with a large offline backlog', () => {
  it(`${N.toLocaleString('en')} QoS 1 messages for an offline persistent session stay on disk (memory growth < 5 MB), then arrive all, in order`, async () => {
    b = await startStoreBroker({ store: sqliteAt(dir), config: { session: { maxQueuedMessages: 200_000 } } });
    const maxInMemory = b.broker.config.session.maxInMemoryQueued;
    const { client: sub } = await StoreClient.connect(b.port, 5, { clientId: 'backlog', clean: false, properties: { sessionExpiryInterval: 3600 } });
    await sub.subscribe('bulk/#', 1);
    sub.disconnect();
    await sub.waitClosed();

    const { client: pub } = await StoreClient.connect(b.port, 5, { clientId: 'bulk-pub' }, { record: false });
    // Warm the path (statement caches, decoder, buffers) before the baseline.
    expect(await publishMany(pub, 1000, (i) => ({ topic: 'warm/x', payload: seqPayload(i, PAYLOAD) }))).toBe(0);
    const before = retainedBytes();
    const t0 = Date.now();
    expect(await publishMany(pub, N, (i) => ({ topic: `bulk/${i % 16}`, payload: seqPayload(i, PAYLOAD) }), 1000)).toBe(0);
    const publishMs = Date.now() - t0;
    pub.disconnect();
    const after = retainedBytes();
    const growth = after - before;

    const session = b.broker.sessions.get('backlog')!;
    expect(session.queuedCount).toBe(N);
    expect(session.queue.length).toBeLessThanOrEqual(maxInMemory);
    console.log(
      `[bounded-memory] ${N} queued in ${publishMs} ms; in memory ${session.queue.length}; heap+external growth ${(growth / 1024 / 1024).toFixed(2)} MB ` +
        `(payloads alone would be ${((N * PAYLOAD) / 1024 / 1024).toFixed(1)} MB)`,
    );
    expect(growth).toBeLessThan(BOUND_BYTES);

    // Reconnect: everything, in order, streamed from disk.
    let expected = 1;
    let outOfOrder = 0;
    const anomalies: string[] = [];
    const seen = new Set<number>();
    let duplicates = 0;
    let peakQueue = 0;
    const t1 = Date.now();
    let count = 0;
    const onPublish = (p: { payload: Buffer; dup: boolean }): void => {
      count++;
      const seq = seqOf(p.payload);
      if (seen.has(seq)) duplicates++;
      seen.add(seq);
      if (seq !== expected) {
        outOfOrder++;
        if (anomalies.length < 10) anomalies.push(`#${count}: got ${seq}, expected ${expected}${p.dup ? ' (DUP)' : ''}`);
      }
      expected = seq + 1;
      if (session.queue.length > peakQueue) peakQueue = session.queue.length;
    };
    const again = await StoreClient.connect(
      b.port,
      5,
      { clientId: 'backlog', clean: false, properties: { sessionExpiryInterval: 3600, receiveMaximum: 1000 } },
      { record: false, onPublish },
    );
    expect(again.connack.sessionPresent).toBe(true);
    await again.client.waitUntil(() => again.client.publishCount >= N, 60_000, `${N} deliveries`);
    await again.client.ping();
    console.log(`[bounded-memory] ${again.client.publishCount} delivered in ${Date.now() - t1} ms; peak in-memory queue ${peakQueue}`);
    expect(anomalies).toEqual([]);
    expect(duplicates).toBe(0);
    expect(seen.size).toBe(N);
    expect(again.client.publishCount).toBe(N);
    expect(outOfOrder).toBe(0);
    expect(peakQueue).toBeLessThanOrEqual(maxInMemory);
    await again.client.waitUntil(() => session.queuedCount === 0 && session.inflight.size === 0, 5000, 'queue drained');
    again.client.disconnect();
  }, 60_000);
});
