/**
 * The persistence seam of the composition root: the store named by the config.
 */
import { join } from 'node:path';
import type { Durability, Store } from '../ports/store.js';
import { MemoryStore } from '../adapters/persistence/memory/index.js';
import { SqlitePlatformStore, SqliteStore } from '../adapters/persistence/sqlite/index.js';
import { MemoryPlatformStore } from '../adapters/persistence/memory/index.js';
import type { PlatformStore } from '../ports/platform-store.js';

export interface StoreOptions {
  /** Absolute data directory. */
  dataDir: string;
  kind?: 'sqlite' | 'memory';
  durability?: Durability;
  retryMs?: number;
}

/** The store file of a data dir. */
export function storeFile(dataDir: string): string {
  return join(dataDir, 'holdfast.db');
}

export function createStore(opts: StoreOptions): Store {
  if (opts.kind === 'memory') return new MemoryStore();
  return new SqliteStore({ file: storeFile(opts.dataDir), durability: opts.durability, retryMs: opts.retryMs });
}

/** The device platform's store: `<data-dir>/platform.db`, or memory with `store.kind: memory`. */
export function createPlatformStore(opts: StoreOptions): PlatformStore {
  if (opts.kind === 'memory') return new MemoryPlatformStore();
  return new SqlitePlatformStore({ file: join(opts.dataDir, 'platform.db'), durability: opts.durability });
}
