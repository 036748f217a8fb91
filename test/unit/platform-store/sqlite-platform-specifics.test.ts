/**
 * SqlitePlatformStore beyond the shared contract: grouped commits (one transaction for the
 * writes of one event-loop turn, a failing write fails alone), writes after close, a file
 * from a newer holdfast refused untouched, WAL mode.
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
