/**
 * Issue 5, the device registry and the credential service on the SQLite platform store
 * (a real platform.db in a temp dir): create/get/update/delete, input validation with
 * INVALID_INPUT messages, DEVICE_EXISTS / DEVICE_NOT_FOUND / CREDENTIAL_NOT_FOUND, list with
 * filters and cursor pagination, secrets shown once and stored as scrypt hashes, data that
 * survives a reopen.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqlitePlatformStore } from '../../src/adapters/persistence/sqlite/index.js';
import { silentLogger } from '../../src/observability/logger.js';
import { verifyPassword } from '../../src/platform/auth/index.js';
import { CredentialServiceImpl, normalizeFingerprint256 } from '../../src/platform/credentials/index.js';
import { DeviceRegistryService, KeyedMutex } from '../../src/platform/devices/index.js';
import { ManualClock } from '../../src/ports/clock.js';
import type { ServerPublish } from '../../src/broker/broker.js';
import { TEST_SCRYPT } from './platform-devices-harness.js';

let dir: string;
let store: SqlitePlatformStore;
let clock: ManualClock;
let registry: DeviceRegistryService;
let credentials: CredentialServiceImpl;
const kicks: [string, number][] = [];
const published: ServerPublish[] = [];

function build(): void {
  const locks = new KeyedMutex();
  const broker = {
    disconnectClient: (id: string, rc = 0x98) => (kicks.push([id, rc]), true),
    publishFromServer: (p: ServerPublish) => (published.push(p), 0),
  };
  registry = new DeviceRegistryService({ store, broker, clock, logger: silentLogger(), locks });
  credentials = new CredentialServiceImpl({ store, clock, locks, scryptParams: TEST_SCRYPT });
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'holdfast-registry-'));
  store = new SqlitePlatformStore({ file: join(dir, 'platform.db') });
  await store.open();
  clock = new ManualClock(1_700_000_000_000);
  kicks.length = 0;
  published.length = 0;
  build();
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const invalid = (message: RegExp) => expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringMatching(message) });

describe('device registry', () => {
  it('issue 5: creates, reads, patches and deletes devices with created/updated times', async () => {
    const created = await registry.create({ id: 'meter-1', type: 'meter', labels: { site: 'north' }, metadata: { fw: '1.2' } });
    expect(created).toEqual({
      id: 'meter-1',
      type: 'meter',
      labels: { site: 'north' },
      metadata: { fw: '1.2' },
      enabled: true,
      createdAt: clock.now(),
      updatedAt: clock.now(),
    });
    expect(await registry.get('meter-1')).toEqual({ ...created, presence: undefined });
    clock.advance(5_000);
    const patched = await registry.update('meter-1', { labels: { site: 'south', rack: '3' } });
    expect(patched).toMatchObject({ type: 'meter', labels: { site: 'south', rack: '3' }, metadata: { fw: '1.2' }, updatedAt: clock.now() });
    expect(patched.createdAt).toBe(created.createdAt);
    await registry.delete('meter-1');
    await expect(registry.get('meter-1')).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND' });
    await expect(registry.delete('meter-1')).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND' });
    await expect(registry.update('meter-1', { type: 'x' })).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND' });
    // The retained presence of a deleted device is cleared (empty retained publish, MQTT-3.3.1-10).
    expect(published).toEqual([{ topic: '$holdfast/devices/meter-1/presence', payload: Buffer.alloc(0), qos: 0, retain: true }]);
  });

  it('issue 5: DEVICE_EXISTS, also for concurrent creates of one id', async () => {
    const results = await Promise.allSettled([1, 2, 3].map(() => registry.create({ id: 'twin', type: 'meter' })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(['DEVICE_EXISTS', 'DEVICE_EXISTS']);
  });

  it('issue 5: refuses bad input with INVALID_INPUT and a message saying what is allowed', async () => {
    await expect(registry.create({ id: 'has/slash', type: 'meter' })).rejects.toEqual(invalid(/device id must be 1-128 characters/));
    await expect(registry.create({ id: 'x'.repeat(129), type: 'meter' })).rejects.toEqual(invalid(/device id/));
    await expect(registry.create({ id: 'ok', type: '' })).rejects.toEqual(invalid(/device type must be a non-empty string/));
    await expect(registry.create({ id: 'ok', type: 'a+b' })).rejects.toEqual(invalid(/device type/));
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']));
    await expect(registry.create({ id: 'ok', type: 't', labels: many })).rejects.toEqual(invalid(/at most 32 labels, got 33/));
    await expect(registry.create({ id: 'ok', type: 't', labels: { k: 'v'.repeat(257) } })).rejects.toEqual(invalid(/257 characters long; at most 256/));
    await expect(registry.create({ id: 'ok', type: 't', labels: { 'bad key': 'v' } })).rejects.toEqual(invalid(/label key "bad key"/));
    await expect(registry.create({ id: 'ok', type: 't', labels: { k: 1 as unknown as string } })).rejects.toEqual(invalid(/label "k" must be a string/));
    await expect(registry.create({ id: 'ok', type: 't', metadata: { blob: 'x'.repeat(17_000) } })).rejects.toEqual(invalid(/bytes as JSON; at most 16384/));
    await expect(registry.create({ id: 'ok', type: 't', metadata: [] as unknown as Record<string, unknown> })).rejects.toEqual(invalid(/metadata must be a JSON object/));
    await expect(registry.create({ id: 'ok', type: 't', enabled: 'yes' as unknown as boolean })).rejects.toEqual(invalid(/enabled must be true or false/));
    await expect(registry.list({ limit: 0 })).rejects.toEqual(invalid(/limit must be an integer from 1 to 1000/));
    await expect(registry.list({ limit: 10, presence: 'asleep' as never })).rejects.toEqual(invalid(/presence must be one of/));
    expect(await store.countDevices()).toBe(0);
  });

  it('issue 5: disabling a device kicks it (0x98); enabling does not', async () => {
    await registry.create({ id: 'd1', type: 'meter' });
    await registry.setEnabled('d1', true);
    expect(kicks).toEqual([]);
    expect((await registry.setEnabled('d1', false)).enabled).toBe(false);
    expect(kicks).toEqual([['d1', 0x98]]);
    await registry.update('d1', { enabled: false, labels: { a: 'b' } });
    expect(kicks).toHaveLength(2);
  });

  it('issue 5: lists with filters and cursor pagination by id', async () => {
    for (let i = 0; i < 25; i++) {
      await registry.create({
        id: `dev-${String(i).padStart(2, '0')}`,
        type: i % 2 === 0 ? 'meter' : 'valve',
        labels: { site: i < 10 ? 'north' : 'south' },
        enabled: i % 4 !== 0,
      });
    }
    const ids: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await registry.list({ type: 'meter', labels: { site: 'south' }, enabled: true, limit: 3, after });
      ids.push(...page.items.map((d) => d.id));
      after = page.nextCursor;
      pages++;
    } while (after !== undefined);
    const expected = Array.from({ length: 25 }, (_, i) => i)
      .filter((i) => i % 2 === 0 && i >= 10 && i % 4 !== 0)
      .map((i) => `dev-${String(i).padStart(2, '0')}`);
    expect(ids).toEqual(expected);
    expect(pages).toBe(Math.ceil(expected.length / 3));
    expect((await registry.list({ presence: 'never', limit: 1000 })).items).toHaveLength(25);
  });
});

describe('credentials', () => {
  it('issue 5: a secret is random base64url (32 bytes), shown once, stored as an scrypt hash only', async () => {
    await registry.create({ id: 'c1', type: 'meter' });
    const a = await credentials.issueSecret('c1', { overlapS: 10 });
    const b = await credentials.issueSecret('c1', { overlapS: 10 });
    expect(a.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a.secret, 'base64url')).toHaveLength(32);
    expect(a.secret).not.toBe(b.secret);
    expect(a.credential.secretHash).toBeUndefined();
    const listed = await credentials.list('c1');
    expect(listed.every((c) => c.secretHash === undefined)).toBe(true);
    const stored = await store.credentialsOf('c1');
    for (const c of stored) expect(c.secretHash).toMatch(/^scrypt\$/);
    expect(stored.some((c) => c.secretHash!.includes(a.secret))).toBe(false);
    const hashOfA = stored.find((c) => c.id === a.credential.id)!.secretHash!;
    expect(await verifyPassword(a.secret, hashOfA)).toBe(true);
    expect(await verifyPassword(b.secret, hashOfA)).toBe(false);
  });

  it('issue 5: rotation: overlap sets expiresAt = now + overlap on the other secrets (an earlier expiry is kept); expired ones are removed', async () => {
    await registry.create({ id: 'c2', type: 'meter' });
    const first = await credentials.issueSecret('c2');
    const second = await credentials.issueSecret('c2', { overlapS: 100 });
    let list = await credentials.list('c2');
    expect(Object.fromEntries(list.map((c) => [c.id, c.expiresAt]))).toEqual({
      [first.credential.id]: clock.now() + 100_000,
      [second.credential.id]: undefined,
    });
    clock.advance(10_000);
    const third = await credentials.issueSecret('c2', { overlapS: 3600 });
    list = await credentials.list('c2');
    expect(list.find((c) => c.id === first.credential.id)!.expiresAt).toBe(clock.now() + 90_000); // kept, not extended
    expect(list.find((c) => c.id === second.credential.id)!.expiresAt).toBe(clock.now() + 3_600_000);
    clock.advance(100_000);
    await credentials.issueSecret('c2', { overlapS: 60 });
    list = await credentials.list('c2');
    expect(list.map((c) => c.id)).not.toContain(first.credential.id);
    expect(list.map((c) => c.id)).toContain(third.credential.id);
    await expect(credentials.issueSecret('c2', { overlapS: -1 })).rejects.toEqual(invalid(/overlapS must be an integer/));
  });

  it('issue 5: certificates by fingerprint (normalized) or CN; revoke; errors', async () => {
    await registry.create({ id: 'x1', type: 'meter' });
    const hex = 'ab'.repeat(32);
    expect(normalizeFingerprint256(hex)).toBe(Array(32).fill('AB').join(':'));
    expect(normalizeFingerprint256(`SHA256 Fingerprint=${Array(32).fill('ab').join(':')}`)).toBe(Array(32).fill('AB').join(':'));
    expect(normalizeFingerprint256('abc')).toBeUndefined();
    const byFp = await credentials.addCertificate('x1', { fingerprint256: hex });
    const byCn = await credentials.addCertificate('x1', { subjectCN: 'x1.fleet.example' });
    expect(byFp).toMatchObject({ kind: 'x509', fingerprint256: Array(32).fill('AB').join(':') });
    expect(await store.credentialsBySubjectCN('x1.fleet.example')).toEqual([byCn]);
    await credentials.revoke('x1', byFp.id);
    await expect(credentials.revoke('x1', byFp.id)).rejects.toMatchObject({ code: 'CREDENTIAL_NOT_FOUND' });
    await registry.create({ id: 'x2', type: 'meter' });
    await expect(credentials.revoke('x2', byCn.id)).rejects.toMatchObject({ code: 'CREDENTIAL_NOT_FOUND' }); // not x2's
    await expect(credentials.issueSecret('nobody')).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND' });
    await expect(credentials.addCertificate('nobody', { subjectCN: 'n' })).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND' });
    await expect(credentials.list('nobody')).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND' });
  });

  it('issue 5: devices and credentials survive a reopen of platform.db; deleting a device deletes its credentials', async () => {
    await registry.create({ id: 'keep', type: 'meter', labels: { a: '1' } });
    const { credential } = await credentials.issueSecret('keep');
    await store.close();
    store = new SqlitePlatformStore({ file: join(dir, 'platform.db') });
    await store.open();
    build();
    expect(await registry.get('keep')).toMatchObject({ id: 'keep', labels: { a: '1' } });
    expect((await credentials.list('keep')).map((c) => c.id)).toEqual([credential.id]);
    await registry.delete('keep');
    expect(await store.credentialsOf('keep')).toEqual([]);
  });
});
