export { startListeners } from './listeners.js';
export { Connection } from './connection.js';
export type { BoundAddresses, ListenerName, Listeners, ListenersConfig, TlsFiles } from './listeners-api.js';
export { warmUpConnectPath, type WarmupResult } from './warmup.js';
