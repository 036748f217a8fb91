/**
 * The device platform store on SQLite (better-sqlite3, WAL): its own file, by default
 * `<dataDir>/platform.db`, next to the broker's holdfast.db.
 *
 * Writes are grouped: each write joins a batch that commits in one transaction at the end
 * of the current event-loop turn (setImmediate); its promise resolves after the commit
 * (durable as `durability` says: fsync = synchronous FULL, commit = NORMAL, survives a
 * process crash; none = OFF). A write that throws fails alone: the batch then runs again
 * with a savepoint per write (see runBatch). Reads run at once and see every write that
 * resolved before them. putShadow's version check runs inside the batch, in order with the other writes.
 */
import Database from 'better-sqlite3';
import { HoldfastError } from '../../../errors/index.js';
import type {
  CommandRecord,
  CommandState,
  CredentialRecord,
  DevicePage,
  DeviceQuery,
  DeviceRecord,
  PlatformStore,
  PresenceRecord,
  ShadowChange,
  ShadowRecord,
} from '../../../ports/platform-store.js';
import { deviceListSql } from './platform-device-query.js';
import {
  commandFromRow,
  commandToRow,
  credentialFromRow,
  credentialToRow,
  deviceFromRow,
  deviceToRow,
  historyFromRow,
  historyToRow,
  presenceFromRow,
  presenceToRow,
  shadowFromRow,
  shadowToRow,
  type CommandRow,
  type CredentialRow,
  type DeviceRow,
  type HistoryRow,
  type PresenceRow,
  type ShadowRow,
} from './platform-rows.js';
import { PLATFORM_SCHEMA, PLATFORM_SCHEMA_VERSION } from './platform-schema.js';
import { PlatformStatements } from './platform-statements.js';

export interface SqlitePlatformStoreOptions {
  /** Usually `<dataDir>/platform.db`. */
  file: string;
  durability?: 'fsync' | 'commit' | 'none';
}

interface Op {
  run(): unknown;
  resolve(v: unknown): void;
  reject(err: unknown): void;
}

/** Prepared list statements kept per query shape (a handful of shapes in practice). */
const MAX_CACHED_LIST_STATEMENTS = 64;

export class SqlitePlatformStore implements PlatformStore {
  readonly kind = 'sqlite';
  readonly file: string;
  readonly durability: 'fsync' | 'commit' | 'none';
  private db: Database.Database | undefined;
  private st!: PlatformStatements;
  private batch: Op[] = [];
  private scheduled = false;
  private readonly listStatements = new Map<string, Database.Statement>();
  /** Counters for tests and metrics. */
  readonly counters = { commits: 0, writes: 0, failedWrites: 0 };

  constructor(opts: SqlitePlatformStoreOptions) {
    this.file = opts.file;
    this.durability = opts.durability ?? 'commit';
  }

