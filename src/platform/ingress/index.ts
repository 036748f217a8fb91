export {
  JetStreamIngress,
  type IngressBroker,
  type IngressDeps,
  type IngressEvent,
  type IngressEventName,
  type IngressState,
  type IngressStats,
} from './jetstream-ingress.js';
export { ingressOptionsSchema, resolveIngressOptions, durableName, type IngressInput, type IngressOptions } from './ingress-options.js';
export { mapIngressMessage, decodeToken, type IngressAction, type IngressMessage } from './ingress-mapping.js';
export { DedupeWindow } from './dedupe-window.js';
