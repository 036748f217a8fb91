/**
 * Storage faults for real (issue 4): the data dir lives on a 512 KiB tmpfs; publishing fills
 * it. While the store cannot commit the broker stays up, refuses QoS 1/2 (v5: PUBACK /
 * PUBREC 0x97 with a Reason String; 3.1.1: the connection is closed, it cannot be told),
 * keeps serving QoS 0, reports not ready (Broker.isReady(), /readyz 503), logs one line per
 * change of state, and, once the tmpfs is remounted bigger, recovers by itself. Nothing that
 * was acknowledged before the fault is lost across a restart.
 *
 * The whole app runs in process (startHoldfast) with a pino logger that writes into an array.
 * If mounting is not permitted, the same scenario runs against a SQLite-level fault instead
 * (PRAGMA max_page_count on the store's own connection) and the test names say so.
 */
import type Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqliteStore } from '../../src/adapters/persistence/sqlite/index.js';
import { startHoldfast, type RunningHoldfast } from '../../src/app/main.js';
import { RC } from '../../src/codec/mqtt/index.js';
import type { StoreHealth } from '../../src/ports/store.js';
import { seqOf, seqPayload, StoreClient } from '../helpers/store-clients.js';
import { captureLogger, until, type LogCapture } from '../helpers/store-fixtures.js';

const MNT = join(tmpdir(), `holdfast-tmpfs-${process.pid}`);
const DATA = join(MNT, 'data');

