/**
 * Issue 9, "How it is checked": 10,000 QoS 1 messages routed to a webhook that is down
 * (nothing listening on its port) are acknowledged to the publishers, wait in the durable
 * outbox (SQLite), and all arrive once the webhook is back: at least once, with unique
 * idempotency keys, in per-device order, signed. While it is down the sink's breaker
 * opens (nothing is sent), and it closes when the webhook returns.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { publishMany, seqPayload, StoreClient } from '../helpers/store-clients.js';
import { removeDir, sqliteAt, storeTempDir } from '../helpers/store-fixtures.js';
import { freePort, startBridgedBroker, waitFor, WebhookServer, type BridgedBroker } from './bridges-helpers.js';
import { DeliveryLedger } from './bridges-ledger.js';

const DEVICES = 4;
const PER_DEVICE = 2_500;
const SECRET = 'outage-test-secret-0123';

const dir = storeTempDir('holdfast-bridges-outage-');
const hook = new WebhookServer();
let b: BridgedBroker | undefined;
const clients: StoreClient[] = [];
afterAll(async () => {
  for (const c of clients) c.destroy();
  await b?.stop();
  await hook.close();
  removeDir(dir);
});

describe('bridges: webhook outage', () => {
  it(`${(DEVICES * PER_DEVICE).toLocaleString('en')} QoS 1 messages published while the webhook is down all arrive when it is back: at least once, unique idempotency keys, per-device order; the breaker opens and closes`, async () => {
    const port = await freePort();
    b = await startBridgedBroker({
      store: sqliteAt(dir),
      bridges: {
        instanceId: 'outage',
        sinks: [
          {
            name: 'hook',
            kind: 'http',
            http: { url: `http://127.0.0.1:${port}/hook`, secret: SECRET, timeoutMs: 2000 },
            retryBaseMs: 20,
            retryCapMs: 200,
            breakerFailures: 3,
            breakerOpenMs: 300,
          },
        ],
        routes: [{ filter: 'telemetry/+', sink: 'hook' }],
      },
    });
    const status = () => b!.bridges.status().sinks[0]!;

    for (let d = 0; d < DEVICES; d++) clients.push((await StoreClient.connect(b.tb.port, 5, { clientId: `dev-${d}` }, { record: false })).client);
    const t0 = Date.now();
    const refused = await Promise.all(clients.map((c, d) => publishMany(c, PER_DEVICE, (i) => ({ topic: `telemetry/dev-${d}`, payload: seqPayload(i, 64) }), 250)));
    const publishMs = Date.now() - t0;
    expect(refused).toEqual(new Array(DEVICES).fill(0));
    expect(status().outbox.messages).toBe(DEVICES * PER_DEVICE);
    await waitFor(() => status().breaker === 'open', 'the breaker to open while the webhook is down', 10_000);
    expect(status().totals.acked).toBe(0);

    const ledger = new DeliveryLedger(SECRET);
    hook.keep = false;
    hook.onRequest = (req, st) => {
      if (st === 200) ledger.record(req);
    };
    await hook.listen(port);
    const t1 = Date.now();
    await waitFor(() => ledger.unique >= DEVICES * PER_DEVICE, 'every message at the webhook', 60_000);
    const drainMs = Date.now() - t1;
    await waitFor(() => status().outbox.messages === 0 && status().breaker === 'closed', 'outbox empty, breaker closed', 10_000);

    const acked = new Map<string, number[]>();
    for (let d = 0; d < DEVICES; d++) acked.set(`dev-${d}`, Array.from({ length: PER_DEVICE }, (_, i) => i + 1));
    expect(ledger.missing(acked)).toEqual([]);
    expect(ledger.problems).toEqual([]);
    expect(ledger.badSignatures).toBe(0);
    const st = status();
    expect(st.totals).toMatchObject({ enqueued: DEVICES * PER_DEVICE, acked: DEVICES * PER_DEVICE, deadLettered: 0 });
    expect(st.deadLetters).toBe(0);
    console.log(
      `[bridges-outage] published ${DEVICES * PER_DEVICE} in ${publishMs} ms with the webhook down; drained in ${drainMs} ms ` +
        `(${Math.round((DEVICES * PER_DEVICE * 1000) / Math.max(1, drainMs))} msg/s, ${st.totals.batches} batches, ${st.totals.batchFailures} failed while down); ` +
        `arrivals ${ledger.arrivals}, duplicates ${ledger.duplicates}`,
    );
  });
});
