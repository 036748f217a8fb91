/**
 * The PostgreSQL sink (issue 9): a batch becomes one or more multi-row
 * `INSERT ... ON CONFLICT (message_id) DO NOTHING` statements (each its own transaction)
 * on a bounded `pg` Pool; a retried message whose row is already there is a no-op, so the
 * table holds each message once. Errors are classified in pg-errors.ts; a data error of
 * one row is found by splitting the statement (the other rows are written).
 *
 * A batch that cannot reach the server at all (connection refused, bad credentials, pool
 * exhausted) is rejected as a whole (PG_UNAVAILABLE / PG_AUTH_FAILED): the engine retries it.
 */
import pg from 'pg';
import { HoldfastError } from '../../../errors/index.js';
import type { Logger } from '../../../observability/logger.js';
import type { Sink, SinkMessage, SinkOutcome } from '../../../ports/sink.js';
import { abortable } from '../../../resilience/abortable.js';
import { classifyPgError, type PgFailure } from './pg-errors.js';
import { resolvePgSinkOptions, type PgSinkInput, type PgSinkOptions } from './pg-sink-options.js';
import { createTableSql, insertSql, qualifiedName, rowOf, type RowValue, type TableRef } from './pg-table.js';

export interface PgSinkDeps {
  logger?: Logger;
}

export type PgSinkHealth = 'unknown' | 'ok' | 'failing' | 'auth-failing';

export interface PgSinkState {
  health: PgSinkHealth;
  lastError: string | undefined;
  lastErrorAt: number | undefined;
  pool: { total: number; idle: number; waiting: number };
}

type Outcome = SinkOutcome;

/** A failure that is not the rows' fault: it ends the batch. */
class BatchStop extends Error {
  constructor(readonly failure: PgFailure) {
    super(failure.error);
  }
}

export class PgSink implements Sink {
  readonly kind = 'postgres';
  readonly name: string;
  readonly options: PgSinkOptions;
  private readonly table: TableRef;
  private readonly logger: Logger | undefined;
  private pool: pg.Pool | undefined;
  private tableReady = false;
  private health: PgSinkHealth = 'unknown';
  private lastError: string | undefined;
  private lastErrorAt: number | undefined;

  constructor(input: PgSinkInput, deps: PgSinkDeps = {}) {
    this.options = resolvePgSinkOptions(input);
    this.name = this.options.name;
    this.logger = deps.logger;
    const o = this.options;
    this.table = { schema: o.schema, table: o.table, textColumn: o.textColumn, jsonColumn: o.jsonColumn };
  }

