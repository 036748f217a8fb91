/**
 * The store as the app wires it (src/app/store.ts, config `store: {kind, durability, retryMs}`):
 * sqlite under the data dir by default with durability commit, memory on request, the
 * durability mode passed through, bad values refused by the config, and a persistent
 * session that survives an app restart on the same data dir.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SqliteStore } from '../../src/adapters/persistence/sqlite/index.js';
import { startHoldfast, type RunningHoldfast } from '../../src/app/main.js';
import { silentLogger } from '../../src/observability/logger.js';
import { StoreClient } from '../helpers/store-clients.js';
import { removeDir, storeTempDir } from '../helpers/store-fixtures.js';

let running: RunningHoldfast | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await running?.stop();
  running = undefined;
  for (const d of dirs.splice(0)) removeDir(d);
});

function dataDir(): string {
  const d = storeTempDir('holdfast-app-store-');
  dirs.push(d);
  return join(d, 'data');
}

function start(dir: string, store?: Record<string, unknown>): Promise<RunningHoldfast> {
  return startHoldfast(
    {
      listeners: { bind: '127.0.0.1', mqtt: { port: 0 }, ws: { port: null }, warmupConnections: 0 },
      http: { port: null },
      dataDir: dir,
      ...(store !== undefined ? { store } : {}),
    },
    { logger: silentLogger() },
  );
}

describe('store wiring in the app', () => {
  it('default: sqlite at <dataDir>/holdfast.db with durability commit', async () => {
    const dir = dataDir();
    running = await start(dir);
    const store = running.broker.store as SqliteStore;
    expect(store.kind).toBe('sqlite');
    expect(store.file).toBe(join(dir, 'holdfast.db'));
    expect(store.durability).toBe('commit');
    expect(existsSync(join(dir, 'holdfast.db'))).toBe(true);
  });

  it.each(['fsync', 'commit', 'none'] as const)('store.durability %s reaches the SqliteStore', async (durability) => {
    running = await start(dataDir(), { durability });
    expect((running.broker.store as SqliteStore).durability).toBe(durability);
  });

  it('store.kind memory: no file in the data dir', async () => {
    const dir = dataDir();
    running = await start(dir, { kind: 'memory' });
    expect(running.broker.store.kind).toBe('memory');
    expect(existsSync(join(dir, 'holdfast.db'))).toBe(false);
  });

  it.each([
    [{ durability: 'sometimes' }, 'store.durability'],
    [{ kind: 'nats' }, 'store.kind'],
    [{ retryMs: 0 }, 'store.retryMs'],
  ])('bad store settings are refused by the config: %j', async (store, key) => {
    const err = (await start(dataDir(), store).then(
      () => undefined,
      (e: unknown) => e,
    )) as { code?: string; details?: { problems?: string[] } } | undefined;
    expect(err?.code).toBe('CONFIG_INVALID');
    expect(err?.details?.problems?.join('\n')).toContain(key);
  });

  it('MQTT-3.2.2-2 a persistent session and its queued message survive an app restart on the same data dir', async () => {
    const dir = dataDir();
    running = await start(dir);
    const { client: sub } = await StoreClient.connect(running.addresses.mqtt!, 4, { clientId: 'keep', clean: false });
    await sub.subscribe('k/#', 1);
    sub.disconnect();
    await sub.waitClosed();
    const { client: pub } = await StoreClient.connect(running.addresses.mqtt!, 5, { clientId: 'p' });
    expect((await pub.publishAcked({ topic: 'k/1', payload: Buffer.from('kept'), qos: 1, retain: false, packetId: 1 })).reasonCode ?? 0).toBe(0);
    pub.disconnect();
    await running.stop();
    running = await start(dir);
    const { client: back, connack } = await StoreClient.connect(running.addresses.mqtt!, 4, { clientId: 'keep', clean: false });
    expect(connack.sessionPresent).toBe(true);
    await back.waitUntil(() => back.publishCount === 1, 5000, 'the queued message');
    expect(back.publishes[0].payload.toString()).toBe('kept');
    back.disconnect();
  });
});
