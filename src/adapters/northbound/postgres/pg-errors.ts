/**
 * What a failed INSERT means (SQLSTATE classes, PostgreSQL manual appendix A "Error
 * Codes"; docs/bridges-nats-postgres.md):
 *
 *   connection  the connection is unusable: class 08, 57P01-57P03 (shutdown, cannot
 *               connect now), socket errors (ECONNREFUSED, ECONNRESET, timeouts), pg's
 *               "Connection terminated". The batch is retried; the client is discarded.
 *   auth        class 28 (bad password, unknown role), 42501 (no privilege), 3D000 (no such
 *               database): retried, because an operator can fix them, but surfaced as
 *               PG_AUTH_FAILED in errors, logs and state().
 *   retry       40001 serialization failure, 40P01 deadlock, 55P03 lock not available
 *               (lock_timeout), 57014 statement timeout / cancel, class 53 (disk full, out of
 *               memory, too many connections), 58 and XX, anything unknown.
 *   row         the data of some row is refused: class 22 (invalid input, value too long),
 *               23 (constraints other than our ON CONFLICT), 54 (program limit, e.g. an index
 *               row too large). PostgreSQL does not say which row of a multi-row INSERT, so
 *               the sink splits the statement in halves until it finds the row(s): those are
 *               permanent, the others are written.
 *   table       the statement can never succeed, whatever the rows: class 42 (undefined
 *               table or column, datatype mismatch, no unique constraint for ON CONFLICT)
 *               and 0A (feature not supported): permanent for the whole batch. With
 *               createTable, an undefined table is created again and the batch retried.
 */
export type PgFailureKind = 'connection' | 'auth' | 'retry' | 'row' | 'table';

export interface PgFailure {
  readonly kind: PgFailureKind;
  readonly sqlstate: string | undefined;
  readonly error: string;
}

const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);

export function classifyPgError(err: unknown): PgFailure {
  const code = typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : undefined;
  const message = err instanceof Error ? err.message : String(err);
  const sqlstate = code !== undefined && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
  const error = sqlstate !== undefined ? `${sqlstate}: ${message}` : code !== undefined ? `${code}: ${message}` : message;
  const of = (kind: PgFailureKind): PgFailure => ({ kind, sqlstate, error });
  if (sqlstate === undefined) {
    if (code !== undefined && SOCKET_CODES.has(code)) return of('connection');
    if (/Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error/i.test(message)) {
      return of('connection');
    }
    return of('retry');
  }
  const cls = sqlstate.slice(0, 2);
  if (cls === '08' || sqlstate === '57P01' || sqlstate === '57P02' || sqlstate === '57P03') return of('connection');
  if (cls === '28' || sqlstate === '42501' || sqlstate === '3D000') return of('auth');
  if (cls === '22' || cls === '23' || cls === '54') return of('row');
  if (cls === '42' || cls === '0A') return of('table');
  return of('retry');
}
