/**
 * The northbound sinks of this build, by `kind`: what the app passes to createBridges as
 * `sinks` (src/platform/bridges: SinkFactories). Each factory takes the sink's entry of
 * `bridges.sinks[]` (its options under the key named like the kind) and { logger, clock }.
 */
import { createHttpSink } from './http/index.js';
import { createNatsSink } from './nats/index.js';
import { createPgSink } from './postgres/index.js';

export const northboundSinks = {
  http: createHttpSink,
  nats: createNatsSink,
  postgres: createPgSink,
} as const;

export { createHttpSink, HttpSink, signWebhookBody, verifyWebhookSignature, type HttpSinkOptions } from './http/index.js';
