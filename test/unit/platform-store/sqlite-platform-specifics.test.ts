/**
 * SqlitePlatformStore beyond the shared contract: grouped commits (one transaction for the
 * writes of one event-loop turn, a failing write fails alone), writes after close, a file
 * from a newer holdfast refused untouched, WAL mode, the version 1 -> 2 migration.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqlitePlatformStore } from '../../../src/adapters/persistence/sqlite/index.js';
import { device } from './platform-store-contract.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'holdfast-platform-sqlite-'));
  file = join(dir, 'platform.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('SqlitePlatformStore specifics', () => {
  it('commits the writes of one turn in one transaction; a failing write fails alone', async () => {
    const store = new SqlitePlatformStore({ file });
    await store.open();
    const commits = store.counters.commits;
    const failing = (store as unknown as { write(run: () => unknown): Promise<unknown> }).write(() => {
      throw new Error('boom');
    });
    const ok = [store.putDevice(device('a')), store.putDevice(device('b'))];
    await expect(failing).rejects.toThrow('boom');
    await Promise.all(ok);
    expect(store.counters.commits).toBe(commits + 1);
    expect((await store.listDevices({ limit: 10 })).items.map((d) => d.id)).toEqual(['a', 'b']);
    await store.close();
  });

  it('a write that throws halfway in the middle of a batch leaves nothing behind; the writes around it commit once', async () => {
    const store = new SqlitePlatformStore({ file });
    await store.open();
    const write = (store as unknown as { write(run: () => unknown): Promise<unknown> }).write.bind(store);
    const db = (store as unknown as { db: Database.Database }).db;
    const before = store.putDevice(device('a'));
    const failing = write(() => {
      db.prepare("INSERT INTO device_labels (device_id, key, value) VALUES ('half', 'k', 'v')").run();
      throw new Error('boom');
    });
    const after = store.putDevice(device('b', { labels: { zone: 'north' } }));
    await expect(failing).rejects.toThrow('boom');
    await Promise.all([before, after]);
    expect((await store.listDevices({ limit: 10 })).items.map((d) => d.id)).toEqual(['a', 'b']);
    expect(db.prepare("SELECT count(*) AS n FROM device_labels WHERE device_id = 'half'").get()).toEqual({ n: 0 });
    expect(db.prepare("SELECT count(*) AS n FROM device_labels WHERE device_id = 'b'").get()).toEqual({ n: 1 });
    expect(store.counters.failedWrites).toBe(1);
    await store.close();
  });

  it('migrates a version 1 file: the full state indexes of commands become partial indexes on the open states', async () => {
    const v1 = new Database(file);
    v1.exec(`CREATE TABLE commands (id TEXT PRIMARY KEY, device_id TEXT NOT NULL, seq INTEGER NOT NULL, name TEXT NOT NULL,
      payload TEXT, state TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, deadline_at INTEGER NOT NULL,
      attempts INTEGER NOT NULL, max_attempts INTEGER NOT NULL, result TEXT, error TEXT) WITHOUT ROWID;
      CREATE INDEX commands_device_seq ON commands (device_id, seq);
      CREATE INDEX commands_state_deadline ON commands (state, deadline_at);
      CREATE INDEX commands_state_device ON commands (state, device_id);
      INSERT INTO commands VALUES ('c1', 'd1', 1, 'reboot', 'null', 'queued', 1, 1, 100, 0, 3, NULL, NULL);
      INSERT INTO commands VALUES ('c2', 'd1', 2, 'reboot', 'null', 'acked', 1, 1, 100, 1, 3, NULL, NULL);`);
    v1.pragma('user_version = 1');
    v1.close();
    const store = new SqlitePlatformStore({ file });
    await store.open();
    expect((await store.commandsOf('d1', ['sent', 'queued'], 10)).map((c) => c.id)).toEqual(['c1']);
    expect((await store.commandsDue(['queued', 'sent'], 1000, 10)).map((c) => c.id)).toEqual(['c1']);
    expect(await store.devicesWithCommands(['queued', 'sent'], 10)).toEqual(['d1']);
    expect((await store.commandsOf('d1', ['acked'], 10)).map((c) => c.id)).toEqual(['c2']);
    await store.close();
    const db = new Database(file);
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    const names = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'commands'").all() as { name: string }[]).map((r) => r.name);
    expect(names.sort()).toEqual(['commands_device_seq', 'commands_open_deadline', 'commands_open_device']);
    db.close();
  });

  it('a record that cannot be serialized rejects (never throws synchronously); writes after close reject', async () => {
    const store = new SqlitePlatformStore({ file });
    await store.open();
    const bad = device('x', { metadata: { n: 1n } as unknown as Record<string, unknown> });
    await expect(store.putDevice(bad)).rejects.toThrow();
    await store.close();
    await expect(store.putDevice(device('y'))).rejects.toMatchObject({ code: 'STORE_CLOSED' });
  });

  it('runs in WAL mode and refuses a file from a newer schema without touching it', async () => {
    const store = new SqlitePlatformStore({ file });
    await store.open();
    await store.close();
    const db = new Database(file);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.pragma('user_version = 99');
    db.close();
    await expect(new SqlitePlatformStore({ file }).open()).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
    const again = new Database(file);
    expect(again.pragma('user_version', { simple: true })).toBe(99);
    again.close();
  });
});