  /** Opens the pool; tries the table set-up once, without failing when the server is away. */
  async start(): Promise<void> {
    if (this.pool !== undefined) return;
    const o = this.options;
    const pool = new pg.Pool({
      ...(o.connectionString !== undefined ? { connectionString: o.connectionString } : {}),
      ...(o.host !== undefined ? { host: o.host } : {}),
      ...(o.port !== undefined ? { port: o.port } : {}),
      ...(o.database !== undefined ? { database: o.database } : {}),
      ...(o.user !== undefined ? { user: o.user } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      ssl: o.ssl,
      max: o.poolMax,
      connectionTimeoutMillis: o.connectTimeoutMs,
      idleTimeoutMillis: o.idleTimeoutMs,
      statement_timeout: o.statementTimeoutMs,
      lock_timeout: o.lockTimeoutMs,
      // A client-side bound too, for a server that stops answering (network gone).
      query_timeout: o.statementTimeoutMs + 5000,
      keepAlive: true,
      application_name: `holdfast-sink-${this.name}`.slice(0, 63),
    });
    // An idle client whose connection dies emits here; without a listener it would crash the process.
    pool.on('error', (err) => this.failed(classifyPgError(err)));
    this.pool = pool;
    if (o.createTable) {
      try {
        await this.withClient(AbortSignal.timeout(o.connectTimeoutMs + o.statementTimeoutMs), (c) => this.ensureTable(c));
      } catch (err) {
        this.logger?.warn({ sink: this.name, err: (err as Error).message }, 'PostgreSQL sink: table not set up at start, tried again with the first batch');
      }
    }
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    if (pool !== undefined) await pool.end().catch(() => undefined);
  }

  state(): PgSinkState {
    const p = this.pool;
    return {
      health: this.health,
      lastError: this.lastError,
      lastErrorAt: this.lastErrorAt,
      pool: { total: p?.totalCount ?? 0, idle: p?.idleCount ?? 0, waiting: p?.waitingCount ?? 0 },
    };
  }

  async send(batch: readonly SinkMessage[], signal: AbortSignal): Promise<SinkOutcome[]> {
    if (signal.aborted) throw new HoldfastError('PG_UNAVAILABLE', 'batch deadline passed before sending');
    if (batch.length === 0) return [];
    const outcomes = await this.withClient(signal, async (client, conn) => {
      if (this.options.createTable && !this.tableReady) await this.ensureTable(client);
      return this.insertAll(client, conn, batch, signal);
    });
    // Permanent outcomes are the rows' fault: the sink itself works.
    if (!outcomes.some((o) => o.status === 'retry')) this.succeeded();
    return outcomes;
  }

  /**
   * Runs `work` on a pooled client. The client goes back to the pool when the work is done
   * (even after the batch deadline made us stop waiting), or is destroyed when its connection
   * failed. Failures to get a client, and a BatchStop out of `work`, reject PG_UNAVAILABLE /
   * PG_AUTH_FAILED.
   */
  private async withClient<T>(signal: AbortSignal, work: (c: pg.PoolClient, conn: { broken: Error | undefined }) => Promise<T>): Promise<T> {
    const pool = this.pool;
    if (pool === undefined) throw new HoldfastError('PG_UNAVAILABLE', `PostgreSQL sink ${this.name} is not started`);
    const connecting = pool.connect();
    let client: pg.PoolClient;
    try {
      client = await abortable(connecting, signal, () => new HoldfastError('PG_UNAVAILABLE', 'batch deadline passed waiting for a connection'));
    } catch (err) {
      // A connection that arrives after we stopped waiting goes straight back to the pool.
      if (signal.aborted) connecting.then((c) => c.release(), () => undefined);
      if (err instanceof HoldfastError) throw err;
      throw this.unreachable(classifyPgError(err), err);
    }
    const conn: { broken: Error | undefined } = { broken: undefined };
    const running = (async () => {
      try {
        return await work(client, conn);
      } catch (err) {
        const f = err instanceof BatchStop ? err.failure : classifyPgError(err);
        if (f.kind === 'connection') conn.broken = err as Error;
        throw this.unreachable(f, err);
      } finally {
        client.release(conn.broken ?? false);
      }
    })();
    return abortable(running, signal, () => new HoldfastError('PG_UNAVAILABLE', 'batch deadline passed waiting for PostgreSQL'));
  }

  /** Creates the schema and table unless the table is there (a role that may only insert can run this). */
  private async ensureTable(client: pg.PoolClient): Promise<void> {
    const found = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [qualifiedName(this.table)]);
    const t = found.rows[0]?.t;
    if (t === null || t === undefined) for (const sql of createTableSql(this.table)) await client.query(sql);
    this.tableReady = true;
  }

  /**
   * Writes the batch in statements of maxRowsPerStatement rows. A failure that is not the
   * rows' fault ends the batch: rejected when nothing was written yet, else the rows not
   * written are 'retry'.
   */
  private async insertAll(client: pg.PoolClient, conn: { broken: Error | undefined }, batch: readonly SinkMessage[], signal: AbortSignal): Promise<Outcome[]> {
    const rows = batch.map((m) => rowOf(this.table, m));
    const out: Outcome[] = new Array<Outcome>(batch.length);
    const step = this.options.maxRowsPerStatement;
    for (let lo = 0; lo < rows.length; lo += step) {
      if (signal.aborted) break;
      try {
        await this.insertRange(client, rows, lo, Math.min(rows.length, lo + step), out);
      } catch (err) {
        if (!(err instanceof BatchStop)) throw err;
        if (!out.some((o) => o !== undefined)) throw err;
        this.failed(err.failure);
        if (err.failure.kind === 'connection') conn.broken = err;
        for (let i = 0; i < out.length; i++) out[i] ??= { status: 'retry', error: err.failure.error };
        return out;
      }
    }
    for (let i = 0; i < out.length; i++) out[i] ??= { status: 'retry', error: 'batch deadline passed before this message was written' };
    return out;
  }

