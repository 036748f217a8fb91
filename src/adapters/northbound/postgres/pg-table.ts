/**
 * The table of the PostgreSQL sink and the rows that go into it (layout documented in
 * docs/bridges-nats-postgres.md):
 *
 *   message_id   text PRIMARY KEY    the idempotency key `${brokerId}-${messageId}`: a retry
 *                                    hits ON CONFLICT (message_id) DO NOTHING
 *   topic        text NOT NULL       the MQTT topic
 *   client_id    text                the publisher (device id); NULL when the server published
 *   qos          smallint NOT NULL
 *   payload      bytea NOT NULL      the body as sent (payload or route template output), always
 *   payload_text text                the body when it is valid UTF-8 without NUL, else NULL
 *   payload_json jsonb               the body when it is JSON that jsonb accepts, else NULL
 *   created_at   timestamptz NOT NULL when the broker accepted the publish
 *   received_at  timestamptz NOT NULL DEFAULT now()   when the row was written
 *
 * payload_text and payload_json can be left out (textColumn / jsonColumn false) for a
 * table that does not have them.
 */
import { isUtf8 } from 'node:buffer';
import type { SinkMessage } from '../../../ports/sink.js';

export interface TableRef {
  schema: string;
  table: string;
  textColumn: boolean;
  jsonColumn: boolean;
}

/** `"name"` with embedded quotes doubled (SQL 5.1 "Delimited identifiers"). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function qualifiedName(t: Pick<TableRef, 'schema' | 'table'>): string {
  return `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;
}

export function createTableSql(t: TableRef): string[] {
  return [
    `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(t.schema)}`,
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(t)} (
  message_id   text PRIMARY KEY,
  topic        text NOT NULL,
  client_id    text,
  qos          smallint NOT NULL,
  payload      bytea NOT NULL,
  payload_text text,
  payload_json jsonb,
  created_at   timestamptz NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now()
)`,
  ];
}

export function columnsOf(t: TableRef): string[] {
  return [
    'message_id', 'topic', 'client_id', 'qos', 'payload',
    ...(t.textColumn ? ['payload_text'] : []),
    ...(t.jsonColumn ? ['payload_json'] : []),
    'created_at',
  ];
}

/** `INSERT ... VALUES ($1..),($..) ON CONFLICT (message_id) DO NOTHING` for `rows` rows. */
export function insertSql(t: TableRef, rows: number): string {
  const cols = columnsOf(t);
  const n = cols.length;
  const tuples: string[] = [];
  for (let r = 0; r < rows; r++) {
    const ps: string[] = [];
    for (let c = 1; c <= n; c++) ps.push(`$${r * n + c}`);
    tuples.push(`(${ps.join(',')})`);
  }
  return `INSERT INTO ${qualifiedName(t)} (${cols.join(', ')}) VALUES ${tuples.join(',')} ON CONFLICT (message_id) DO NOTHING`;
}

export type RowValue = string | number | Buffer | null;

/** The parameters of one row, in columnsOf order. */
export function rowOf(t: TableRef, m: SinkMessage): RowValue[] {
  const text = t.textColumn || t.jsonColumn ? payloadText(m.body) : null;
  return [
    m.idempotencyKey,
    m.topic,
    m.publisherId ?? null,
    m.qos,
    m.body,
    ...(t.textColumn ? [text] : []),
    ...(t.jsonColumn ? [text === null ? null : jsonText(text)] : []),
    new Date(m.createdAt).toISOString(),
  ];
}

/** The body as text when it is valid UTF-8 without NUL (PostgreSQL text cannot hold U+0000). */
export function payloadText(body: Buffer): string | null {
  if (body.length === 0) return '';
  if (body.includes(0) || !isUtf8(body)) return null;
  return body.toString('utf8');
}

/** \u0000 and unpaired surrogate escapes: valid JSON that jsonb refuses (22P05). */
const JSONB_REFUSES = /\\u0000|\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}/;
const JSON_START = /^[\s]*[[{"\-0-9tfn]/;

/**
 * The text when it is a JSON document jsonb accepts, else null. A literal backslash
 * followed by `u0000` inside a string can make this say no to valid input: then only
 * payload_json stays NULL, never the row.
 */
export function jsonText(text: string): string | null {
  if (!JSON_START.test(text)) return null;
  try {
    JSON.parse(text);
  } catch {
    return null;
  }
  return JSONB_REFUSES.test(text) ? null : text;
}
