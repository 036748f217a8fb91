/**
 * The shared Store contract against the SQLite adapter, each test on its own file under
 * os.tmpdir(). "Reopen" is close() then a new SqliteStore instance on the same file.
 */
import type { SqliteStore } from '../../../src/adapters/persistence/sqlite/index.js';
import type { Store } from '../../../src/ports/store.js';
import { removeDir, sqliteAt, storeTempDir } from '../../helpers/store-fixtures.js';
import { runStoreContract } from './store-contract.js';

runStoreContract('sqlite', async () => {
  const dir = storeTempDir('holdfast-contract-');
  let current: SqliteStore = sqliteAt(dir);
  await current.open();
  return {
    store: current as Store,
    async reopen() {
      await current.close();
      current = sqliteAt(dir);
      await current.open();
      return current;
    },
    async dispose() {
      await current.close();
      removeDir(dir);
    },
  };
});
