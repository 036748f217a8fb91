/**
 * Issue 9: "a dead sink costs nothing but disk". 50,000 QoS 1 messages (200-byte
 * payloads: 10 MB of payload alone) routed to a webhook that is down stay in the SQLite
 * outbox; the broker's retained memory (heap + external after a full GC) stays flat: the
 * dispatcher holds one batch, the breaker stops the sends, the counters are numbers.
 * Measured at 25,000 and 50,000 against a baseline taken after a warm-up.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { forceGc } from '../helpers/transport-memory.js';
import { publishMany, seqPayload, StoreClient } from '../helpers/store-clients.js';
import { removeDir, sqliteAt, storeTempDir } from '../helpers/store-fixtures.js';
import { freePort, startBridgedBroker, type BridgedBroker } from './bridges-helpers.js';

const N = 50_000;
const PAYLOAD = 200;
/** A tenth of the payload bytes alone (50,000 x 200 B = 9.5 MB; in memory each would cost several hundred bytes more). */
const BOUND_BYTES = 1024 * 1024;

const dir = storeTempDir('holdfast-bridges-mem-');
let b: BridgedBroker | undefined;
let pub: StoreClient | undefined;
afterAll(async () => {
  pub?.destroy();
  await b?.stop();
  removeDir(dir);
});

const retained = (): number => {
  forceGc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};

describe('bridges: memory while the sink is down', () => {
  it(`${N.toLocaleString('en')} QoS 1 messages for a dead webhook stay on disk: memory flat (growth < 1 MB at 25k and at 50k)`, async () => {
    const port = await freePort();
    b = await startBridgedBroker({
      store: sqliteAt(dir),
      bridges: {
        sinks: [{ name: 'hook', kind: 'http', http: { url: `http://127.0.0.1:${port}/hook` }, retryBaseMs: 20, retryCapMs: 200, breakerOpenMs: 200 }],
        routes: [{ filter: 'bulk/#', sink: 'hook' }],
      },
    });
    pub = (await StoreClient.connect(b.tb.port, 5, { clientId: 'bulk-pub' }, { record: false })).client;
    const make = (i: number) => ({ topic: `bulk/${i % 16}`, payload: seqPayload(i, PAYLOAD) });
    // Warm-up: statement caches, decoder, the breaker has opened, the rate windows exist.
    expect(await publishMany(pub, 5_000, make, 500)).toBe(0);
    const before = retained();
    expect(await publishMany(pub, N / 2, make, 500)).toBe(0);
    const half = retained() - before;
    expect(await publishMany(pub, N / 2, make, 500)).toBe(0);
    const full = retained() - before;
    const st = b.bridges.status().sinks[0]!;
    expect(st.outbox.messages).toBe(N + 5_000);
    expect(st.totals.acked).toBe(0);
    console.log(
      `[bridges-memory] outbox ${st.outbox.messages} messages / ${(st.outbox.bytes / 1024 / 1024).toFixed(1)} MB on disk; ` +
        `heap+external growth ${(half / 1024).toFixed(0)} KiB at ${N / 2}, ${(full / 1024).toFixed(0)} KiB at ${N}; ` +
        `breaker ${st.breaker}, ${st.totals.batchFailures} failed batches`,
    );
    expect(half).toBeLessThan(BOUND_BYTES);
    expect(full).toBeLessThan(BOUND_BYTES);
  });
});