function tryMount(): boolean {
  if (process.env.HOLDFAST_TEST_NO_MOUNT === '1') return false;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', MNT], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

mkdirSync(MNT, { recursive: true });
const MOUNTED = tryMount();
const FAULT = MOUNTED ? 'disk full (512 KiB tmpfs)' : 'SQLITE_FULL via PRAGMA max_page_count (mount not permitted)';

/** The store's own connection (private): only for the fallback fault when mount is not permitted. */
const dbOf = (s: SqliteStore): Database.Database => (s as unknown as { db: Database.Database }).db;

let app: RunningHoldfast | undefined;
let log: LogCapture;
let store: SqliteStore;
const acked: number[] = [];
const refused: number[] = [];
/** The publish whose commit failed: acknowledged only once the retried commit succeeds. */
let pending: { n: number; packetId: number } | undefined;
let pubId = 1;

async function startApp(): Promise<RunningHoldfast> {
  log = captureLogger('info');
  app = await startHoldfast(
    {
      listeners: { bind: '127.0.0.1', mqtt: { port: 0 }, ws: { port: null }, warmupConnections: 0 },
      http: { port: 0 },
      dataDir: DATA,
      store: { kind: 'sqlite', durability: 'commit', retryMs: 100 },
    },
    { logger: log.logger },
  );
  store = app.broker.store as SqliteStore;
  return app;
}

const mqttPort = (): number => app!.addresses.mqtt!;
const readyz = async (): Promise<number> => (await fetch(`http://127.0.0.1:${app!.addresses.http}/readyz`)).status;

function nextHealth(want: boolean, timeoutMs: number): Promise<StoreHealth> {
  return new Promise((resolve, reject) => {
    if (store.health().ok === want) return resolve(store.health());
    const timer = setTimeout(() => reject(new Error(`store health did not become ok=${want} within ${timeoutMs} ms`)), timeoutMs);
    store.onHealthChange((h) => {
      if (h.ok === want) {
        clearTimeout(timer);
        resolve(h);
      }
    });
  });
}

beforeAll(async () => {
  await startApp();
});

afterAll(async () => {
  await app?.stop().catch(() => undefined);
  if (MOUNTED) {
    try {
      execFileSync('umount', [MNT], { stdio: 'pipe' });
    } catch {
      execFileSync('umount', ['-l', MNT], { stdio: 'pipe' });
    }
  }
  try {
    rmSync(MNT, { recursive: true, force: true });
  } catch {
    // left for the OS to clean if something still holds it
  }
});

describe(`store faults: ${FAULT}`, () => {
  let filler: StoreClient;
  let live: StoreClient;

  it('before the fault: QoS 1 publishes for an offline persistent session are acknowledged', async () => {
    const { client: keeper } = await StoreClient.connect(mqttPort(), 5, { clientId: 'keeper', clean: false, properties: { sessionExpiryInterval: 3600 } });
    expect(await keeper.subscribe('fill/#', 1)).toEqual([1]);
    keeper.disconnect();
    await keeper.waitClosed();
    ({ client: live } = await StoreClient.connect(mqttPort(), 5, { clientId: 'live' }));
    expect(await live.subscribe('live/#', 0)).toEqual([0]);
    ({ client: filler } = await StoreClient.connect(mqttPort(), 5, { clientId: 'filler' }));
    for (let i = 1; i <= 3; i++) {
      const ack = await filler.publishAcked({ topic: `fill/${i}`, payload: seqPayload(i, 100), qos: 1, retain: false, packetId: pubId++ });
      expect(ack.reasonCode ?? 0).toBe(0);
      acked.push(i);
    }
    expect(app!.broker.isReady()).toBe(true);
    expect(await readyz()).toBe(200);
  });

  it('filling the storage: the commit fails, the store turns unhealthy with SQLITE_FULL, and the publish whose commit failed is NOT acknowledged (its ack waits for the retried commit)', async () => {
    const failing = nextHealth(false, 20_000);
    let failed = false;
    void failing.then(() => (failed = true));
    if (!MOUNTED) dbOf(store).pragma(`max_page_count = ${(dbOf(store).pragma('page_count', { simple: true }) as number) + 40}`);
    let n = acked.length;
    while (!failed && n < 400) {
      n++;
      const packetId = pubId++;
      filler.acks.delete(packetId);
      filler.send({ type: 3, dup: false, topic: `fill/${n}`, payload: seqPayload(n, 24 * 1024), qos: 1, retain: false, packetId });
      // Whichever comes first: this publish's ack, or the store reporting the failed commit.
      const ackSeen = filler.waitUntil(() => filler.acks.has(packetId), 10_000, `ack of ${packetId}`).then(() => true, () => false);
      await Promise.race([ackSeen, failing]);
      const ack = filler.acks.get(packetId);
      if (ack !== undefined) {
        expect(ack.reasonCode ?? 0, 'an error ack before the store reported its failure').toBeLessThan(0x80);
        acked.push(n);
      } else {
        pending = { n, packetId };
      }
    }
    expect(failed, 'the storage never filled up').toBe(true);
    const h = await failing;
    expect(h).toMatchObject({ ok: false, code: 'SQLITE_FULL' });
    expect(store.health().ok).toBe(false);
    expect(acked.length).toBeGreaterThan(3);
    expect(pending, 'the publish in flight when the commit failed').toBeDefined();
    // Its writes are kept and retried: no refusal was sent for it (a refusal it would then deliver anyway).
    await filler.ping();
    expect(filler.acks.has(pending!.packetId)).toBe(false);
    console.log(`[store-faults] ${FAULT}: ${acked.length} QoS 1 publishes acknowledged before the fault; #${pending!.n} waits for the retry`);
  });

  it('while failing: Broker.isReady() is false, /readyz answers 503, the broker keeps running', async () => {
    expect(app!.broker.isReady()).toBe(false);
    expect(app!.isReady()).toBe(false);
    expect(await readyz()).toBe(503);
    expect((await fetch(`http://127.0.0.1:${app!.addresses.http}/livez`)).status).toBe(200);
  });

  it('MQTT5 3.4.2.1 v5 QoS 1 publishes are refused with PUBACK 0x97 and a Reason String; QoS 2 with PUBREC 0x97', async () => {
    // A fresh connection: the filler's acknowledgements wait in order behind its pending one (MQTT-4.6.0-2).
    const { client: other } = await StoreClient.connect(mqttPort(), 5, { clientId: 'refused-v5' });
    const n = acked.length + 1000;
    const ack = await other.publishAcked({ topic: `fill/${n}`, payload: seqPayload(n, 100), qos: 1, retain: false, packetId: 1 });
    expect(ack.reasonCode).toBe(RC.QUOTA_EXCEEDED);
    expect(ack.properties?.reasonString).toMatch(/storage/i);
    refused.push(n);
    const rec = await other.publishAcked({ topic: `fill/${n + 1}`, payload: seqPayload(n + 1, 100), qos: 2, retain: false, packetId: 2 });
    expect(rec.type).toBe(5);
    expect(rec.reasonCode).toBe(RC.QUOTA_EXCEEDED);
    expect(rec.properties?.reasonString).toMatch(/storage/i);
    refused.push(n + 1);
    // The connection stays usable.
    await other.ping();
    other.disconnect();
  });

  it('MQTT-4.8.0-1 a 3.1.1 client cannot be told: its QoS 1 publish gets no PUBACK and the connection is closed', async () => {
    const { client: old } = await StoreClient.connect(mqttPort(), 4, { clientId: 'old311' });
    old.send({ type: 3, topic: 'fill/311', payload: seqPayload(99_999, 50), qos: 1, retain: false, dup: false, packetId: 1 });
    await old.waitClosed(5000);
    expect(old.acks.size).toBe(0);
  });

  it('QoS 0 still flows while the store fails', async () => {
    const { client: p0 } = await StoreClient.connect(mqttPort(), 5, { clientId: 'qos0' });
    p0.send({ type: 3, topic: 'live/x', payload: Buffer.from('still here'), qos: 0, retain: false, dup: false });
    await live.waitUntil(() => live.publishes.some((p) => p.topic === 'live/x'), 5000, 'QoS 0 delivery');
    p0.disconnect();
  });

  it('retries keep failing without more log lines: exactly one "store failing" line', async () => {
    const failures = store.counters.commitFailures;
    await until(() => store.counters.commitFailures >= failures + 3, 5000, 'three more failed retries');
    expect(log.matching('store failing')).toHaveLength(1);
    expect(log.matching('store failing')[0]).toMatchObject({ level: 50, code: 'SQLITE_FULL' });
    expect(log.matching('store recovered')).toHaveLength(0);
  });

  it('after more space appears the store recovers BY ITSELF: one "store recovered" line, ready again, QoS 1 accepted', async () => {
    const recovered = nextHealth(true, 10_000);
    if (MOUNTED) execFileSync('mount', ['-o', 'remount,size=64m', MNT], { stdio: 'pipe' });
    else dbOf(store).pragma('max_page_count = 1073741823');
    await recovered; // no call from the test: the store's own retry commits
    expect(store.health()).toEqual({ ok: true });
    expect(log.matching('store recovered')).toHaveLength(1);
    expect(log.matching('store failing')).toHaveLength(1);
    expect(app!.broker.isReady()).toBe(true);
    expect(await readyz()).toBe(200);
    // The publish whose commit failed is acknowledged now, as a success: its writes were committed.
    await filler.waitUntil(() => filler.acks.has(pending!.packetId), 5000, 'the late acknowledgement');
    expect(filler.acks.get(pending!.packetId)!.reasonCode ?? 0).toBe(0);
    acked.push(pending!.n);
    const n = acked.length + 2000;
    const ack = await filler.publishAcked({ topic: `fill/${n}`, payload: seqPayload(n, 100), qos: 1, retain: false, packetId: pubId++ });
    expect(ack.reasonCode ?? 0).toBe(0);
    acked.push(n);
    filler.disconnect();
    live.disconnect();
  });

  it('after a restart on the same data dir, every message acknowledged before (and after) the fault is delivered, in order', async () => {
    await app!.stop();
    app = undefined;
    await startApp();
    const { client: keeper, connack } = await StoreClient.connect(mqttPort(), 5, { clientId: 'keeper', clean: false, properties: { sessionExpiryInterval: 3600 } });
    expect(connack.sessionPresent).toBe(true);
    await keeper.waitUntil(() => {
      const got = new Set(keeper.publishes.map((p) => seqOf(p.payload)));
      return acked.every((n) => got.has(n));
    }, 15_000, 'every acknowledged message');
    await keeper.ping();
    const seqs = keeper.publishes.map((p) => seqOf(p.payload));
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs); // in publish order
    for (const n of refused) expect(seqs).not.toContain(n); // refused with 0x97: never routed
    keeper.disconnect();
  });
});
