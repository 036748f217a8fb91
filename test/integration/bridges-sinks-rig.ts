/**
 * The three real sinks of issue 9 for the acceptance tests, each of which can be taken
 * down and brought back:
 * - http: a WebhookServer on a fixed port (down = not listening);
 * - nats: a private nats-server with JetStream (down = killed; back = started again on the
 *   same port and store directory, so the file stream and its duplicate window survive);
 * - postgres: the machine's PostgreSQL, a schema of its own (down = the table locked
 *   `IN ACCESS EXCLUSIVE MODE` by another connection's open transaction).
 * And the checks on what arrived: webhook (DeliveryLedger: at least once, unique keys,
 * per-device order), JetStream and PostgreSQL (exactly once: one entry per message, no
 * message under two ids; JetStream also per-device order by stream sequence).
 */
import type pg from 'pg';
import type { NatsConnection } from 'nats';
import { createTableSql } from '../../src/adapters/northbound/postgres/pg-table.js';
import type { BridgesConfigInput } from '../../src/platform/bridges/index.js';
import { PrivateNats } from '../helpers/nats-server.js';
import { createStream, natsConnect, uniqueName } from '../helpers/nats-stream.js';
import { pgConnection, TestDb } from '../helpers/pg-db.js';
import { seqOf } from '../helpers/store-clients.js';
import { freePort, WebhookServer } from './bridges-helpers.js';
import { DeliveryLedger } from './bridges-ledger.js';

export const SECRET = 'rig-webhook-secret-0123';
const TABLE = 'msgs';

/** What one sink holds, per device: the seqs that arrived (first arrival order) and the problems found. */
export interface Arrivals {
  entries: number;
  byDevice: Map<string, number[]>;
  problems: string[];
}

export class SinkRig {
  readonly hook = new WebhookServer();
  readonly ledger = new DeliveryLedger(SECRET);
  readonly stream = uniqueName('HF_BRIDGE');
  hookPort = 0;
  nats!: PrivateNats;
  db!: TestDb;
  private locker: pg.Client | undefined;

  static async open(): Promise<SinkRig> {
    const r = new SinkRig();
    r.hookPort = await freePort();
    r.hook.keep = false;
    r.hook.onRequest = (req, status) => {
      if (status === 200) r.ledger.record(req);
    };
    r.nats = await PrivateNats.start();
    const nc = await natsConnect(r.nats.url);
    await createStream(nc, r.stream, ['hfb.>'], { duplicateWindowMs: 3_600_000 });
    await nc.close();
    r.db = await TestDb.open();
    for (const sql of createTableSql({ schema: r.db.schema, table: TABLE, textColumn: true, jsonColumn: true })) await r.db.query(sql);
    return r;
  }

  /** The `bridges:` section: every `telemetry/+` message to all three sinks. */
  bridges(): BridgesConfigInput {
    const common = { retryBaseMs: 20, retryCapMs: 500, breakerOpenMs: 300, batchMaxMessages: 200 };
    return {
      instanceId: 'rig',
      sinks: [
        { name: 'hook', kind: 'http', http: { url: `http://127.0.0.1:${this.hookPort}/hook`, secret: SECRET, timeoutMs: 2000 }, ...common },
        {
          name: 'stream',
          kind: 'nats',
          nats: { servers: [this.nats.url], subjectTemplate: 'hfb.{topic}', stream: this.stream, connectTimeoutMs: 1000, reconnectTimeWaitMs: 200, publishTimeoutMs: 2000 },
          ...common,
        },
        {
          name: 'db',
          kind: 'postgres',
          postgres: { ...pgConnection(), schema: this.db.schema, table: TABLE, lockTimeoutMs: 200, statementTimeoutMs: 3000, connectTimeoutMs: 2000 },
          ...common,
        },
      ],
      routes: [
        { filter: 'telemetry/+', sink: 'hook' },
        { filter: 'telemetry/+', sink: 'stream' },
        { filter: 'telemetry/+', sink: 'db' },
      ],
    };
  }

  /** Every sink down: webhook not listening, NATS killed, the table locked. */
  async down(): Promise<void> {
    await this.hook.close();
    await this.nats.stop('SIGKILL');
    const c = await this.db.connect();
    await c.query('BEGIN');
    await c.query(`LOCK TABLE ${this.db.schema}.${TABLE} IN ACCESS EXCLUSIVE MODE`);
    this.locker = c;
  }