  /** One statement for rows [lo, hi); on a row error, halves until the bad rows are alone. */
  private async insertRange(client: pg.PoolClient, rows: RowValue[][], lo: number, hi: number, out: Outcome[]): Promise<void> {
    const params: RowValue[] = [];
    for (let i = lo; i < hi; i++) params.push(...rows[i]!);
    try {
      await client.query(insertSql(this.table, hi - lo), params);
      for (let i = lo; i < hi; i++) out[i] = { status: 'ok' };
      return;
    } catch (err) {
      const f = classifyPgError(err);
      if (f.kind === 'row') {
        if (hi - lo === 1) {
          out[lo] = { status: 'permanent', error: f.error };
          return;
        }
        const mid = lo + Math.ceil((hi - lo) / 2);
        await this.insertRange(client, rows, lo, mid, out);
        await this.insertRange(client, rows, mid, hi, out);
        return;
      }
      if (f.kind === 'table') {
        if (f.sqlstate === '42P01' && this.options.createTable) {
          this.tableReady = false; // dropped under us: created again before the retry
          throw new BatchStop({ ...f, kind: 'retry' });
        }
        for (let i = lo; i < hi; i++) out[i] = { status: 'permanent', error: f.error };
        this.failed(f);
        return;
      }
      throw new BatchStop(f);
    }
  }

  /** The rejection for a batch that could not be written at all. */
  private unreachable(f: PgFailure, cause: unknown): HoldfastError {
    this.failed(f);
    if (f.kind === 'auth') {
      return new HoldfastError('PG_AUTH_FAILED', `PostgreSQL refused the sink's credentials or rights (fix them; retrying): ${f.error}`, { cause });
    }
    return new HoldfastError('PG_UNAVAILABLE', `PostgreSQL: ${f.error}`, { cause, details: { sqlstate: f.sqlstate, kind: f.kind } });
  }

  private failed(f: PgFailure): void {
    const health: PgSinkHealth = f.kind === 'auth' ? 'auth-failing' : 'failing';
    this.lastError = f.error;
    this.lastErrorAt = Date.now();
    if (f.kind === 'row' || f.kind === 'table') return; // the messages' fault, not the sink's
    if (health !== this.health) {
      if (health === 'auth-failing') this.logger?.error({ sink: this.name, err: f.error }, 'PostgreSQL sink: credentials or rights refused; retrying until they are fixed');
      else this.logger?.warn({ sink: this.name, err: f.error }, 'PostgreSQL sink failing; retrying');
    }
    this.health = health;
  }

  private succeeded(): void {
    if (this.health === 'failing' || this.health === 'auth-failing') this.logger?.info({ sink: this.name }, 'PostgreSQL sink recovered');
    this.health = 'ok';
  }
}

/** The part of a `bridges.sinks[]` entry this sink reads (kind postgres). */
export interface PgSinkConfigLike {
  readonly name: string;
  readonly postgres?: Readonly<Record<string, unknown>> | undefined;
}

/**
 * The bridge engine's factory for kind `postgres`: the entry's `postgres` options
 * (pgSinkConfigSchema) under the entry's name. Throws PG_SINK_CONFIG when they are not valid.
 */
export function createPgSink(config: PgSinkConfigLike, ctx: PgSinkDeps = {}): PgSink {
  return new PgSink({ ...(config.postgres as Omit<PgSinkInput, 'name'> | undefined), name: config.name }, ctx);
}
