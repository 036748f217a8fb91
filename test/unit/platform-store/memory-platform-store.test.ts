/** The PlatformStore contract against the memory adapter ("reopen" = close then open the same instance). */
import { MemoryPlatformStore } from '../../../src/adapters/persistence/memory/index.js';
import { runPlatformStoreContract } from './platform-store-contract.js';

runPlatformStoreContract('memory', async () => {
  const store = new MemoryPlatformStore();
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
