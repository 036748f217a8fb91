/**
 * The SQLite schema of the device platform store (`<dataDir>/platform.db`, separate from
 * the broker's holdfast.db). `user_version` carries the schema version; a newer file than
 * this code understands is refused, never rewritten.
 *
 * Indexes follow the queries of SqlitePlatformStore:
 * - device lists page by id (the primary key) with filters: type (devices_type), enabled
 *   (devices_enabled), labels (device_labels_kv: one row per label, so a label filter is an
 *   index range, not a JSON scan) and presence state (presence_state);
 * - credentials by device, by fingerprint and by subject CN (the auth hook's lookups);
 * - shadow history by device in insertion order (the rowid);
 * - commands by device in seq order (all of them: lists, the last seq); the open ones
 *   (queued, sent) by device in seq order (the delivery window, devices with work after a
 *   restart) and by deadline (the expiry sweep). Those two are partial indexes: a command
 *   leaves them once final, so they stay as small as the open work, and the statements
 *   that use them name the open states literally (SQLite uses a partial index only for a
 *   WHERE it can prove from the SQL text, not from bound parameters).
 *
 * Version 2 replaced the full (state, deadline_at) and (state, device_id) indexes of
 * version 1 with the partial ones; opening a version 1 file migrates it (DROP/CREATE INDEX).
 */
export const PLATFORM_SCHEMA_VERSION = 2;

/** The open command states, as SQL (must match OPEN_STATES of the command service). */
export const OPEN_STATES_SQL = "('queued', 'sent')";

export const PLATFORM_SCHEMA = `
CREATE TABLE IF NOT EXISTS devices (
  id         TEXT PRIMARY KEY,
  type       TEXT NOT NULL,
  labels     TEXT NOT NULL,
  metadata   TEXT NOT NULL,
  enabled    INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS devices_type ON devices (type, id);
CREATE INDEX IF NOT EXISTS devices_enabled ON devices (enabled, id);

CREATE TABLE IF NOT EXISTS device_labels (
  device_id TEXT NOT NULL,
  key       TEXT NOT NULL,
  value     TEXT NOT NULL,
  PRIMARY KEY (device_id, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS device_labels_kv ON device_labels (key, value, device_id);

CREATE TABLE IF NOT EXISTS credentials (
  id             TEXT PRIMARY KEY,
  device_id      TEXT NOT NULL,
  kind           TEXT NOT NULL,
  secret_hash    TEXT,
  fingerprint256 TEXT,
  subject_cn     TEXT,
  created_at     INTEGER NOT NULL,
  expires_at     INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS credentials_device ON credentials (device_id);
CREATE INDEX IF NOT EXISTS credentials_fingerprint ON credentials (fingerprint256) WHERE fingerprint256 IS NOT NULL;
CREATE INDEX IF NOT EXISTS credentials_cn ON credentials (subject_cn) WHERE subject_cn IS NOT NULL;

CREATE TABLE IF NOT EXISTS presence (
  device_id            TEXT PRIMARY KEY,
  state                TEXT NOT NULL,
  since                INTEGER NOT NULL,
  last_seen            INTEGER NOT NULL,
  remote_address       TEXT,
  protocol_version     INTEGER,
  last_cause           TEXT,
  last_reason_code     INTEGER,
  connects_last_minute INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS presence_state ON presence (state, device_id);

CREATE TABLE IF NOT EXISTS shadows (
  device_id          TEXT PRIMARY KEY,
  desired            TEXT NOT NULL,
  reported           TEXT NOT NULL,
  version            INTEGER NOT NULL,
  desired_ts         TEXT NOT NULL,
  reported_ts        TEXT NOT NULL,
  updated_at         INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS shadow_history (
  id        INTEGER PRIMARY KEY,
  device_id TEXT NOT NULL,
  version   INTEGER NOT NULL,
  at        INTEGER NOT NULL,
  side      TEXT NOT NULL,
  patch     TEXT NOT NULL,
  by        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS shadow_history_device ON shadow_history (device_id, id);

CREATE TABLE IF NOT EXISTS commands (
  id           TEXT PRIMARY KEY,
  device_id    TEXT NOT NULL,
  seq          INTEGER NOT NULL,
  name         TEXT NOT NULL,
  payload      TEXT,
  state        TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  deadline_at  INTEGER NOT NULL,
  attempts     INTEGER NOT NULL,
  max_attempts INTEGER NOT NULL,
  result       TEXT,
  error        TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS commands_device_seq ON commands (device_id, seq);
DROP INDEX IF EXISTS commands_state_deadline;
DROP INDEX IF EXISTS commands_state_device;
CREATE INDEX IF NOT EXISTS commands_open_device ON commands (device_id, seq) WHERE state IN ${OPEN_STATES_SQL};
CREATE INDEX IF NOT EXISTS commands_open_deadline ON commands (deadline_at) WHERE state IN ${OPEN_STATES_SQL};
`;
