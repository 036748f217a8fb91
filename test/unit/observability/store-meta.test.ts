/**
 * Store.putMeta / getMeta (the SLO windows' place in the store): memory and SQLite keep
 * the last value per key; SQLite keeps it across a reopen, and a file written before the
 * meta table existed still opens (CREATE TABLE IF NOT EXISTS).
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../../src/adapters/persistence/memory/index.js';
import { SqliteStore } from '../../../src/adapters/persistence/sqlite/index.js';
import type { Store } from '../../../src/ports/store.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'holdfast-meta-'));
  dirs.push(d);
  return d;
};

async function roundTrip(store: Store): Promise<void> {
  expect(await store.getMeta('slo/windows')).toBeUndefined();
  const value = Buffer.from('{"v":1}');
  store.putMeta('slo/windows', value);
  value.write('X'); // the store keeps its own copy
  expect((await store.getMeta('slo/windows'))?.toString()).toBe('{"v":1}');
  store.putMeta('slo/windows', Buffer.from('second'));
  store.putMeta('other', Buffer.from([0, 1, 2]));
  await store.flush();
  expect((await store.getMeta('slo/windows'))?.toString()).toBe('second');
  expect([...(await store.getMeta('other'))!]).toEqual([0, 1, 2]);
}

describe('Store meta values', () => {
  it('memory: last value per key', async () => {
    await roundTrip(new MemoryStore());
  });

  it('sqlite: last value per key, kept across a reopen', async () => {
    const file = join(tmp(), 'holdfast.db');
    const a = new SqliteStore({ file });
    await a.open();
    await roundTrip(a);
    await a.close();
    const b = new SqliteStore({ file });
    await b.open();
    expect((await b.getMeta('slo/windows'))?.toString()).toBe('second');
    await b.close();
  });

  it('sqlite: a store file without the meta table (written before it existed) opens and gains it', async () => {
    const file = join(tmp(), 'holdfast.db');
    const a = new SqliteStore({ file });
    await a.open();
    await a.close();
    const raw = new Database(file);
    raw.exec('DROP TABLE meta');
    raw.close();
    const b = new SqliteStore({ file });
    await b.open();
    expect(await b.getMeta('k')).toBeUndefined();
    b.putMeta('k', Buffer.from('v'));
    expect((await b.getMeta('k'))?.toString()).toBe('v');
    await b.close();
  });
});
