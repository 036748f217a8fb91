/**
 * Options of one PostgreSQL sink (docs/bridges-nats-postgres.md). The bridge engine's
 * `bridges:` config section embeds this schema per sink; `createPgSink` parses its
 * argument with it, so a partial object gets every default.
 */
import { z } from 'zod';
import { HoldfastError } from '../../../errors/index.js';

const positive = (max: number) => z.int().min(1).max(max);
/** An SQL identifier as written in the config: quoted when used, so any name works, but keep it sane. */
const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/, 'letters, digits, _ and $, starting with a letter or _, at most 63');

export const pgSinkOptionsSchema = z.strictObject({
  name: z.string().min(1).max(200).describe('Sink name (routes refer to it; dead letters are filed under it).'),
  connectionString: z.string().optional()
    .describe('postgres://user:pass@host:port/db?...; the separate keys below override its parts.'),
  host: z.string().optional().describe('Server host (default from connectionString or PGHOST, else localhost).'),
  port: z.int().min(1).max(65535).optional().describe('Server port (default 5432).'),
  database: z.string().optional().describe('Database name.'),
  user: z.string().optional().describe('User name.'),
  password: z.string().optional().describe('Password.'),
  ssl: z.union([
    z.boolean(),
    z.strictObject({ rejectUnauthorized: z.boolean().default(true), ca: z.string().optional().describe('CA bundle (PEM text).') }),
  ]).default(false).describe('TLS to the server: false, true (verified), or options.'),
  schema: identifier.default('public').describe('Schema of the table.'),
  table: identifier.default('holdfast_messages').describe('Table the messages go to (layout in docs/bridges-nats-postgres.md).'),
  createTable: z.boolean().default(false)
    .describe('Create the schema and the table (IF NOT EXISTS) at start and when the table has gone.'),
  textColumn: z.boolean().default(true).describe('Fill payload_text (the payload when it is UTF-8 text without NUL).'),
  jsonColumn: z.boolean().default(true).describe('Fill payload_json (the payload when it is JSON that jsonb accepts).'),
  poolMax: positive(100).default(4).describe('Connections at most.'),
  connectTimeoutMs: positive(600_000).default(5000).describe('Deadline of opening a connection.'),
  statementTimeoutMs: positive(3_600_000).default(10_000)
    .describe('statement_timeout of every INSERT: a blocked or slow statement fails (and is retried) after it.'),
  lockTimeoutMs: positive(3_600_000).default(5000).describe('lock_timeout: waiting for a locked table fails (and is retried) after it.'),
  idleTimeoutMs: positive(3_600_000).default(30_000).describe('Idle connections are closed after it.'),
  maxRowsPerStatement: positive(8000).default(500).describe('Rows per INSERT statement (a batch is split into several).'),
});

/** The `postgres:` object of a `bridges.sinks[]` entry (the name comes from the entry). */
export const pgSinkConfigSchema = pgSinkOptionsSchema.omit({ name: true });

export type PgSinkOptions = z.output<typeof pgSinkOptionsSchema>;
export type PgSinkInput = z.input<typeof pgSinkOptionsSchema>;

/** Parses the options; throws PG_SINK_CONFIG. */
export function resolvePgSinkOptions(input: PgSinkInput): PgSinkOptions {
  const parsed = pgSinkOptionsSchema.safeParse(input);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new HoldfastError('PG_SINK_CONFIG', `PostgreSQL sink options: ${first?.path.join('.') ?? ''} ${first?.message ?? 'invalid'}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}
