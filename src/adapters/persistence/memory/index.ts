export { MemoryStore } from './memory-store.js';
export { MemoryPlatformStore } from './memory-platform-store.js';
