/**
 * The SQLite schema of the durable store (docs/persistence.md). `user_version` carries
 * the schema version; a newer file than this code understands is refused, never rewritten.
 */
export const SCHEMA_VERSION = 1;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS sessions (
  client_id        TEXT PRIMARY KEY,
  protocol_version INTEGER NOT NULL,
  expiry_s         INTEGER NOT NULL,
  disconnected_at  INTEGER,
  username         TEXT
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS subscriptions (
  client_id       TEXT NOT NULL,
  filter          TEXT NOT NULL,
  qos             INTEGER NOT NULL,
  no_local        INTEGER NOT NULL,
  rap             INTEGER NOT NULL,
  retain_handling INTEGER NOT NULL,
  sub_id          INTEGER,
  PRIMARY KEY (client_id, filter)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS messages (
  id           INTEGER PRIMARY KEY,
  topic        TEXT NOT NULL,
  payload      BLOB NOT NULL,
  qos          INTEGER NOT NULL,
  retain       INTEGER NOT NULL,
  properties   TEXT,
  expires_at   INTEGER NOT NULL,
  publisher_id TEXT,
  created_at   INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS deliveries (
  client_id  TEXT NOT NULL,
  seq        INTEGER NOT NULL,
  message_id INTEGER NOT NULL,
  qos        INTEGER NOT NULL,
  retain     INTEGER NOT NULL,
  sub_ids    TEXT,
  share_key  TEXT,
  packet_id  INTEGER,
  pubrel     INTEGER NOT NULL,
  PRIMARY KEY (client_id, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_message ON deliveries (message_id);

CREATE TABLE IF NOT EXISTS inbound_qos2 (
  client_id TEXT NOT NULL,
  packet_id INTEGER NOT NULL,
  PRIMARY KEY (client_id, packet_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS retained (
  topic        TEXT PRIMARY KEY,
  id           INTEGER NOT NULL,
  payload      BLOB NOT NULL,
  qos          INTEGER NOT NULL,
  properties   TEXT,
  expires_at   INTEGER NOT NULL,
  publisher_id TEXT,
  created_at   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS wills (
  client_id  TEXT PRIMARY KEY,
  topic      TEXT NOT NULL,
  payload    BLOB NOT NULL,
  qos        INTEGER NOT NULL,
  retain     INTEGER NOT NULL,
  properties TEXT,
  fire_at    INTEGER NOT NULL
) WITHOUT ROWID;

-- Northbound outbox (issue 9): one row per (sink, message), deleted once the sink has it.
CREATE TABLE IF NOT EXISTS outbox (
  sink         TEXT NOT NULL,
  message_id   INTEGER NOT NULL,
  topic        TEXT NOT NULL,
  payload      BLOB NOT NULL,
  qos          INTEGER NOT NULL,
  retain       INTEGER NOT NULL,
  properties   TEXT,
  publisher_id TEXT,
  created_at   INTEGER NOT NULL,
  attempts     INTEGER NOT NULL,
  PRIMARY KEY (sink, message_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS dead_letters (
  sink         TEXT NOT NULL,
  message_id   INTEGER NOT NULL,
  topic        TEXT NOT NULL,
  payload      BLOB NOT NULL,
  qos          INTEGER NOT NULL,
  retain       INTEGER NOT NULL,
  properties   TEXT,
  publisher_id TEXT,
  created_at   INTEGER NOT NULL,
  attempts     INTEGER NOT NULL,
  error        TEXT NOT NULL,
  failed_at    INTEGER NOT NULL,
  PRIMARY KEY (sink, message_id)
) WITHOUT ROWID;

-- Small values of other components (Store.putMeta), e.g. the SLO engine's windows.
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value BLOB NOT NULL
) WITHOUT ROWID;
`;

export const TABLES = ['sessions', 'subscriptions', 'messages', 'deliveries', 'inbound_qos2', 'retained', 'wills', 'outbox', 'dead_letters'] as const;
