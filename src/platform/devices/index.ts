export { DeviceRegistryService, type DeviceRegistryDeps, type PresenceView, type RegistryBroker } from './registry.js';
export { KeyedMutex } from './keyed-mutex.js';
export * from './validation.js';
