/**
 * What only the SQLite adapter promises (issue 4): one transaction per event-loop turn,
 * coalescing of a delivery queued and removed in the same turn, the synchronous pragma of
 * each durability mode, flush() as the commit barrier, and a damaged or newer file refused
 * at open() without a byte changed.
 *
 * Committed state is read through a second, read-only better-sqlite3 connection (what
 * another process, or this one after kill -9, would see).
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../src/adapters/persistence/sqlite/index.js';
import type { Durability } from '../../../src/ports/store.js';
import { removeDir, sqliteAt, storeTempDir } from '../../helpers/store-fixtures.js';
import { delivery, message, retainedOf, session, sessionsOf, settle } from './store-contract.js';

const dirs: string[] = [];
const open: SqliteStore[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  for (const d of dirs.splice(0)) removeDir(d);
});

function tempDir(): string {
  const d = storeTempDir('holdfast-sqlite-');
  dirs.push(d);
  return d;
}

async function openStore(dir: string, durability?: Durability): Promise<SqliteStore> {
  const s = sqliteAt(dir, { durability });
  await s.open();
  open.push(s);
  return s;
}

/** Counts rows as another connection sees them: only what is committed. */
function committed(file: string, table: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('SqliteStore: group commit', () => {
  it('one transaction per event-loop turn: 1,000 writes in one turn are 1 commit; the next turn is another', async () => {
    const store = await openStore(tempDir());
    const c0 = store.counters.commits;
    const rows0 = store.counters.rowsWritten;
    store.putSession(session('s'));
    for (let i = 1; i <= 500; i++) store.putDelivery('s', delivery(i, i), message(i));
    store.putRetained(message(501, { topic: 'r', retain: true }));
    const p = store.flush();
    expect(p).toBeInstanceOf(Promise);
    await p;
    expect(store.counters.commits - c0).toBe(1);
    expect(store.counters.rowsWritten - rows0).toBeGreaterThanOrEqual(1 + 500 * 2 + 1); // session, message + delivery each, retained

    for (let i = 1; i <= 100; i++) store.deleteDelivery('s', i);
    await store.flush();
    store.putSession(session('s', { username: 'other' }));
    await store.flush();
    expect(store.counters.commits - c0).toBe(3);
    expect(committed(store.file, 'deliveries')).toBe(400);
  });

  it('flush() resolves only after the commit: before it, another connection sees nothing; when it resolves, everything', async () => {
    const store = await openStore(tempDir());
    store.putSession(session('s'));
    for (let i = 1; i <= 50; i++) store.putDelivery('s', delivery(i, i), message(i));
    const p = store.flush()!;
    expect(committed(store.file, 'deliveries')).toBe(0); // not yet: the batch commits at the end of this turn
    let resolvedWith = -1;
    await p.then(() => {
      resolvedWith = committed(store.file, 'deliveries');
    });
    expect(resolvedWith).toBe(50);
  });

  it('two flush() calls in the same turn share the batch; writes after a resolved flush need a new barrier', async () => {
    const store = await openStore(tempDir());
    store.putSession(session('a'));
    const p1 = store.flush();
    const p2 = store.flush();
    expect(p1).toBe(p2);
    await p1;
    expect(store.flush()).toBeUndefined();
    store.putSession(session('b'));
    const p3 = store.flush();
    expect(p3).toBeInstanceOf(Promise);
    expect(p3).not.toBe(p1);
    await p3;
    expect(committed(store.file, 'sessions')).toBe(2);
  });

  it('coalescing: a delivery queued, sent and acknowledged in the same turn writes no row at all', async () => {
    const store = await openStore(tempDir());
    store.putSession(session('s'));
    await store.flush();
    const rows0 = store.counters.rowsWritten;
    const coalesced0 = store.counters.coalesced;
    for (let seq = 1; seq <= 100; seq++) {
      store.putDelivery('s', delivery(seq, seq), message(seq));
      store.updateDelivery('s', seq, seq, false); // sent
      store.deleteDelivery('s', seq); // PUBACK
    }
    await store.flush();
    // At most one row: the message-id high-water mark (meta); no message or delivery row.
    expect(store.counters.rowsWritten - rows0).toBeLessThanOrEqual(1);
    expect(committed(store.file, 'messages')).toBe(0);
    expect(store.counters.coalesced - coalesced0).toBe(300);
    expect(committed(store.file, 'deliveries')).toBe(0);
    expect(committed(store.file, 'messages')).toBe(0);
  });

  it('no coalescing across turns: a delivery committed in one turn and deleted in the next is deleted on disk', async () => {
    const store = await openStore(tempDir());
    store.putSession(session('s'));
    store.putDelivery('s', delivery(1, 1), message(1));
    store.putDelivery('s', delivery(2, 2), message(2));
    await store.flush();
    expect(committed(store.file, 'deliveries')).toBe(2);
    const coalesced0 = store.counters.coalesced;
    store.updateDelivery('s', 1, 5, true);
    store.deleteDelivery('s', 2);
    await store.flush();
    expect(store.counters.coalesced).toBe(coalesced0);
    expect(committed(store.file, 'deliveries')).toBe(1);
    const rows = (await sessionsOf(store)).get('s')!.deliveries;
    expect(rows.map((r) => [r.delivery.seq, r.delivery.packetId, r.delivery.pubrel])).toEqual([[1, 5, true]]);
  });

  it('close() commits the writes of the current turn (a graceful stop loses nothing)', async () => {
    const dir = tempDir();
    const store = sqliteAt(dir);
    await store.open();
    store.putSession(session('s'));
    store.putDelivery('s', delivery(1, 1), message(1));
    await store.close(); // no flush before
    const again = await openStore(dir);
    expect((await again.loadDeliveries('s', 0, 10)).map((r) => r.delivery.seq)).toEqual([1]);
  });
});

describe('SqliteStore: durability modes', () => {
  // PRAGMA synchronous is per connection: a second connection cannot see the store's own
  // setting, and src exposes no accessor. The test reads it on the store's connection
  // through the private `db` field (read only, nothing in src changed for it).
  const syncOf = (s: SqliteStore): number => (s as unknown as { db: Database.Database }).db.pragma('synchronous', { simple: true }) as number;

  it.each([
    ['fsync', 2, 'FULL'],
    ['commit', 1, 'NORMAL'],
    ['none', 0, 'OFF'],
  ] as const)('durability %s -> synchronous=%s (%s), journal_mode=wal', async (mode, level, _name) => {
    const dir = tempDir();
    const store = await openStore(dir, mode);
    expect(store.durability).toBe(mode);
    expect(syncOf(store)).toBe(level);
    const other = new Database(store.file, { readonly: true });
    try {
      expect(other.pragma('journal_mode', { simple: true })).toBe('wal'); // persistent in the file
    } finally {
      other.close();
    }
  });

  it('the default durability is commit', async () => {
    const store = await openStore(tempDir());
    expect(store.durability).toBe('commit');
    expect(syncOf(store)).toBe(1);
  });

  it.each(['fsync', 'commit'] as const)('durability %s: flush() with pending writes returns a promise (acks wait for the commit)', async (mode) => {
    const store = await openStore(tempDir(), mode);
    store.putSession(session('s'));
    const p = store.flush();
    expect(p).toBeInstanceOf(Promise);
    await p;
    expect(committed(store.file, 'sessions')).toBe(1);
  });

  it('durability none: flush() returns undefined even with pending writes, and the writes are still committed at the end of the turn', async () => {
    const store = await openStore(tempDir(), 'none');
    store.putSession(session('s'));
    store.putDelivery('s', delivery(1, 1), message(1));
    expect(store.flush()).toBeUndefined();
    await nextTurn();
    expect(committed(store.file, 'deliveries')).toBe(1);
  });
});

describe('SqliteStore: refusing to open', () => {
  it('a file of garbage bytes: open() rejects with STORE_CORRUPT naming the file, and the file is left byte-identical', async () => {
    const dir = tempDir();
    const file = join(dir, 'holdfast.db');
    const garbage = randomBytes(64 * 1024);
    writeFileSync(file, garbage);
    const store = new SqliteStore({ file });
    const err = (await store.open().then(
      () => undefined,
      (e: unknown) => e,
    )) as { code?: string; message?: string } | undefined;
    expect(err).toBeDefined();
    expect(err!.code).toBe('STORE_CORRUPT');
    expect(err!.message).toContain(file);
    expect(readFileSync(file).equals(garbage)).toBe(true);
    expect(existsSync(`${file}-wal`)).toBe(false);
  });

  it('a holdfast store with damaged pages: STORE_CORRUPT, file untouched', async () => {
    const dir = tempDir();
    const file = join(dir, 'holdfast.db');
    const store = sqliteAt(dir);
    await store.open();
    store.putSession(session('s'));
    for (let i = 1; i <= 300; i++) store.putDelivery('s', delivery(i, i), message(i, { payload: randomBytes(700) }));
    await store.close(); // checkpoints the WAL into the file
    const bytes = readFileSync(file);
    expect(bytes.length).toBeGreaterThan(8 * 4096);
    bytes.fill(0xa5, 4096, 5 * 4096); // pages 2..5: table roots and data
    writeFileSync(file, bytes);
    const err = (await new SqliteStore({ file }).open().then(
      () => undefined,
      (e: unknown) => e,
    )) as { code?: string; message?: string } | undefined;
    expect(err?.code).toBe('STORE_CORRUPT');
    expect(err?.message).toContain(file);
    expect(readFileSync(file).equals(bytes)).toBe(true);
  });

  it('a store written by a newer holdfast (user_version above ours) is refused and not rewritten', async () => {
    const dir = tempDir();
    const file = join(dir, 'holdfast.db');
    const db = new Database(file);
    db.pragma('user_version = 99');
    db.exec('CREATE TABLE future (x INTEGER)');
    db.close();
    const before = readFileSync(file);
    const err = (await new SqliteStore({ file }).open().then(
      () => undefined,
      (e: unknown) => e,
    )) as { code?: string; message?: string } | undefined;
    expect(err?.code).toBe('STORE_CORRUPT');
    expect(err?.message).toContain(file);
    expect(err?.message).toMatch(/newer/);
    expect(readFileSync(file).equals(before)).toBe(true);
    const check = new Database(file, { readonly: true });
    try {
      expect(check.pragma('user_version', { simple: true })).toBe(99);
      expect(check.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all()).toEqual([{ name: 'future' }]);
    } finally {
      check.close();
    }
  });

  it('a file that cannot be opened (its directory does not exist): STORE_OPEN_FAILED naming the file', async () => {
    const file = join(tempDir(), 'missing-subdir', 'holdfast.db');
    const err = (await new SqliteStore({ file }).open().then(
      () => undefined,
      (e: unknown) => e,
    )) as { code?: string; message?: string } | undefined;
    expect(err?.code).toBe('STORE_OPEN_FAILED');
    expect(err?.message).toContain(file);
  });
});

/** Resolves with 'pending' if `p` has not settled within `ms`. */
function settledWithin(p: Promise<void>, ms: number): Promise<'resolved' | 'rejected' | 'pending'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('pending'), ms);
    p.then(
      () => {
        clearTimeout(timer);
        resolve('resolved');
      },
      () => {
        clearTimeout(timer);
        resolve('rejected');
      },
    );
  });
}