  /** Every sink back: webhook on its port, NATS on its port and store dir, the lock released. */
  async up(): Promise<void> {
    await this.hook.listen(this.hookPort);
    await this.nats.restart();
    const c = this.locker;
    this.locker = undefined;
    if (c !== undefined) {
      await c.query('COMMIT');
      await c.end();
    }
  }

  webhookArrivals(): Arrivals {
    return { entries: this.ledger.arrivals, byDevice: this.ledger.byDevice(), problems: [...this.ledger.problems, ...(this.ledger.badSignatures > 0 ? [`${this.ledger.badSignatures} bad signatures`] : [])] };
  }

  async pgArrivals(): Promise<Arrivals> {
    const rows = await this.db.query<{ message_id: string; client_id: string; payload: Buffer }>(`SELECT message_id, client_id, payload FROM ${this.db.schema}.${TABLE}`);
    return collect(rows.map((r) => ({ id: r.message_id, device: r.client_id, seq: seqOf(r.payload) })), false);
  }

  async streamArrivals(timeoutMs = 60_000): Promise<Arrivals> {
    const nc = await natsConnect(this.nats.url);
    try {
      return collect(await readAll(nc, this.stream, timeoutMs), true);
    } finally {
      await nc.close();
    }
  }

  async dispose(): Promise<void> {
    await this.locker?.query('ROLLBACK').catch(() => undefined);
    await this.locker?.end().catch(() => undefined);
    await this.hook.close();
    await this.nats?.dispose();
    await this.db?.close();
  }
}

interface Entry {
  id: string;
  device: string;
  seq: number;
}

/** One entry per message (exactly once) and, with `ordered`, per-device order of the entries. */
function collect(entries: readonly Entry[], ordered: boolean): Arrivals {
  const problems: string[] = [];
  const ids = new Set<string>();
  const messages = new Set<string>();
  const byDevice = new Map<string, number[]>();
  for (const e of entries) {
    if (ids.has(e.id) && problems.length < 20) problems.push(`id ${e.id} stored twice`);
    ids.add(e.id);
    const key = `${e.device}:${e.seq}`;
    if (messages.has(key) && problems.length < 20) problems.push(`message ${key} stored twice (under another id)`);
    messages.add(key);
    const list = byDevice.get(e.device) ?? [];
    if (ordered && list.length > 0 && list[list.length - 1]! >= e.seq && problems.length < 20) problems.push(`device ${e.device}: seq ${e.seq} after ${list[list.length - 1]}`);
    list.push(e.seq);
    byDevice.set(e.device, list);
  }
  return { entries: entries.length, byDevice, problems };
}

/** Every message of the stream in sequence order, through an ordered consumer. */
async function readAll(nc: NatsConnection, stream: string, timeoutMs: number): Promise<Entry[]> {
  const jsm = await nc.jetstreamManager();
  const total = (await jsm.streams.info(stream)).state.messages;
  const consumer = await nc.jetstream().consumers.get(stream);
  const out: Entry[] = [];
  const until = Date.now() + timeoutMs;
  while (out.length < total) {
    if (Date.now() > until) throw new Error(`read ${out.length} of ${total} stream messages in ${timeoutMs} ms`);
    const batch = await consumer.fetch({ max_messages: Math.min(1000, total - out.length), expires: 2000 });
    for await (const m of batch) {
      out.push({ id: m.headers?.get('Nats-Msg-Id') ?? `seq:${m.seq}`, device: m.headers?.get('Holdfast-Client-Id') ?? '?', seq: seqOf(Buffer.from(m.data)) });
    }
  }
  return out;
}

/** Acknowledged messages (device -> seqs) that a sink does not hold. */
export function missing(acked: ReadonlyMap<string, readonly number[]>, arrived: Arrivals): string[] {
  const out: string[] = [];
  for (const [device, seqs] of acked) {
    const have = new Set(arrived.byDevice.get(device) ?? []);
    for (const s of seqs) if (!have.has(s)) out.push(`${device}:${s}`);
  }
  return out;
}
