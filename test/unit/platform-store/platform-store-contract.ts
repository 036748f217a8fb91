/**
 * The PlatformStore contract (src/ports/platform-store.ts), run against every adapter
 * (memory, sqlite). It uses the port only. Each adapter passes a factory giving a fresh
 * opened store and a `reopen` ("close, then a store on the same data").
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type {
  CommandRecord,
  CredentialRecord,
  DeviceRecord,
  PlatformStore,
  PresenceRecord,
  ShadowChange,
  ShadowRecord,
} from '../../../src/ports/platform-store.js';

export interface PlatformStoreHarness {
  readonly store: PlatformStore;
  reopen(): Promise<PlatformStore>;
  dispose(): Promise<void>;
}

export type MakePlatformStore = () => Promise<PlatformStoreHarness>;

const T0 = 1_700_000_000_000;

export function device(id: string, over: Partial<DeviceRecord> = {}): DeviceRecord {
  return { id, type: 'meter', labels: {}, metadata: {}, enabled: true, createdAt: T0, updatedAt: T0, ...over };
}

export function presence(deviceId: string, over: Partial<PresenceRecord> = {}): PresenceRecord {
  return {
    deviceId,
    state: 'connected',
    since: T0,
    lastSeen: T0,
    remoteAddress: '10.0.0.1:1234',
    protocolVersion: 5,
    lastDisconnectCause: undefined,
    lastDisconnectReasonCode: undefined,
    connectsLastMinute: 1,
    ...over,
  };
}

function secret(id: string, deviceId: string, over: Partial<CredentialRecord> = {}): CredentialRecord {
  return { id, deviceId, kind: 'secret', secretHash: `scrypt$16384$8$1$c2FsdA==$${id}`, createdAt: T0, expiresAt: undefined, ...over };
}

function shadow(deviceId: string, version: number, reported: Record<string, unknown> = {}): ShadowRecord {
  return {
    deviceId,
    desired: { led: 'on' },
    reported,
    version,
    desiredTimestamps: { led: T0 },
    reportedTimestamps: Object.fromEntries(Object.keys(reported).map((k) => [k, T0 + version])),
    updatedAt: T0 + version,
  };
}

function change(deviceId: string, version: number): ShadowChange {
  return { deviceId, version, at: T0 + version, side: 'reported', patch: { n: version, gone: null }, by: 'device' };
}

function command(id: string, deviceId: string, seq: number, over: Partial<CommandRecord> = {}): CommandRecord {
  return {
    id,
    deviceId,
    seq,
    name: 'reboot',
    payload: { delayS: seq },
    state: 'queued',
    createdAt: T0,
    updatedAt: T0,
    deadlineAt: T0 + 60_000 + seq,
    attempts: 0,
    maxAttempts: 3,
    result: undefined,
    error: undefined,
    ...over,
  };
}

async function allPages(store: PlatformStore, q: Omit<Parameters<PlatformStore['listDevices']>[0], 'after'>): Promise<string[][]> {
  const pages: string[][] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.listDevices({ ...q, after });
    pages.push(page.items.map((d) => d.id));
    if (page.nextCursor === undefined) return pages;
    expect(page.nextCursor).toBe(page.items[page.items.length - 1].id);
    after = page.nextCursor;
  }
}

export function runPlatformStoreContract(name: string, make: MakePlatformStore): void {
  describe(`PlatformStore contract: ${name}`, () => {
    let h: PlatformStoreHarness;
    let store: PlatformStore;
    beforeEach(async () => {
      h = await make();
      store = h.store;
    });
    afterEach(async () => {
      await h.dispose();
    });

    describe('devices', () => {
      it('stores, returns a copy, upserts and counts', async () => {
        const d = device('m-1', { labels: { site: 'a' }, metadata: { nested: { x: [1, 2] } } });
        await store.putDevice(d);
        const got = await store.getDevice('m-1');
        expect(got).toEqual(d);
        (got!.labels as Record<string, string>).site = 'changed';
        expect((await store.getDevice('m-1'))!.labels.site).toBe('a');
        await store.putDevice({ ...d, type: 'valve', enabled: false, labels: { zone: 'z' }, updatedAt: T0 + 5 });
        expect(await store.getDevice('m-1')).toEqual({ ...d, type: 'valve', enabled: false, labels: { zone: 'z' }, updatedAt: T0 + 5 });
        expect(await store.getDevice('nope')).toBeUndefined();
        await store.putDevice(device('m-2'));
        expect(await store.countDevices()).toBe(2);
      });

      it('deleteDevice removes the device with its credentials, presence, shadow, history and commands', async () => {
        await store.putDevice(device('a'));
        await store.putDevice(device('b'));
        for (const id of ['a', 'b']) {
          await store.putCredential(secret(`c-${id}`, id));
          await store.putPresence(presence(id));
          expect(await store.putShadow(shadow(id, 1), 0, change(id, 1), 10)).toBe(true);
          await store.putCommand(command(`cmd-${id}`, id, 1));
        }
        expect(await store.deleteDevice('a')).toBe(true);
        expect(await store.deleteDevice('a')).toBe(false);
        expect(await store.getDevice('a')).toBeUndefined();
        expect(await store.credentialsOf('a')).toEqual([]);
        expect(await store.getPresence('a')).toBeUndefined();
        expect(await store.getShadow('a')).toBeUndefined();
        expect(await store.shadowHistory('a', 10)).toEqual([]);
        expect(await store.getCommand('cmd-a')).toBeUndefined();
        expect(await store.lastCommandSeq('a')).toBe(0);
        expect(await store.listDevices({ labels: {}, limit: 10 })).toEqual({ items: [device('b')], nextCursor: undefined });
        // b untouched
        expect(await store.credentialsOf('b')).toHaveLength(1);
        expect(await store.getPresence('b')).toBeDefined();
        expect(await store.getShadow('b')).toBeDefined();
        expect(await store.getCommand('cmd-b')).toBeDefined();
        expect(await store.countDevices()).toBe(1);
      });
    });

    describe('listDevices', () => {
      beforeEach(async () => {
        // 30 devices: d-00..d-29; type by parity; label site by i % 3; disabled every 5th;
        // presence: connected for i % 4 == 0, disconnected for i % 4 == 1, none otherwise.
        const writes: Promise<void>[] = [];
        for (let i = 0; i < 30; i++) {
          const id = `d-${String(i).padStart(2, '0')}`;
          writes.push(
            store.putDevice(
              device(id, {
                type: i % 2 === 0 ? 'meter' : 'valve',
                labels: { site: `s${i % 3}`, ...(i % 6 === 0 ? { tier: 'gold' } : {}) },
                enabled: i % 5 !== 0,
              }),
            ),
          );
          if (i % 4 === 0) writes.push(store.putPresence(presence(id, { state: 'connected' })));
          if (i % 4 === 1) writes.push(store.putPresence(presence(id, { state: 'disconnected' })));
        }
        await Promise.all(writes);
      });

      const ids = (pred: (i: number) => boolean) =>
        Array.from({ length: 30 }, (_, i) => i)
          .filter(pred)
          .map((i) => `d-${String(i).padStart(2, '0')}`);

      it('pages by id with a cursor; the last page has no cursor', async () => {
        const pages = await allPages(store, { limit: 7 });
        expect(pages.map((p) => p.length)).toEqual([7, 7, 7, 7, 2]);
        expect(pages.flat()).toEqual(ids(() => true));
      });

      it('a page that ends exactly at the last device has no cursor', async () => {
        const pages = await allPages(store, { limit: 10 });
        expect(pages.map((p) => p.length)).toEqual([10, 10, 10]);
        const page = await store.listDevices({ limit: 5, after: 'd-24' });
        expect(page.items.map((d) => d.id)).toEqual(ids((i) => i > 24));
        expect(page.nextCursor).toBeUndefined();
        expect(await store.listDevices({ limit: 5, after: 'zzz' })).toEqual({ items: [], nextCursor: undefined });
      });

      it('filters by type, enabled, labels (all must match) and presence, combined, across pages', async () => {
        expect((await allPages(store, { type: 'meter', limit: 4 })).flat()).toEqual(ids((i) => i % 2 === 0));
        expect((await allPages(store, { enabled: false, limit: 4 })).flat()).toEqual(ids((i) => i % 5 === 0));
        expect((await allPages(store, { enabled: true, limit: 4 })).flat()).toEqual(ids((i) => i % 5 !== 0));
        expect((await allPages(store, { labels: { site: 's1' }, limit: 3 })).flat()).toEqual(ids((i) => i % 3 === 1));
        expect((await allPages(store, { labels: { site: 's0', tier: 'gold' }, limit: 2 })).flat()).toEqual(ids((i) => i % 6 === 0));
        expect((await allPages(store, { labels: { tier: 'gold', site: 's1' }, limit: 2 })).flat()).toEqual([]);
        expect((await allPages(store, { presence: 'connected', limit: 3 })).flat()).toEqual(ids((i) => i % 4 === 0));
        expect((await allPages(store, { presence: 'disconnected', limit: 3 })).flat()).toEqual(ids((i) => i % 4 === 1));
        expect((await allPages(store, { presence: 'never', limit: 3 })).flat()).toEqual(ids((i) => i % 4 > 1));
        expect((await allPages(store, { presence: 'reconnecting', limit: 3 })).flat()).toEqual([]);
        expect(
          (await allPages(store, { type: 'meter', enabled: true, labels: { site: 's2' }, presence: 'connected', limit: 1 })).flat(),
        ).toEqual(ids((i) => i % 2 === 0 && i % 5 !== 0 && i % 3 === 2 && i % 4 === 0));
        expect((await allPages(store, { type: 'valve', presence: 'never', enabled: true, limit: 2 })).flat()).toEqual(
          ids((i) => i % 2 === 1 && i % 4 > 1 && i % 5 !== 0),
        );
        expect((await allPages(store, { labels: { site: 's0' }, presence: 'disconnected', limit: 2 })).flat()).toEqual(
          ids((i) => i % 3 === 0 && i % 4 === 1),
        );
      });

      it('label and presence filters follow updates (labels replaced, presence changed)', async () => {
        await store.putDevice(device('d-01', { type: 'valve', labels: { site: 'moved' } }));
        expect((await allPages(store, { labels: { site: 's1' }, limit: 100 })).flat()).not.toContain('d-01');
        expect((await allPages(store, { labels: { site: 'moved' }, limit: 100 })).flat()).toEqual(['d-01']);
        await store.putPresence(presence('d-02', { state: 'reconnecting' }));
        expect((await allPages(store, { presence: 'reconnecting', limit: 100 })).flat()).toEqual(['d-02']);
        expect((await allPages(store, { presence: 'never', limit: 100 })).flat()).not.toContain('d-02');
      });
    });

    describe('credentials', () => {
      it('stores and finds credentials by device, fingerprint and subject CN; deletes', async () => {
        const fp = 'AB:CD:' + '00:'.repeat(29) + 'EF';
        const s1 = secret('s1', 'dev', { expiresAt: T0 + 1000 });
        const x1: CredentialRecord = { id: 'x1', deviceId: 'dev', kind: 'x509', fingerprint256: fp, createdAt: T0 + 1, expiresAt: undefined };
        const x2: CredentialRecord = { id: 'x2', deviceId: 'other', kind: 'x509', subjectCN: 'cn-1', createdAt: T0 + 2, expiresAt: undefined };
        await Promise.all([store.putCredential(s1), store.putCredential(x1), store.putCredential(x2)]);
        const byCreated = (a: CredentialRecord, b: CredentialRecord) => a.createdAt - b.createdAt;
        expect((await store.credentialsOf('dev')).sort(byCreated)).toEqual([s1, x1]);
        expect(await store.credentialsByFingerprint(fp)).toEqual([x1]);
        expect(await store.credentialsByFingerprint(fp.toLowerCase())).toEqual([]);
        expect(await store.credentialsBySubjectCN('cn-1')).toEqual([x2]);
        expect(await store.credentialsBySubjectCN('cn-2')).toEqual([]);
        await store.putCredential({ ...s1, expiresAt: T0 + 5 });
        expect((await store.credentialsOf('dev')).find((c) => c.id === 's1')!.expiresAt).toBe(T0 + 5);
        expect(await store.deleteCredential('s1')).toBe(true);
        expect(await store.deleteCredential('s1')).toBe(false);
        expect(await store.credentialsOf('dev')).toEqual([x1]);
      });
    });

    describe('presence', () => {
      it('stores, overwrites and returns presence records', async () => {
        expect(await store.getPresence('p')).toBeUndefined();
        await store.putPresence(presence('p'));
        expect(await store.getPresence('p')).toEqual(presence('p'));
        const gone = presence('p', {
          state: 'disconnected',
          since: T0 + 9,
          lastSeen: T0 + 9,
          remoteAddress: undefined,
          protocolVersion: 4,
          lastDisconnectCause: 'keepalive-timeout',
          lastDisconnectReasonCode: 0x8d,
          connectsLastMinute: 7,
        });
        await store.putPresence(gone);
        expect(await store.getPresence('p')).toEqual(gone);
      });
    });

    describe('shadows', () => {
      it('putShadow checks the expected version (0 = none yet) and appends to the history', async () => {
        expect(await store.getShadow('s')).toBeUndefined();
        expect(await store.putShadow(shadow('s', 1), 1, change('s', 1), 10)).toBe(false);
        expect(await store.getShadow('s')).toBeUndefined();
        expect(await store.putShadow(shadow('s', 1, { t: 20 }), 0, change('s', 1), 10)).toBe(true);
        expect(await store.putShadow(shadow('s', 2), 0, change('s', 2), 10)).toBe(false);
        expect(await store.putShadow(shadow('s', 2, { t: 21 }), 1, change('s', 2), 10)).toBe(true);
        expect(await store.getShadow('s')).toEqual(shadow('s', 2, { t: 21 }));
        expect(await store.shadowHistory('s', 10)).toEqual([change('s', 2), change('s', 1)]);
        expect(await store.shadowHistory('s', 1)).toEqual([change('s', 2)]);
        expect(await store.shadowHistory('other', 10)).toEqual([]);
      });

      it('concurrent updates with the same expected version: exactly one wins', async () => {
        await store.putShadow(shadow('c', 1), 0, change('c', 1), 10);
        const results = await Promise.all([1, 2, 3, 4].map((n) => store.putShadow(shadow('c', 2, { n }), 1, change('c', 2), 10)));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect((await store.getShadow('c'))!.version).toBe(2);
        expect(await store.shadowHistory('c', 10)).toHaveLength(2);
      });

      it('keeps only the last historyLimit changes, per device', async () => {
        for (let v = 1; v <= 8; v++) {
          expect(await store.putShadow(shadow('h', v), v - 1, change('h', v), 3)).toBe(true);
          expect(await store.putShadow(shadow('k', v), v - 1, change('k', v), 5)).toBe(true);
        }
        expect((await store.shadowHistory('h', 100)).map((c) => c.version)).toEqual([8, 7, 6]);
        expect((await store.shadowHistory('k', 100)).map((c) => c.version)).toEqual([8, 7, 6, 5, 4]);
      });
    });

    describe('commands', () => {
      it('round-trips payload and result of any JSON shape, null and undefined', async () => {
        const cases: CommandRecord[] = [
          command('a', 'dev', 1, { payload: undefined }),
          command('b', 'dev', 2, { payload: null, result: null }),
          command('c', 'dev', 3, { payload: 'text', result: [1, { x: true }], state: 'acked', error: undefined }),
          command('d', 'dev', 4, { payload: 42, state: 'failed', error: 'device said no', attempts: 3 }),
        ];
        for (const c of cases) await store.putCommand(c);
        for (const c of cases) expect(await store.getCommand(c.id)).toEqual(c);
        const b = await store.getCommand('b');
        expect(b!.payload).toBeNull();
        expect(b!.result).toBeNull();
        expect((await store.getCommand('a'))!.payload).toBeUndefined();
        expect(await store.getCommand('zz')).toBeUndefined();
      });

      it('commandsOf: seq order, state filter, limit; updates replace', async () => {
        await Promise.all([
          store.putCommand(command('c3', 'dev', 3)),
          store.putCommand(command('c1', 'dev', 1, { state: 'acked' })),
          store.putCommand(command('c2', 'dev', 2, { state: 'sent' })),
          store.putCommand(command('c4', 'dev', 4)),
          store.putCommand(command('o1', 'other', 1)),
        ]);
        expect((await store.commandsOf('dev', undefined, 10)).map((c) => c.id)).toEqual(['c1', 'c2', 'c3', 'c4']);
        expect((await store.commandsOf('dev', undefined, 2)).map((c) => c.id)).toEqual(['c1', 'c2']);
        expect((await store.commandsOf('dev', ['queued', 'sent'], 10)).map((c) => c.id)).toEqual(['c2', 'c3', 'c4']);
        expect((await store.commandsOf('dev', ['expired'], 10)).map((c) => c.id)).toEqual([]);
        await store.putCommand(command('c3', 'dev', 3, { state: 'expired', updatedAt: T0 + 1 }));
        expect((await store.commandsOf('dev', ['expired'], 10)).map((c) => c.updatedAt)).toEqual([T0 + 1]);
        expect(await store.lastCommandSeq('dev')).toBe(4);
        expect(await store.lastCommandSeq('other')).toBe(1);
        expect(await store.lastCommandSeq('nobody')).toBe(0);
      });

      it('commandsDue: states and deadline, earliest first, limited', async () => {
        await Promise.all([
          store.putCommand(command('late', 'a', 1, { deadlineAt: T0 + 300 })),
          store.putCommand(command('early', 'b', 1, { deadlineAt: T0 + 100 })),
          store.putCommand(command('mid', 'a', 2, { deadlineAt: T0 + 200, state: 'sent' })),
          store.putCommand(command('done', 'a', 3, { deadlineAt: T0 + 50, state: 'acked' })),
          store.putCommand(command('future', 'c', 1, { deadlineAt: T0 + 10_000 })),
        ]);
        expect((await store.commandsDue(['queued', 'sent'], T0 + 300, 10)).map((c) => c.id)).toEqual(['early', 'mid', 'late']);
        expect((await store.commandsDue(['queued', 'sent'], T0 + 299, 10)).map((c) => c.id)).toEqual(['early', 'mid']);
        expect((await store.commandsDue(['queued'], T0 + 300, 1)).map((c) => c.id)).toEqual(['early']);
        expect((await store.commandsDue(['acked'], T0 + 300, 10)).map((c) => c.id)).toEqual(['done']);
      });

      it('devicesWithCommands: distinct devices with commands in the states, limited', async () => {
        await Promise.all([
          store.putCommand(command('a1', 'a', 1)),
          store.putCommand(command('a2', 'a', 2)),
          store.putCommand(command('b1', 'b', 1, { state: 'sent' })),
          store.putCommand(command('c1', 'c', 1, { state: 'acked' })),
        ]);
        expect((await store.devicesWithCommands(['queued', 'sent'], 10)).sort()).toEqual(['a', 'b']);
        expect(await store.devicesWithCommands(['queued', 'sent'], 1)).toHaveLength(1);
        expect(await store.devicesWithCommands(['expired'], 10)).toEqual([]);
      });
    });

    it('every resolved write survives a reopen', async () => {
      await store.putDevice(device('r', { labels: { a: 'b' } }));
      await store.putCredential(secret('rs', 'r'));
      await store.putPresence(presence('r'));
      await store.putShadow(shadow('r', 1), 0, change('r', 1), 5);
      await store.putCommand(command('rc', 'r', 1));
      store = await h.reopen();
      expect(await store.getDevice('r')).toEqual(device('r', { labels: { a: 'b' } }));
      expect((await store.listDevices({ labels: { a: 'b' }, limit: 5 })).items.map((d) => d.id)).toEqual(['r']);
      expect(await store.credentialsOf('r')).toEqual([secret('rs', 'r')]);
      expect(await store.getPresence('r')).toEqual(presence('r'));
      expect(await store.getShadow('r')).toEqual(shadow('r', 1));
      expect(await store.shadowHistory('r', 5)).toEqual([change('r', 1)]);
      expect(await store.getCommand('rc')).toEqual(command('rc', 'r', 1));
    });
  });
}
