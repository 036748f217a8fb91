/**
 * Fixtures for the durable-store tests: temp data dirs, a broker on a given store with an
 * injectable clock and logger (startTestBroker has neither), a pino logger that writes
 * into an array, and a synchronous "crash snapshot" of a SQLite store's files.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { SqliteStore } from '../../src/adapters/persistence/sqlite/index.js';
import { Broker } from '../../src/broker/broker.js';
import type { BrokerConfig } from '../../src/broker/config.js';
import { startListeners, type Listeners } from '../../src/broker/transport/index.js';
import { silentLogger, type Logger } from '../../src/observability/logger.js';
import type { Clock } from '../../src/ports/clock.js';
import type { Durability, Store } from '../../src/ports/store.js';
import { testConfig, type DeepPartial } from './broker.js';

export function storeTempDir(prefix = 'holdfast-store-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export function sqliteAt(dir: string, opts: { durability?: Durability; retryMs?: number } = {}): SqliteStore {
  return new SqliteStore({ file: join(dir, 'holdfast.db'), ...opts });
}

/**
 * What kill -9 leaves on disk, taken in-process: the database file and its WAL copied
 * synchronously (no commit of this process can interleave with a synchronous copy), with
 * no close and no flush. The -shm index is not copied: SQLite rebuilds it from the WAL,
 * as it does after a crash.
 */
export function crashSnapshot(fromDir: string, toDir: string): void {
  copyFileSync(join(fromDir, 'holdfast.db'), join(toDir, 'holdfast.db'));
  if (existsSync(join(fromDir, 'holdfast.db-wal'))) copyFileSync(join(fromDir, 'holdfast.db-wal'), join(toDir, 'holdfast.db-wal'));
}

export interface LogCapture {
  logger: Logger;
  records: Array<Record<string, unknown>>;
  /** Records whose msg starts with `prefix`. */
  matching(prefix: string): Array<Record<string, unknown>>;
}

/** A real pino logger whose JSON lines land in an array. */
export function captureLogger(level = 'info'): LogCapture {
  const records: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level },
    {
      write(line: string): void {
        records.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  return {
    logger,
    records,
    matching: (prefix) => records.filter((r) => typeof r.msg === 'string' && r.msg.startsWith(prefix)),
  };
}

export interface StoreBroker {
  broker: Broker;
  store: Store;
  port: number;
  listeners: Listeners;
  /** Graceful: the broker closes its connections, flushes and closes the store. */
  stop(): Promise<void>;
}

export async function startStoreBroker(opts: {
  store: Store;
  config?: DeepPartial<BrokerConfig>;
  clock?: Clock;
  logger?: Logger;
}): Promise<StoreBroker> {
  const broker = new Broker(testConfig(opts.config), { store: opts.store, logger: opts.logger ?? silentLogger(), clock: opts.clock });
  await broker.start();
  const listeners = await startListeners(
    broker,
    { bind: '127.0.0.1', mqttPort: 0, wsPort: null, wsPath: '/mqtt', tls: null, backlog: 511 },
    silentLogger(),
  );
  return {
    broker,
    store: opts.store,
    port: listeners.addresses.mqtt!,
    listeners,
    async stop() {
      await broker.close();
      await listeners.close();
    },
  };
}

/** Waits for a condition that events make true (polled on a short timer, with a deadline). */
export async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timeout after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
