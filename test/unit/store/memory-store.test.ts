/**
 * The shared Store contract against the memory adapter. "Reopen" is close() then open() of
 * the same instance: the memory store survives a broker restart within one process only.
 */
import { MemoryStore } from '../../../src/adapters/persistence/memory/index.js';
import { runStoreContract } from './store-contract.js';

runStoreContract('memory', async () => {
  const store = new MemoryStore();
  await store.open();
  return {
    store,
    async reopen() {
      await store.close();
      await store.open();
      return store;
    },
    async dispose() {
      await store.close();
    },
  };
});
