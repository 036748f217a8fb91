/** The prepared statements of SqlitePlatformStore (one place, prepared once per open). */
import type Database from 'better-sqlite3';
import type { CommandState } from '../../../ports/platform-store.js';
import { OPEN_STATES_SQL } from './platform-schema.js';

const CREDENTIAL_COLUMNS = 'id, device_id, kind, secret_hash, fingerprint256, subject_cn, created_at, expires_at';
const COMMAND_COLUMNS =
  'id, device_id, seq, name, payload, state, created_at, updated_at, deadline_at, attempts, max_attempts, result, error';

export class PlatformStatements {
  readonly upsertDevice: Database.Statement;
  readonly getDevice: Database.Statement;
  readonly deleteDevice: Database.Statement;
  readonly countDevices: Database.Statement;
  readonly deleteLabels: Database.Statement;
  readonly insertLabel: Database.Statement;

  readonly upsertCredential: Database.Statement;
  readonly deleteCredential: Database.Statement;
  readonly deleteCredentialsOf: Database.Statement;
  readonly credentialsOf: Database.Statement;
  readonly credentialsByFingerprint: Database.Statement;
  readonly credentialsBySubjectCN: Database.Statement;

  readonly upsertPresence: Database.Statement;
  readonly getPresence: Database.Statement;
  readonly deletePresence: Database.Statement;

  readonly getShadow: Database.Statement;
  readonly shadowVersion: Database.Statement;
  readonly upsertShadow: Database.Statement;
  readonly deleteShadow: Database.Statement;
  readonly insertHistory: Database.Statement;
  readonly trimHistory: Database.Statement;
  readonly shadowHistory: Database.Statement;
  readonly deleteHistoryOf: Database.Statement;

