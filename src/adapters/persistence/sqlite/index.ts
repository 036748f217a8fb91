export { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
export { verifyStore, type VerifyReport } from './verify.js';
export { SqlitePlatformStore, type SqlitePlatformStoreOptions } from './platform-store.js';
