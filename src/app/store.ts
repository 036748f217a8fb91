/**
 * The persistence seam of the composition root. Only the in-memory store exists so far;
 * the sqlite adapter (persistent sessions and retained messages under dataDir) plugs in
 * here when it lands, chosen by config.
 */
import type { Store } from '../ports/store.js';
import { MemoryStore } from '../adapters/persistence/memory/index.js';

export interface StoreOptions {
  /** Absolute data directory; unused by the memory store. */
  dataDir: string;
}

export function createStore(_opts: StoreOptions): Store {
  return new MemoryStore();
}
