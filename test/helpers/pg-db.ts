/**
 * The machine's PostgreSQL for tests (127.0.0.1:5432, trust auth, database `test`; override
 * with HOLDFAST_TEST_PG_URL). Every test file works in its own schema, dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_URL = process.env.HOLDFAST_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export class TestDb {
  readonly admin: pg.Client;
  private constructor(readonly schema: string) {
    this.admin = new pg.Client({ connectionString: PG_URL });
  }

  /** A fresh schema `hf_<pid>_<random>` and an admin connection. */
  static async open(): Promise<TestDb> {
    const db = new TestDb(`hf_${process.pid}_${randomBytes(4).toString('hex')}`);
    await db.admin.connect();
    await db.admin.query(`CREATE SCHEMA ${db.schema}`);
    return db;
  }

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    return (await this.admin.query<R>(sql, params)).rows;
  }

  async count(table: string): Promise<number> {
    const rows = await this.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.schema}.${table}`);
    return Number(rows[0]!.n);
  }

  /** A second connection (to hold a lock while the sink works, for instance). */
  async connect(): Promise<pg.Client> {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    return c;
  }

  async close(): Promise<void> {
    await this.admin.query(`DROP SCHEMA IF EXISTS ${this.schema} CASCADE`).catch(() => undefined);
    await this.admin.end();
  }
}

/** The connection parts of PG_URL, for the sink options. */
export function pgConnection(): { host: string; port: number; database: string; user: string } {
  const u = new URL(PG_URL);
  return { host: u.hostname, port: Number(u.port || 5432), database: u.pathname.slice(1), user: decodeURIComponent(u.username) };
}
