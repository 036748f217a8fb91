/**
 * Issue 9, "How it is checked", through `holdfast start` (startHoldfast in this process,
 * SQLite data dir, device platform off): 10,000 QoS 1 messages routed to each of the three
 * real sinks while every one of them is down (webhook not listening; the private
 * nats-server killed; the PostgreSQL table locked IN ACCESS EXCLUSIVE MODE by another
 * connection). All are acknowledged and wait in the outbox; the status API shows them.
 * Then the sinks come back (webhook on its port, nats-server on the same port and store
 * dir, the lock released): every message is in PostgreSQL exactly once and in the
 * JetStream stream exactly once (Nats-Msg-Id dedupe), at least once at the webhook with
 * unique idempotency keys, and in per-device order at the webhook and in the stream.
 * Then PostgreSQL with wrong credentials (a role that does not exist yet): the same
 * 10,000 wait, and once the role exists with INSERT rights every one is written once.
 * The kill -9 half of the check is bridges-crash.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTableSql } from '../../src/adapters/northbound/postgres/pg-table.js';
import { BridgesStatusSchema } from '../../src/app/api/bridges-schemas.js';
import { pgConnection } from '../helpers/pg-db.js';
import { publishMany, seqOf, seqPayload, StoreClient } from '../helpers/store-clients.js';
import { documented, startApiApp, type ApiApp } from './api-harness.js';
import { waitFor } from './bridges-helpers.js';
import { missing, SinkRig } from './bridges-sinks-rig.js';

const DEVICES = 4;
const PER_DEVICE = 2_500;

let rig: SinkRig;
let api: ApiApp | undefined;
const clients: StoreClient[] = [];
beforeAll(async () => {
  rig = await SinkRig.open();
}, 60_000);
const ROLE = `hf_bridge_role_${process.pid}`;
afterAll(async () => {
  for (const c of clients) c.destroy();
  await api?.stop();
  await rig?.db.query(`DROP OWNED BY ${ROLE}`).catch(() => undefined);
  await rig?.db.query(`DROP ROLE IF EXISTS ${ROLE}`).catch(() => undefined);
  await rig?.dispose();
});

describe('bridges through holdfast start: every sink down, then back', () => {
  it(`${(DEVICES * PER_DEVICE).toLocaleString('en')} QoS 1 messages: exactly once in PostgreSQL and JetStream, at least once at the webhook, per-device order`, async () => {
    await rig.down();
    api = await startApiApp({ platform: { enabled: false }, store: { kind: 'sqlite', durability: 'commit' }, bridges: rig.bridges() });
    const port = api.mqttPort;
    for (let d = 0; d < DEVICES; d++) clients.push((await StoreClient.connect(port, 5, { clientId: `dev-${d}` })).client);
    const refused = await Promise.all(
      clients.map((c, d) => publishMany(c, PER_DEVICE, (i) => ({ topic: `telemetry/dev-${d}`, payload: seqPayload(i, 32) }), 100, 120_000)),
    );
    expect(refused).toEqual([0, 0, 0, 0]);
    const total = DEVICES * PER_DEVICE;

    // Down: all of it waits in the outbox of each sink; the breakers open.
    await waitFor(() => api!.app.bridges!.status().sinks.every((s) => s.breaker !== 'closed'), 'every breaker open', 60_000);
    const down = documented(BridgesStatusSchema, (await api.call('GET', '/api/bridges')).body);
    for (const s of down.sinks) {
      expect(s.outbox.messages, s.name).toBe(total);
      expect(s.totals.acked, s.name).toBe(0);
      expect(s.lastError, s.name).toBeDefined();
    }

    await rig.up();
    const drained = (): boolean => api!.app.bridges!.status().sinks.every((s) => s.outbox.messages === 0);
    await waitFor(drained, 'every outbox drained', 180_000);

    const acked = new Map<string, number[]>();
    for (let d = 0; d < DEVICES; d++) acked.set(`dev-${d}`, Array.from({ length: PER_DEVICE }, (_, i) => i + 1));
    const hook = rig.webhookArrivals();
    const pgRows = await rig.pgArrivals();
    const stream = await rig.streamArrivals();
    const up = api.app.bridges!.status();
    console.log(
      `[bridges-app-outage] ${total} acknowledged; webhook ${hook.entries} arrivals (${rig.ledger.unique} unique, ${rig.ledger.duplicates} duplicates); ` +
        `PostgreSQL ${pgRows.entries} rows; JetStream ${stream.entries} messages; ` +
        up.sinks.map((s) => `${s.name}: ${s.totals.batches} batches, ${s.totals.batchFailures} failed, ${s.totals.acked} acked`).join('; '),
    );
    expect(hook.problems).toEqual([]);
    expect(missing(acked, hook)).toEqual([]);
    expect(pgRows.problems).toEqual([]);
    expect(pgRows.entries).toBe(total);
    expect(missing(acked, pgRows)).toEqual([]);
    expect(stream.problems).toEqual([]);
    expect(stream.entries).toBe(total);
    expect(missing(acked, stream)).toEqual([]);
    for (const s of up.sinks) expect(s, s.name).toMatchObject({ breaker: 'closed', deadLetters: 0, outbox: { messages: 0 } });
  }, 300_000);

  it(`PostgreSQL with wrong credentials (a role that does not exist): ${(DEVICES * PER_DEVICE).toLocaleString('en')} QoS 1 messages wait; once the role exists and may insert, every one is written exactly once`, async () => {
    await api?.stop();
    api = undefined;
    for (const c of clients.splice(0)) c.destroy();
    const db = rig.db;
    await db.query(`DROP OWNED BY ${ROLE}`).catch(() => undefined); // left over by an aborted run with this pid
    await db.query(`DROP ROLE IF EXISTS ${ROLE}`);
    for (const sql of createTableSql({ schema: db.schema, table: 'creds', textColumn: true, jsonColumn: true })) await db.query(sql);
    api = await startApiApp({
      platform: { enabled: false },
      store: { kind: 'sqlite', durability: 'commit' },
      bridges: {
        sinks: [
          {
            name: 'db',
            kind: 'postgres',
            postgres: { ...pgConnection(), user: ROLE, schema: db.schema, table: 'creds', connectTimeoutMs: 2000 },
            retryBaseMs: 20,
            retryCapMs: 500,
            breakerOpenMs: 300,
            batchMaxMessages: 200,
          },
        ],
        routes: [{ filter: 'telemetry/+', sink: 'db' }],
      },
    });
    for (let d = 0; d < DEVICES; d++) clients.push((await StoreClient.connect(api.mqttPort, 5, { clientId: `dev-${d}` })).client);
    const refused = await Promise.all(
      clients.map((c, d) => publishMany(c, PER_DEVICE, (i) => ({ topic: `telemetry/dev-${d}`, payload: seqPayload(i, 32) }), 100, 120_000)),
    );
    expect(refused).toEqual([0, 0, 0, 0]);
    const total = DEVICES * PER_DEVICE;
    await waitFor(() => api!.app.bridges!.status().sinks[0]!.lastError !== undefined, 'the sink failing', 30_000);
    const down = api.app.bridges!.status().sinks[0]!;
    expect(down.outbox.messages).toBe(total);
    expect(down.lastError!.message).toMatch(/PG_AUTH_FAILED|role/);

    await db.query(`CREATE ROLE ${ROLE} LOGIN`);
    await db.query(`GRANT USAGE ON SCHEMA ${db.schema} TO ${ROLE}`);
    await db.query(`GRANT INSERT, SELECT (message_id) ON ${db.schema}.creds TO ${ROLE}`);
    await waitFor(() => api!.app.bridges!.status().sinks[0]!.outbox.messages === 0, 'the outbox drained', 180_000);
    const rows = await db.query<{ message_id: string; client_id: string; payload: Buffer }>(`SELECT message_id, client_id, payload FROM ${db.schema}.creds`);
    const messages = new Set(rows.map((r) => `${r.client_id}:${seqOf(r.payload)}`));
    expect(rows).toHaveLength(total);
    expect(new Set(rows.map((r) => r.message_id)).size).toBe(total);
    expect(messages.size).toBe(total);
    for (let d = 0; d < DEVICES; d++) for (let i = 1; i <= PER_DEVICE; i++) if (!messages.has(`dev-${d}:${i}`)) throw new Error(`dev-${d}:${i} missing`);
  }, 300_000);
});
