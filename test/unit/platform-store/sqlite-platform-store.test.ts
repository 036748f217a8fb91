/** The PlatformStore contract against SQLite: "reopen" = close, then a new instance on the same file. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlitePlatformStore } from '../../../src/adapters/persistence/sqlite/index.js';
import type { PlatformStore } from '../../../src/ports/platform-store.js';
import { runPlatformStoreContract } from './platform-store-contract.js';

runPlatformStoreContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-platform-'));
  const file = join(dir, 'platform.db');
  let store: PlatformStore = new SqlitePlatformStore({ file });
  await store.open();
  return {
    store,
    async reopen() {
      await store.close();
      store = new SqlitePlatformStore({ file });
      await store.open();
      return store;
    },
    async dispose() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
