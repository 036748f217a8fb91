/**
 * The PostgreSQL sink against the machine's PostgreSQL (a schema of its own per run,
 * dropped afterwards): delivery, dedupe by message_id, the payload columns, retryable
 * failures (locked table, statement timeout, unknown role, server away) that succeed once
 * the cause is gone, and permanent errors (one bad row found by splitting; a table that
 * cannot take the rows).
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgSink } from '../../src/adapters/northbound/postgres/index.js';
import type { PgSinkInput } from '../../src/adapters/northbound/postgres/index.js';
import type { SinkOutcome } from '../../src/ports/sink.js';
import { freePort } from '../helpers/nats-server.js';
import { deadline, sinkMessages } from '../helpers/nats-sink-messages.js';
import { TestDb, pgConnection } from '../helpers/pg-db.js';

const statuses = (o: SinkOutcome[]): string[] => o.map((x) => x.status);

describe('PostgreSQL sink', () => {
  let db: TestDb;
  const sinks: PgSink[] = [];

  async function sink(opts: Partial<PgSinkInput> = {}): Promise<PgSink> {
    const s = new PgSink({ name: 'pg', ...pgConnection(), schema: db.schema, createTable: true, ...opts });
    sinks.push(s);
    await s.start();
    return s;
  }

  beforeAll(async () => {
    db = await TestDb.open();
  });

  afterAll(async () => {
    for (const s of sinks) await s.close();
    await db.close();
  });

  it('delivers a batch into the documented layout (createTable), one row per message', async () => {
    const s = await sink({ table: 'deliver' });
    const batch = sinkMessages('b1', 1, 30);
    const outcomes = await s.send(batch, deadline());
    expect(statuses(outcomes)).toEqual(Array(30).fill('ok'));
    const rows = await db.query(`SELECT * FROM ${db.schema}.deliver ORDER BY created_at`);
    expect(rows.map((r) => r.message_id)).toEqual(batch.map((m) => m.idempotencyKey));
    const r = rows[5]!;
    const m = batch[5]!;
    expect(r.topic).toBe(m.topic);
    expect(r.client_id).toBe(m.publisherId);
    expect(r.qos).toBe(1);
    expect(Buffer.compare(r.payload as Buffer, m.body)).toBe(0);
    expect(r.payload_text).toBe(m.body.toString());
    expect(r.payload_json).toEqual(JSON.parse(m.body.toString()));
    expect((r.created_at as Date).getTime()).toBe(m.createdAt);
    expect(r.received_at).toBeInstanceOf(Date);
    expect(s.state().health).toBe('ok');
  });

  it('dedupe holds: the same batch again (a retry) leaves one row per message, untouched', async () => {
    const s = await sink({ table: 'dedupe' });
    const batch = sinkMessages('b2', 1, 25);
    expect(statuses(await s.send(batch, deadline()))).toEqual(Array(25).fill('ok'));
    const before = await db.query(`SELECT message_id, received_at FROM ${db.schema}.dedupe ORDER BY message_id`);
    expect(statuses(await s.send(batch, deadline()))).toEqual(Array(25).fill('ok'));
    expect(statuses(await s.send([...batch.slice(3, 7), ...sinkMessages('b2', 26, 5)], deadline()))).toEqual(Array(9).fill('ok'));
    expect(await db.count('dedupe')).toBe(30);
    const after = await db.query(`SELECT message_id, received_at FROM ${db.schema}.dedupe WHERE message_id = ANY($1) ORDER BY message_id`, [
      before.map((r) => r.message_id),
    ]);
    expect(after).toEqual(before);
  });

  it('payload_text only for UTF-8 text without NUL, payload_json only for JSON that jsonb accepts; payload always', async () => {
    const s = await sink({ table: 'payloads' });
    const bodies = [
      Buffer.from([0xff, 0xfe, 0x00, 0x01]), // binary
      Buffer.from('plain text'),
      Buffer.from('{"a":1,"b":[true,null]}'),
      Buffer.from('{"s":"nul \\u0000 inside"}'), // JSON, but jsonb refuses \u0000
      Buffer.from('text\u0000with nul'),
      Buffer.from('{"emoji":"\\ud83d\\ude00","lone":"x"}'),
      Buffer.from('{"lone":"\\ud800"}'),
      Buffer.alloc(0),
      Buffer.from('42'),
    ];
    const batch = sinkMessages('b3', 1, bodies.length, (i) => ({ body: bodies[i] }));
    expect(statuses(await s.send(batch, deadline()))).toEqual(Array(bodies.length).fill('ok'));
    const rows = await db.query(`SELECT message_id, payload, payload_text, payload_json FROM ${db.schema}.payloads`);
    const byKey = new Map(rows.map((r) => [r.message_id as string, r]));
    const row = (i: number) => byKey.get(batch[i]!.idempotencyKey)!;
    for (let i = 0; i < bodies.length; i++) expect(Buffer.compare(row(i).payload as Buffer, bodies[i]!)).toBe(0);
    expect([row(0).payload_text, row(0).payload_json]).toEqual([null, null]);
    expect([row(1).payload_text, row(1).payload_json]).toEqual(['plain text', null]);
    expect(row(2).payload_json).toEqual({ a: 1, b: [true, null] });
    expect([row(3).payload_text, row(3).payload_json]).toEqual(['{"s":"nul \\u0000 inside"}', null]);
    expect([row(4).payload_text, row(4).payload_json]).toEqual([null, null]);
    expect(row(5).payload_json).toEqual({ emoji: '😀', lone: 'x' });
    expect(row(6).payload_json).toBeNull();
    expect([row(7).payload_text, row(7).payload_json]).toEqual(['', null]);
    expect(row(8).payload_json).toBe(42);
  });

  it('splits a batch into statements of maxRowsPerStatement rows', async () => {
    const s = await sink({ table: 'many', maxRowsPerStatement: 100 });
    const batch = sinkMessages('b4', 1, 1234);
    expect(statuses(await s.send(batch, deadline())).every((x) => x === 'ok')).toBe(true);
    expect(await db.count('many')).toBe(1234);
  });

  it('table locked (lock_timeout 55P03, statement_timeout 57014): retried, then written once the lock is gone', async () => {
    const s1 = await sink({ table: 'locked', lockTimeoutMs: 200 });
    const s2 = await sink({ table: 'locked', lockTimeoutMs: 60_000, statementTimeoutMs: 300 });
    const batch = sinkMessages('b5', 1, 20);
    const locker = await db.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE ${db.schema}.locked IN ACCESS EXCLUSIVE MODE`);
      await expect(s1.send(batch, deadline())).rejects.toMatchObject({ code: 'PG_UNAVAILABLE', message: expect.stringContaining('55P03') });
      await expect(s2.send(batch, deadline())).rejects.toMatchObject({ code: 'PG_UNAVAILABLE', message: expect.stringContaining('57014') });
      expect(s1.state().health).toBe('failing');
      await locker.query('COMMIT');
    } finally {
      await locker.end();
    }
    expect(statuses(await s1.send(batch, deadline()))).toEqual(Array(20).fill('ok'));
    expect(statuses(await s2.send(batch, deadline()))).toEqual(Array(20).fill('ok'));
    expect(s1.state().health).toBe('ok');
    expect(await db.count('locked')).toBe(20);
  });

  it('wrong credentials: PG_AUTH_FAILED (surfaced, retried); once the role exists and may insert, the same batch is written', async () => {
    const role = `hf_role_${randomBytes(4).toString('hex')}`;
    const owner = await sink({ table: 'creds' }); // creates the table
    void owner;
    // createTable too: the table exists, so a role that may only insert needs no CREATE right.
    const s = await sink({ table: 'creds', user: role, createTable: true });
    const batch = sinkMessages('b6', 1, 10);
    try {
      await expect(s.send(batch, deadline())).rejects.toMatchObject({ code: 'PG_AUTH_FAILED', message: expect.stringContaining('28000') });
      expect(s.state().health).toBe('auth-failing');
      await db.query(`CREATE ROLE ${role} LOGIN`);
      // The role exists, but may not write yet: still PG_AUTH_FAILED (42501), still retried.
      await expect(s.send(batch, deadline())).rejects.toMatchObject({ code: 'PG_AUTH_FAILED', message: expect.stringContaining('42501') });
      await db.query(`GRANT USAGE ON SCHEMA ${db.schema} TO ${role}`);
      await db.query(`GRANT INSERT ON ${db.schema}.creds TO ${role}`);
      // ON CONFLICT (message_id) needs SELECT on the conflict target too.
      await expect(s.send(batch, deadline())).rejects.toMatchObject({ code: 'PG_AUTH_FAILED', message: expect.stringContaining('42501') });
      await db.query(`GRANT SELECT (message_id) ON ${db.schema}.creds TO ${role}`);
      expect(statuses(await s.send(batch, deadline()))).toEqual(Array(10).fill('ok'));
      expect(s.state().health).toBe('ok');
      expect(await db.count('creds')).toBe(10);
    } finally {
      await s.close();
      await db.query(`DROP OWNED BY ${role}`).catch(() => undefined);
      await db.query(`DROP ROLE IF EXISTS ${role}`);
    }
  });

  it('server away (nothing listening): the batch is rejected PG_UNAVAILABLE, quickly', async () => {
    const port = await freePort();
    const s = await sink({ table: 'away', port, connectTimeoutMs: 2000 });
    const started = Date.now();
    await expect(s.send(sinkMessages('b7', 1, 3), deadline())).rejects.toMatchObject({ code: 'PG_UNAVAILABLE', message: expect.stringContaining('ECONNREFUSED') });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(s.state().health).toBe('failing');
  });

  it('permanent, one row: a value the table refuses (22001) is found by splitting; the other rows are written', async () => {
    await db.query(`CREATE TABLE ${db.schema}.narrow (
      message_id text PRIMARY KEY, topic varchar(24) NOT NULL, client_id text, qos smallint NOT NULL CHECK (qos < 2),
      payload bytea NOT NULL, payload_text text, payload_json jsonb, created_at timestamptz NOT NULL, received_at timestamptz NOT NULL DEFAULT now())`);
    const s = await sink({ table: 'narrow', createTable: false });
    const batch = sinkMessages('b8', 1, 16, (i) => (i === 5 ? { topic: 'devices/a-very-long-device-name/telemetry' } : i === 11 ? { qos: 2 } : {}));
    const outcomes = await s.send(batch, deadline());
    expect(statuses(outcomes)).toEqual(batch.map((_m, i) => (i === 5 || i === 11 ? 'permanent' : 'ok')));
    expect(outcomes[5]!.status === 'permanent' && outcomes[5]!.error).toContain('22001');
    expect(outcomes[11]!.status === 'permanent' && outcomes[11]!.error).toContain('23514');
    expect(await db.count('narrow')).toBe(14);
    expect(s.state().health).toBe('ok'); // the rows' fault, not the sink's
  });

  it('permanent, whole batch: a table without a column the sink writes (42703); with jsonColumn false the same table works', async () => {
    await db.query(`CREATE TABLE ${db.schema}.nojson (
      message_id text PRIMARY KEY, topic text NOT NULL, client_id text, qos smallint NOT NULL,
      payload bytea NOT NULL, payload_text text, created_at timestamptz NOT NULL, received_at timestamptz NOT NULL DEFAULT now())`);
    const wrong = await sink({ table: 'nojson', createTable: false });
    const batch = sinkMessages('b9', 1, 6);
    const outcomes = await wrong.send(batch, deadline());
    expect(statuses(outcomes)).toEqual(Array(6).fill('permanent'));
    expect(outcomes[0]!.status === 'permanent' && outcomes[0]!.error).toContain('42703');
    const right = await sink({ table: 'nojson', createTable: false, jsonColumn: false });
    expect(statuses(await right.send(batch, deadline()))).toEqual(Array(6).fill('ok'));
  });

  it('createTable: a table dropped under the sink is created again; the batch is retried, not dead-lettered', async () => {
    const s = await sink({ table: 'dropped' });
    expect(statuses(await s.send(sinkMessages('b10', 1, 3), deadline()))).toEqual(['ok', 'ok', 'ok']);
    await db.query(`DROP TABLE ${db.schema}.dropped`);
    const batch = sinkMessages('b10', 4, 3);
    await expect(s.send(batch, deadline())).rejects.toMatchObject({ code: 'PG_UNAVAILABLE', message: expect.stringContaining('42P01') });
    expect(statuses(await s.send(batch, deadline()))).toEqual(['ok', 'ok', 'ok']);
    expect(await db.count('dropped')).toBe(3);
  });

  it('honours the batch deadline: a statement blocked past it is given up as retryable, and the pool is not leaked', async () => {
    const s = await sink({ table: 'slow', poolMax: 1, lockTimeoutMs: 60_000, statementTimeoutMs: 2000 });
    const locker: pg.Client = await db.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE ${db.schema}.slow IN ACCESS EXCLUSIVE MODE`);
      await expect(s.send(sinkMessages('b11', 1, 2), AbortSignal.timeout(200))).rejects.toMatchObject({ code: 'PG_UNAVAILABLE' });
      await locker.query('COMMIT');
    } finally {
      await locker.end();
    }
    // The one pooled connection comes back once the statement ends: the next batch gets it.
    expect(statuses(await s.send(sinkMessages('b11', 1, 2), deadline()))).toEqual(['ok', 'ok']);
  });
});
