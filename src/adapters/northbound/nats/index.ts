export { NatsSink, createNatsSink, type NatsSinkConfigLike, type NatsSinkDeps, type NatsSinkState } from './nats-sink.js';
export {
  natsConnectionSchema,
  natsSinkConfigSchema,
  natsSinkOptionsSchema,
  resolveNatsSinkOptions,
  type NatsConnectionOptions,
  type NatsSinkInput,
  type NatsSinkOptions,
} from './nats-sink-options.js';
export { compileSubjectTemplate, sanitizeToken, streamSubjectsOf, topicToSubject } from './subject-template.js';
