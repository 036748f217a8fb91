/**
 * `holdfast store verify`: opens a data dir's store read-only and checks it without
 * changing a byte: SQLite integrity, schema version, the tables, and references between
 * them (deliveries pointing at missing messages).
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { SCHEMA_VERSION, TABLES } from './schema.js';

export interface VerifyReport {
  file: string;
  ok: boolean;
  problems: string[];
  counts: Record<string, number>;
  schemaVersion: number | undefined;
}

export function verifyStore(file: string): VerifyReport {
  const report: VerifyReport = { file, ok: false, problems: [], counts: {}, schemaVersion: undefined };
  if (!existsSync(file)) {
    report.problems.push(`${file} does not exist`);
    return report;
  }
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    report.problems.push(`cannot open ${file}: ${(err as Error).message}`);
    return report;
  }
  try {
    const integrity = db.pragma('integrity_check', { simple: false }) as { integrity_check: string }[];
    for (const row of integrity) if (row.integrity_check !== 'ok') report.problems.push(`integrity: ${row.integrity_check}`);
    const version = db.pragma('user_version', { simple: true }) as number;
    report.schemaVersion = version;
    if (version !== SCHEMA_VERSION) report.problems.push(`schema version ${version}, expected ${SCHEMA_VERSION}`);
    for (const t of TABLES) {
      try {
        report.counts[t] = (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
      } catch (err) {
        report.problems.push(`table ${t}: ${(err as Error).message}`);
      }
    }
    if (report.problems.length === 0) {
      const dangling = (
        db.prepare('SELECT count(*) AS n FROM deliveries d WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = d.message_id)').get() as {
          n: number;
        }
      ).n;
      if (dangling > 0) report.problems.push(`${dangling} deliveries refer to missing messages`);
    }
  } catch (err) {
    report.problems.push(`${file}: ${(err as Error).message}`);
  } finally {
    db.close();
  }
  report.ok = report.problems.length === 0;
  return report;
}
