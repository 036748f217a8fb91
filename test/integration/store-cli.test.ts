/**
 * The store from the command line (issue 4): `holdfast store verify` on a good, a damaged,
 * a missing and an inconsistent store (exit 0 / 1, the file named, nothing changed), and
 * `holdfast start` on a damaged store: one line naming the file, exit 1, nothing wiped.
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runHoldfast, tempDir } from '../cli/helpers.js';
import { sqliteAt } from '../helpers/store-fixtures.js';
import { delivery, message, session } from '../unit/store/store-contract.js';

beforeAll(ensureBuilt, 180_000);

const made: string[] = [];
afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** runHoldfast in a cwd of ours (removed after the file), not a fresh temp dir per call. */
const run = (args: string[], opts: { env?: Record<string, string> } = {}) => runHoldfast(args, { cwd: storeDir(), ...opts });

function storeDir(): string {
  const d = tempDir('holdfast-verify-');
  made.push(d);
  return d;
}

const EPHEMERAL = ['--bind', '127.0.0.1', '--mqtt-port', '0', '--ws-port', '0', '--http-port', '0'];

async function goodStore(): Promise<string> {
  const dir = storeDir();
  const store = sqliteAt(dir);
  await store.open();
  store.putSession(session('dev-1'));
  store.putDelivery('dev-1', delivery(1, 1), message(1));
  store.putDelivery('dev-1', delivery(2, 2), message(2));
  store.putRetained(message(3, { topic: 'r', retain: true }));
  await store.close();
  return dir;
}

function garbageStore(): { dir: string; file: string; bytes: Buffer } {
  const dir = storeDir();
  const file = join(dir, 'holdfast.db');
  const bytes = randomBytes(32 * 1024);
  writeFileSync(file, bytes);
  return { dir, file, bytes };
}

const nonEmptyLines = (s: string): string[] => s.split('\n').filter((l) => l.trim().length > 0);

describe('holdfast store verify', () => {
  it('a good store: exit 0, names the file, "ok" with the row counts; --json gives the report; nothing changed', async () => {
    const dir = await goodStore();
    const file = join(dir, 'holdfast.db');
    const before = readFileSync(file);
    const r = await run(['store', 'verify', '--data-dir', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(file);
    expect(r.stdout).toMatch(/: ok \(schema 1;/);
    expect(r.stdout).toContain('sessions 1');
    expect(r.stdout).toContain('deliveries 2');
    expect(r.stdout).toContain('retained 1');
    const j = await run(['store', 'verify', '--data-dir', dir, '--json']);
    expect(j.code).toBe(0);
    const report = JSON.parse(j.stdout) as { ok: boolean; file: string; problems: string[]; counts: Record<string, number> };
    expect(report).toMatchObject({ ok: true, file, problems: [], counts: { sessions: 1, messages: 2, deliveries: 2, retained: 1 } });
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it('HOLDFAST_DATA_DIR is honoured when --data-dir is absent', async () => {
    const dir = await goodStore();
    const r = await run(['store', 'verify'], { env: { HOLDFAST_DATA_DIR: dir } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(join(dir, 'holdfast.db'));
  });

  it('a damaged store (garbage bytes): exit 1, the file and the problem on stderr, the file byte-identical', async () => {
    const { dir, file, bytes } = garbageStore();
    const r = await run(['store', 'verify', '--data-dir', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(/problem/);
    expect(readFileSync(file).equals(bytes)).toBe(true);
  });

  it('a missing store: exit 1, "does not exist", and no file is created', async () => {
    const dir = storeDir();
    const r = await run(['store', 'verify', '--data-dir', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(join(dir, 'holdfast.db'));
    expect(r.stderr).toMatch(/does not exist/);
    const j = await run(['store', 'verify', '--data-dir', dir, '--json']);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false });
    expect(existsSync(join(dir, 'holdfast.db'))).toBe(false);
  });

  it('deliveries that refer to missing messages are reported (exit 1)', async () => {
    const dir = await goodStore();
    const db = new Database(join(dir, 'holdfast.db'));
    db.prepare('DELETE FROM messages WHERE id = 1').run();
    db.close();
    const r = await run(['store', 'verify', '--data-dir', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/1 deliveries refer to missing messages/);
  });

  it('a newer schema version is reported (exit 1)', async () => {
    const dir = await goodStore();
    const db = new Database(join(dir, 'holdfast.db'));
    db.pragma('user_version = 7');
    db.close();
    const r = await run(['store', 'verify', '--data-dir', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/schema version 7/);
  });

  it('an unknown subcommand: exit 1 with a usage hint', async () => {
    const r = await run(['store', 'wipe']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown store command 'wipe'/);
  });
});

describe('holdfast start on a store it cannot use', () => {
  it('a damaged store: ONE line on stderr naming the file, exit 1, the file left byte-identical', async () => {
    const { dir, file, bytes } = garbageStore();
    const r = await run(['start', ...EPHEMERAL, '--data-dir', dir]);
    expect(r.code).toBe(1);
    const lines = nonEmptyLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(file);
    expect(lines[0]).toMatch(/^holdfast: /);
    expect(lines[0]).toMatch(/STORE_CORRUPT/);
    expect(r.stdout).not.toMatch(/"msg":"listening"/);
    expect(readFileSync(file).equals(bytes)).toBe(true);
  });

  it('a store from a newer holdfast: ONE line naming the file, exit 1', async () => {
    const dir = await goodStore();
    const file = join(dir, 'holdfast.db');
    const db = new Database(file);
    db.pragma('user_version = 42');
    db.close();
    const before = readFileSync(file);
    const r = await run(['start', ...EPHEMERAL, '--data-dir', dir]);
    expect(r.code).toBe(1);
    const lines = nonEmptyLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(file);
    expect(lines[0]).toMatch(/newer/);
    expect(readFileSync(file).equals(before)).toBe(true);
  });
});