  async open(): Promise<void> {
    let db: Database.Database;
    try {
      db = new Database(this.file);
    } catch (err) {
      throw new HoldfastError('STORE_OPEN_FAILED', `cannot open the platform store ${this.file}: ${(err as Error).message}`, {
        cause: err,
        details: { file: this.file },
      });
    }
    try {
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version > PLATFORM_SCHEMA_VERSION) {
        throw new Error(`schema version ${version} is newer than this holdfast understands (${PLATFORM_SCHEMA_VERSION})`);
      }
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${this.durability === 'fsync' ? 'FULL' : this.durability === 'commit' ? 'NORMAL' : 'OFF'}`);
      db.exec(PLATFORM_SCHEMA);
      if (version < PLATFORM_SCHEMA_VERSION) db.pragma(`user_version = ${PLATFORM_SCHEMA_VERSION}`);
    } catch (err) {
      db.close();
      throw new HoldfastError(
        'STORE_CORRUPT',
        `the platform store ${this.file} is damaged or not a holdfast platform store (${(err as Error).message}); it was left untouched`,
        { cause: err, details: { file: this.file } },
      );
    }
    this.db = db;
    this.st = new PlatformStatements(db);
  }

  async close(): Promise<void> {
    if (this.db === undefined) return;
    this.commit();
    this.listStatements.clear();
    this.db.close();
    this.db = undefined;
  }

  // ---- the write batch --------------------------------------------------------------

  private write<T>(run: () => T): Promise<T> {
    if (this.db === undefined) return Promise.reject(new HoldfastError('STORE_CLOSED', 'the platform store is not open'));
    return new Promise<T>((resolve, reject) => {
      this.batch.push({ run, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.commit());
      }
    });
  }

  private commit(): void {
    this.scheduled = false;
    const ops = this.batch;
    if (ops.length === 0 || this.db === undefined) return;
    this.batch = [];
    let results: { ok: boolean; value: unknown }[];
    try {
      results = this.runBatch(this.db, ops);
    } catch (err) {
      this.counters.failedWrites += ops.length;
      for (const op of ops) op.reject(new HoldfastError('STORE_WRITE_FAILED', `platform store commit failed: ${(err as Error).message}`, { cause: err }));
      return;
    }
    this.counters.commits++;
    ops.forEach((op, i) => {
      const r = results[i];
      this.counters.writes++;
      if (r.ok) op.resolve(r.value);
      else {
        this.counters.failedWrites++;
        op.reject(r.value);
      }
    });
  }

  /**
   * One transaction for the batch. First without savepoints (a savepoint per write cost as
   * much as the write itself): if every write succeeds, that commits. If one throws, the
   * whole transaction is rolled back and the batch runs again with a savepoint per write, so
   * that the failing write fails alone (writes only touch the database: running one again
   * after a rollback gives the same result). Throws when the commit itself fails.
   */
  private runBatch(db: Database.Database, ops: Op[]): { ok: boolean; value: unknown }[] {
    const fast: { ok: boolean; value: unknown }[] = [];
    let failed = false;
    try {
      db.transaction(() => {
        for (const op of ops) fast.push({ ok: true, value: op.run() });
      })();
    } catch (err) {
      if (fast.length === ops.length) throw err; // every write ran: the COMMIT itself failed
      failed = true;
    }
    if (!failed) return fast;
    const results: { ok: boolean; value: unknown }[] = [];
    const savepoint = db.transaction((op: Op) => op.run());
    db.transaction(() => {
      for (const op of ops) {
        try {
          results.push({ ok: true, value: savepoint(op) });
        } catch (err) {
          results.push({ ok: false, value: err });
        }
      }
    })();
    return results;
  }

  private handle(): Database.Database {
    if (this.db === undefined) throw new HoldfastError('STORE_CLOSED', 'the platform store is not open');
    return this.db;
  }

  // ---- devices ------------------------------------------------------------------------

  async putDevice(d: DeviceRecord): Promise<void> {
    const row = deviceToRow(d);
    const labels = Object.entries(d.labels);
    return this.write(() => {
      this.st.upsertDevice.run(row);
      this.st.deleteLabels.run(d.id);
      for (const [key, value] of labels) this.st.insertLabel.run(d.id, key, value);
    });
  }

  async getDevice(id: string): Promise<DeviceRecord | undefined> {
    this.handle();
    const row = this.st.getDevice.get(id) as DeviceRow | undefined;
    return row === undefined ? undefined : deviceFromRow(row);
  }

  async deleteDevice(id: string): Promise<boolean> {
    return this.write(() => {
      const removed = this.st.deleteDevice.run(id).changes > 0;
      if (!removed) return false;
      this.st.deleteLabels.run(id);
      this.st.deleteCredentialsOf.run(id);
      this.st.deletePresence.run(id);
      this.st.deleteShadow.run(id);
      this.st.deleteHistoryOf.run(id);
      this.st.deleteCommandsOf.run(id);
      return true;
    });
  }

  async listDevices(q: DeviceQuery): Promise<DevicePage> {
    const db = this.handle();
    const { key, sql, params } = deviceListSql(q, q.limit + 1);
    let stmt = this.listStatements.get(key);
    if (stmt === undefined) {
      stmt = db.prepare(sql);
      if (this.listStatements.size >= MAX_CACHED_LIST_STATEMENTS) this.listStatements.clear();
      this.listStatements.set(key, stmt);
    }
    const rows = stmt.all(...params) as DeviceRow[];
    const more = rows.length > q.limit;
    const items = (more ? rows.slice(0, q.limit) : rows).map(deviceFromRow);
    return { items, nextCursor: more ? items[items.length - 1].id : undefined };
  }

  async countDevices(): Promise<number> {
    this.handle();
    return (this.st.countDevices.get() as { n: number }).n;
  }

  // ---- credentials --------------------------------------------------------------------

  async putCredential(c: CredentialRecord): Promise<void> {
    const row = credentialToRow(c);
    return this.write(() => {
      this.st.upsertCredential.run(row);
    });
  }

  async deleteCredential(id: string): Promise<boolean> {
    return this.write(() => this.st.deleteCredential.run(id).changes > 0);
  }

  async credentialsOf(deviceId: string): Promise<CredentialRecord[]> {
    this.handle();
    return (this.st.credentialsOf.all(deviceId) as CredentialRow[]).map(credentialFromRow);
  }

  async credentialsByFingerprint(fingerprint256: string): Promise<CredentialRecord[]> {
    this.handle();
    return (this.st.credentialsByFingerprint.all(fingerprint256) as CredentialRow[]).map(credentialFromRow);
  }

  async credentialsBySubjectCN(subjectCN: string): Promise<CredentialRecord[]> {
    this.handle();
    return (this.st.credentialsBySubjectCN.all(subjectCN) as CredentialRow[]).map(credentialFromRow);
  }

  // ---- presence -----------------------------------------------------------------------

  async putPresence(p: PresenceRecord): Promise<void> {
    const row = presenceToRow(p);
    return this.write(() => {
      this.st.upsertPresence.run(row);
    });
  }

  async getPresence(deviceId: string): Promise<PresenceRecord | undefined> {
    this.handle();
    const row = this.st.getPresence.get(deviceId) as PresenceRow | undefined;
    return row === undefined ? undefined : presenceFromRow(row);
  }

  // ---- shadows ------------------------------------------------------------------------

  async getShadow(deviceId: string): Promise<ShadowRecord | undefined> {
    this.handle();
    const row = this.st.getShadow.get(deviceId) as ShadowRow | undefined;
    return row === undefined ? undefined : shadowFromRow(row);
  }

  async putShadow(s: ShadowRecord, expectedVersion: number, change: ShadowChange, historyLimit: number): Promise<boolean> {
    const row = shadowToRow(s);
    const history = historyToRow(change);
    return this.write(() => {
      const current = (this.st.shadowVersion.get(s.deviceId) as { version: number } | undefined)?.version ?? 0;
      if (current !== expectedVersion) return false;
      this.st.upsertShadow.run(row);
      this.st.insertHistory.run(history);
      this.st.trimHistory.run(s.deviceId, s.deviceId, Math.max(0, historyLimit));
      return true;
    });
  }

  async shadowHistory(deviceId: string, limit: number): Promise<ShadowChange[]> {
    this.handle();
    return (this.st.shadowHistory.all(deviceId, Math.max(0, limit)) as HistoryRow[]).map(historyFromRow);
  }

  // ---- commands -----------------------------------------------------------------------

  async putCommand(c: CommandRecord): Promise<void> {
    const row = commandToRow(c);
    return this.write(() => {
      this.st.upsertCommand.run(row);
    });
  }

  async getCommand(id: string): Promise<CommandRecord | undefined> {
    this.handle();
    const row = this.st.getCommand.get(id) as CommandRow | undefined;
    return row === undefined ? undefined : commandFromRow(row);
  }

  async commandsOf(deviceId: string, states: readonly CommandState[] | undefined, limit: number): Promise<CommandRecord[]> {
    this.handle();
    if (states !== undefined && states.length === 0) return [];
    const n = Math.max(0, limit);
    const rows =
      states === undefined
        ? this.st.commandsOf.all(deviceId, n)
        : PlatformStatements.isOpenSet(states)
          ? this.st.openCommandsOf.all(deviceId, n)
          : this.st.commandsOfIn(states.length).all(deviceId, ...states, n);
    return (rows as CommandRow[]).map(commandFromRow);
  }

  async commandsDue(states: readonly CommandState[], before: number, limit: number): Promise<CommandRecord[]> {
    this.handle();
    if (states.length === 0) return [];
    const n = Math.max(0, limit);
    const rows = (
      PlatformStatements.isOpenSet(states) ? this.st.openCommandsDue.all(before, n) : this.st.commandsDue(states.length).all(...states, before, n)
    ) as CommandRow[];
    return rows.map(commandFromRow);
  }

  async lastCommandSeq(deviceId: string): Promise<number> {
    this.handle();
    return (this.st.lastCommandSeq.get(deviceId) as { seq: number | null }).seq ?? 0;
  }

  async devicesWithCommands(states: readonly CommandState[], limit: number): Promise<string[]> {
    this.handle();
    if (states.length === 0) return [];
    const n = Math.max(0, limit);
    const rows = (
      PlatformStatements.isOpenSet(states) ? this.st.devicesWithOpenCommands.all(n) : this.st.devicesWithCommands(states.length).all(...states, n)
    ) as { device_id: string }[];
    return rows.map((r) => r.device_id);
  }
}
