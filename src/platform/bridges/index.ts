/**
 * Northbound bridges (issue 9): routes -> durable outbox -> dispatcher per sink.
 * Wiring and semantics: docs/bridges.md.
 */
export { BridgeEngine, createBridges } from './bridge-engine.js';
export { registerBridgeMetrics } from './bridge-metrics.js';
export {
  bridgesSchema,
  parseBridgesConfig,
  SINK_KINDS,
  type BridgesConfig,
  type BridgesConfigInput,
  type HttpSinkConfig,
  type RouteConfig,
  type SinkConfig,
} from './bridges-config.js';
export { compileTemplate, PLACEHOLDERS, type PayloadTemplate, type TemplateInput } from './payload-template.js';
export { INSTANCE_ID_KEY } from './instance-id.js';
export type {
  BridgeBroker,
  Bridges,
  BridgesDeps,
  BridgesStatus,
  DeadLetterPage,
  DeadLetterQuery,
  DeadLetterView,
  DeviceFacts,
  DeviceInfo,
  DispatcherState,
  ReplayRequest,
  ReplayResult,
  SinkContext,
  SinkFactories,
  SinkFactory,
  SinkStatus,
} from './types.js';
