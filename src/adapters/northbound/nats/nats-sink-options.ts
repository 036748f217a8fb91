/**
 * Options of one NATS JetStream sink (docs/bridges-nats-postgres.md). The bridge engine's
 * `bridges:` config section embeds this schema per sink; `createNatsSink` parses its
 * argument with it, so a partial object gets every default.
 */
import { z } from 'zod';
import { HoldfastError } from '../../../errors/index.js';
import { compileSubjectTemplate, streamSubjectsOf } from './subject-template.js';

const positive = (max: number) => z.int().min(1).max(max);
/** A JetStream stream name: no `.`, `*`, `>`, `/`, `\` or whitespace (NATS naming rules). */
const streamName = z.string().regex(/^[^.*>/\\\s]{1,255}$/, 'a stream name has no . * > / \\ or whitespace');

export const natsConnectionSchema = z.strictObject({
  servers: z.array(z.string().min(1)).min(1).default(['nats://127.0.0.1:4222'])
    .describe('NATS server URLs (nats://host:port); the client fails over between them.'),
  user: z.string().optional().describe('User name (with pass).'),
  pass: z.string().optional().describe('Password (with user).'),
  token: z.string().optional().describe('Authentication token.'),
  tls: z.strictObject({
    caFile: z.string().optional().describe('CA bundle (PEM) to verify the server.'),
    certFile: z.string().optional().describe('Client certificate (PEM) for mutual TLS.'),
    keyFile: z.string().optional().describe('Client key (PEM) for mutual TLS.'),
  }).optional().describe('TLS to the server; absent = plain TCP unless the server requires TLS.'),
  connectTimeoutMs: positive(600_000).default(5000).describe('Deadline of one connection attempt.'),
  reconnectTimeWaitMs: positive(600_000).default(2000).describe('Pause between reconnection attempts of the client library.'),
  maxReconnectAttempts: z.int().min(-1).max(1_000_000).default(60)
    .describe('Reconnection attempts of the client library after a connection is lost (-1 = forever); then the connection closes and is opened again on the next batch.'),
});

export const natsSinkOptionsSchema = natsConnectionSchema.extend({
  name: z.string().min(1).max(200).describe('Sink name (routes refer to it; dead letters are filed under it).'),
  subjectTemplate: z.string().min(1).default('holdfast.{topic}')
    .describe('Subject per message: {topic} (levels become tokens, sanitized), {clientId}, {qos}.'),
  stream: streamName.optional()
    .describe('The stream that must store the messages (sent as Nats-Expected-Stream: a different stream capturing the subject is a permanent error). Required with ensureStream.'),
  ensureStream: z.boolean().default(false)
    .describe('Create the stream at start (and when it has gone) if it does not exist. An existing stream is never changed.'),
  streamSubjects: z.array(z.string().min(1)).min(1).optional()
    .describe('Subjects of the stream created by ensureStream; default from the template (holdfast.{topic} -> holdfast.>).'),
  streamStorage: z.enum(['file', 'memory']).default('file').describe('Storage of a stream created by ensureStream.'),
  streamReplicas: positive(5).default(1).describe('Replicas of a stream created by ensureStream.'),
  duplicateWindowMs: positive(7 * 24 * 3_600_000).default(600_000)
    .describe('Duplicate window of a stream created by ensureStream: a retry within it is dropped by the server (Nats-Msg-Id).'),
  publishTimeoutMs: positive(600_000).default(5000).describe('Deadline of one acknowledged publish (PubAck), within the batch deadline.'),
  maxInFlight: positive(65_535).default(256)
    .describe('Publishes of one batch awaiting their PubAck at once. 1 keeps strict order even across failures (slower).'),
  maxSubjectBytes: positive(65_535).default(1024).describe('Longer subjects are refused (permanent): the server limits control lines.'),
  headers: z.boolean().default(true).describe('Send Holdfast-Topic, -Client-Id, -Qos, -Message-Id, -Created-At (and Content-Type) headers.'),
});

/** The `nats:` object of a `bridges.sinks[]` entry (the name comes from the entry). */
export const natsSinkConfigSchema = natsSinkOptionsSchema.omit({ name: true });

export type NatsConnectionOptions = z.output<typeof natsConnectionSchema>;
export type NatsSinkOptions = z.output<typeof natsSinkOptionsSchema>;
export type NatsSinkInput = z.input<typeof natsSinkOptionsSchema>;

/** Parses and cross-checks the options; throws NATS_SINK_CONFIG. */
export function resolveNatsSinkOptions(input: NatsSinkInput): NatsSinkOptions {
  const parsed = natsSinkOptionsSchema.safeParse(input);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new HoldfastError('NATS_SINK_CONFIG', `NATS sink options: ${first?.path.join('.') ?? ''} ${first?.message ?? 'invalid'}`, {
      cause: parsed.error,
    });
  }
  const o = parsed.data;
  compileSubjectTemplate(o.subjectTemplate); // throws on a bad template
  if (o.ensureStream) {
    if (o.stream === undefined) throw new HoldfastError('NATS_SINK_CONFIG', `NATS sink ${o.name}: ensureStream needs stream (the name to create)`);
    if (o.streamSubjects === undefined && streamSubjectsOf(o.subjectTemplate) === undefined) {
      throw new HoldfastError('NATS_SINK_CONFIG', `NATS sink ${o.name}: set streamSubjects: they cannot be derived from ${o.subjectTemplate}`);
    }
  }
  return o;
}
