/**
 * The broker's public surface for the app layer.
 */
export { Broker, type BrokerDeps, type ConnectionHandle } from './broker.js';
export { startListeners, warmUpConnectPath } from './transport/index.js';
export type { BoundAddresses, Listeners, ListenersConfig, TlsFiles } from './transport/index.js';
export { DEFAULT_BROKER_CONFIG, type BrokerConfig, type AclRule, type UserEntry } from './config.js';
export type { Hooks, ClientInfo, AuthResult, AuthRequest, EnhancedAuthResult, EnhancedAuthStep } from './hooks.js';
export { BrokerStats } from './stats.js';