  readonly upsertCommand: Database.Statement;
  readonly getCommand: Database.Statement;
  readonly commandsOf: Database.Statement;
  readonly lastCommandSeq: Database.Statement;
  readonly deleteCommandsOf: Database.Statement;
  /** The same queries for exactly the open states (queued, sent), over the partial indexes. */
  readonly openCommandsOf: Database.Statement;
  readonly openCommandsDue: Database.Statement;
  readonly devicesWithOpenCommands: Database.Statement;
  private readonly byStateCount = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {
    this.upsertDevice = db.prepare(
      `INSERT INTO devices (id, type, labels, metadata, enabled, created_at, updated_at)
       VALUES (@id, @type, @labels, @metadata, @enabled, @created_at, @updated_at)
       ON CONFLICT (id) DO UPDATE SET type = excluded.type, labels = excluded.labels, metadata = excluded.metadata,
         enabled = excluded.enabled, created_at = excluded.created_at, updated_at = excluded.updated_at`,
    );
    this.getDevice = db.prepare('SELECT id, type, labels, metadata, enabled, created_at, updated_at FROM devices WHERE id = ?');
    this.deleteDevice = db.prepare('DELETE FROM devices WHERE id = ?');
    this.countDevices = db.prepare('SELECT count(*) AS n FROM devices');
    this.deleteLabels = db.prepare('DELETE FROM device_labels WHERE device_id = ?');
    this.insertLabel = db.prepare('INSERT INTO device_labels (device_id, key, value) VALUES (?, ?, ?)');

    this.upsertCredential = db.prepare(
      `INSERT OR REPLACE INTO credentials (${CREDENTIAL_COLUMNS})
       VALUES (@id, @device_id, @kind, @secret_hash, @fingerprint256, @subject_cn, @created_at, @expires_at)`,
    );
    this.deleteCredential = db.prepare('DELETE FROM credentials WHERE id = ?');
    this.deleteCredentialsOf = db.prepare('DELETE FROM credentials WHERE device_id = ?');
    this.credentialsOf = db.prepare(`SELECT ${CREDENTIAL_COLUMNS} FROM credentials WHERE device_id = ? ORDER BY created_at, id`);
    this.credentialsByFingerprint = db.prepare(`SELECT ${CREDENTIAL_COLUMNS} FROM credentials WHERE fingerprint256 = ?`);
    this.credentialsBySubjectCN = db.prepare(`SELECT ${CREDENTIAL_COLUMNS} FROM credentials WHERE subject_cn = ?`);

    this.upsertPresence = db.prepare(
      `INSERT OR REPLACE INTO presence (device_id, state, since, last_seen, remote_address, protocol_version, last_cause,
         last_reason_code, connects_last_minute)
       VALUES (@device_id, @state, @since, @last_seen, @remote_address, @protocol_version, @last_cause, @last_reason_code,
         @connects_last_minute)`,
    );
    this.getPresence = db.prepare('SELECT * FROM presence WHERE device_id = ?');
    this.deletePresence = db.prepare('DELETE FROM presence WHERE device_id = ?');

    this.getShadow = db.prepare('SELECT * FROM shadows WHERE device_id = ?');
    this.shadowVersion = db.prepare('SELECT version FROM shadows WHERE device_id = ?');
    this.upsertShadow = db.prepare(
      `INSERT OR REPLACE INTO shadows (device_id, desired, reported, version, desired_ts, reported_ts, updated_at)
       VALUES (@device_id, @desired, @reported, @version, @desired_ts, @reported_ts, @updated_at)`,
    );
    this.deleteShadow = db.prepare('DELETE FROM shadows WHERE device_id = ?');
    this.insertHistory = db.prepare(
      'INSERT INTO shadow_history (device_id, version, at, side, patch, by) VALUES (@device_id, @version, @at, @side, @patch, @by)',
    );
    // Keeps the newest `limit` changes of the device.
    this.trimHistory = db.prepare(
      `DELETE FROM shadow_history WHERE device_id = ? AND id NOT IN
         (SELECT id FROM shadow_history WHERE device_id = ? ORDER BY id DESC LIMIT ?)`,
    );
    this.shadowHistory = db.prepare(
      'SELECT device_id, version, at, side, patch, by FROM shadow_history WHERE device_id = ? ORDER BY id DESC LIMIT ?',
    );
    this.deleteHistoryOf = db.prepare('DELETE FROM shadow_history WHERE device_id = ?');

    this.upsertCommand = db.prepare(
      // An upsert, not INSERT OR REPLACE: a state change (the common write) then leaves the
      // row's (device_id, seq) index entry alone instead of deleting and re-inserting all three.
      // A command's device_id and seq never change once it is queued.
      `INSERT INTO commands (${COMMAND_COLUMNS})
       VALUES (@id, @device_id, @seq, @name, @payload, @state, @created_at, @updated_at, @deadline_at, @attempts,
         @max_attempts, @result, @error)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, payload = excluded.payload, state = excluded.state,
         updated_at = excluded.updated_at, deadline_at = excluded.deadline_at, attempts = excluded.attempts,
         max_attempts = excluded.max_attempts, result = excluded.result, error = excluded.error`,
    );
    this.getCommand = db.prepare(`SELECT ${COMMAND_COLUMNS} FROM commands WHERE id = ?`);
    this.commandsOf = db.prepare(`SELECT ${COMMAND_COLUMNS} FROM commands WHERE device_id = ? ORDER BY seq LIMIT ?`);
    this.lastCommandSeq = db.prepare('SELECT max(seq) AS seq FROM commands WHERE device_id = ?');
    this.deleteCommandsOf = db.prepare('DELETE FROM commands WHERE device_id = ?');
    this.openCommandsOf = db.prepare(
      `SELECT ${COMMAND_COLUMNS} FROM commands INDEXED BY commands_open_device
       WHERE device_id = ? AND state IN ${OPEN_STATES_SQL} ORDER BY seq LIMIT ?`,
    );
    this.openCommandsDue = db.prepare(
      `SELECT ${COMMAND_COLUMNS} FROM commands INDEXED BY commands_open_deadline
       WHERE state IN ${OPEN_STATES_SQL} AND deadline_at <= ? ORDER BY deadline_at LIMIT ?`,
    );
    this.devicesWithOpenCommands = db.prepare(
      `SELECT DISTINCT device_id FROM commands INDEXED BY commands_open_device WHERE state IN ${OPEN_STATES_SQL} LIMIT ?`,
    );
  }

  /** True when `states` are exactly the open states (queued and sent, in any order, no others). */
  static isOpenSet(states: readonly CommandState[]): boolean {
    let queued = false;
    let sent = false;
    for (const st of states) {
      if (st === 'queued') queued = true;
      else if (st === 'sent') sent = true;
      else return false;
    }
    return queued && sent;
  }

  /** Statements with `state IN (?, ...)`, prepared per number of states. */
  private byStates(kind: string, n: number, sql: (marks: string) => string): Database.Statement {
    const key = `${kind}:${n}`;
    let st = this.byStateCount.get(key);
    if (st === undefined) {
      st = this.db.prepare(sql(new Array(n).fill('?').join(', ')));
      this.byStateCount.set(key, st);
    }
    return st;
  }

  commandsOfIn(n: number): Database.Statement {
    return this.byStates('of', n, (m) => `SELECT ${COMMAND_COLUMNS} FROM commands WHERE device_id = ? AND state IN (${m}) ORDER BY seq LIMIT ?`);
  }

  commandsDue(n: number): Database.Statement {
    return this.byStates('due', n, (m) => `SELECT ${COMMAND_COLUMNS} FROM commands WHERE state IN (${m}) AND deadline_at <= ? ORDER BY deadline_at LIMIT ?`);
  }

  devicesWithCommands(n: number): Database.Statement {
    return this.byStates('devs', n, (m) => `SELECT DISTINCT device_id FROM commands WHERE state IN (${m}) LIMIT ?`);
  }
}
