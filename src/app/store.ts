/**
 * The persistence seam of the composition root: the store named by the config.
 */
import { join } from 'node:path';
import type { Durability, Store } from '../ports/store.js';
import { MemoryStore } from '../adapters/persistence/memory/index.js';
import { SqliteStore } from '../adapters/persistence/sqlite/index.js';

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