describe('SqliteStore: a store that is not open', () => {
  // The app's stop path after a failed open writes (SLO windows) and then awaits broker.close() -> flush():
  // a barrier that never settles leaves `holdfast start` to exit 0 silently with an empty event loop.
  it('writes after a failed open(): flush() settles (rejects) instead of hanging', async () => {
    const dir = tempDir();
    const file = join(dir, 'holdfast.db');
    writeFileSync(file, randomBytes(4096));
    const store = new SqliteStore({ file });
    await expect(store.open()).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
    store.putSession(session('s'));
    const p = store.flush();
    if (p !== undefined) expect(await settledWithin(p, 1000)).toBe('rejected');
    await store.close();
  });

  it('writes after close(): flush() settles (rejects) instead of hanging', async () => {
    const store = sqliteAt(tempDir());
    await store.open();
    await store.close();
    store.putSession(session('late'));
    const p = store.flush();
    if (p !== undefined) expect(await settledWithin(p, 1000)).toBe('rejected');
  });
});

describe('SqliteStore: purge', () => {
  it('expired retained messages are removed in batches of at most `limit`; others stay', async () => {
    const store = await openStore(tempDir());
    const now = 1_800_000_000_000;
    for (let i = 1; i <= 12; i++) store.putRetained(message(i, { topic: `r/exp/${i}`, retain: true, expiresAt: now - i }));
    store.putRetained(message(13, { topic: 'r/keep', retain: true, expiresAt: now + 1 }));
    store.putRetained(message(14, { topic: 'r/forever', retain: true, expiresAt: 0 }));
    await settle(store);
    const sizes: number[] = [];
    for (let round = 0; round < 10; round++) {
      const before = committed(store.file, 'retained');
      await store.purge(now, 5);
      sizes.push(before - committed(store.file, 'retained'));
      if (sizes[sizes.length - 1] === 0) break;
    }
    expect(sizes).toEqual([5, 5, 2, 0]);
    expect([...(await retainedOf(store)).keys()].sort()).toEqual(['r/forever', 'r/keep']);
  });

  it('messages no delivery refers to any more are removed by the purge', async () => {
    const store = await openStore(tempDir());
    store.putSession(session('s'));
    for (let i = 1; i <= 10; i++) store.putDelivery('s', delivery(i, i), message(i));
    await settle(store);
    for (let i = 1; i <= 7; i++) store.deleteDelivery('s', i);
    await settle(store);
    expect(committed(store.file, 'messages')).toBe(10);
    const n = await store.purge(0, 100);
    expect(n).toBe(7);
    expect(committed(store.file, 'messages')).toBe(3);
    expect((await store.loadDeliveries('s', 0, 100)).map((r) => r.message.id)).toEqual([8, 9, 10]);
  });
});
