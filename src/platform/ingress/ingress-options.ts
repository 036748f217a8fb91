/**
 * Options of one JetStream ingress (docs/bridges-nats-postgres.md): where to consume, how
 * a NATS message becomes an MQTT publish or a device command, and the bounds (batch,
 * attempts, dedupe window). `JetStreamIngress` parses its options with this schema.
 */
import { z } from 'zod';
import { HoldfastError } from '../../errors/index.js';

const positive = (max: number) => z.int().min(1).max(max);
/** Stream and consumer names: no `.`, `*`, `>`, `/`, `\` or whitespace (NATS naming rules). */
const natsName = z.string().regex(/^[^.*>/\\\s]{1,255}$/, 'no . * > / \\ or whitespace');

const mapping = z.strictObject({
  topicHeader: z.string().min(1).default('Holdfast-Topic')
    .describe('Header that names the MQTT topic; when absent the topic comes from the subject.'),
  subjectPrefix: z.string().optional()
    .describe('Subject prefix stripped before the remaining tokens become topic levels (`.` -> `/`, percent-decoded); absent = the whole subject.'),
  topicPrefix: z.string().default('').describe('Prepended to a topic made from the subject (e.g. `from-nats/`).'),
  qos: z.literal([0, 1, 2]).default(1).describe('QoS of the publishes; header Holdfast-Qos overrides.'),
  retain: z.boolean().default(false).describe('Retain flag of the publishes; header Holdfast-Retain (true/false) overrides.'),
  allowSystemTopics: z.boolean().default(false).describe('Allow topics starting with `$` (refused by default: no spoofed $SYS or commands).'),
  headersAsUserProperties: z.boolean().default(true)
    .describe('Other headers (not Nats-*, not Holdfast-*) become MQTT 5 user properties.'),
  maxPayloadBytes: positive(268_435_455).default(1_048_576).describe('Larger messages are refused (dead letters after maxAttempts).'),
});

const commands = z.strictObject({
  enabled: z.boolean().default(false).describe('Turn messages into device commands (CommandService.send).'),
  subjectPrefix: z.string().optional()
    .describe('Subjects `<prefix>.<deviceId>.<command>` are commands; also a Holdfast-Command header (+ Holdfast-Device) makes one.'),
});

export const ingressOptionsSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and -').describe('Ingress name (dead letters: sink `ingress:<name>`).'),
  servers: z.array(z.string().min(1)).min(1).default(['nats://127.0.0.1:4222']).describe('NATS server URLs.'),
  user: z.string().optional().describe('User name (with pass).'),
  pass: z.string().optional().describe('Password (with user).'),
  token: z.string().optional().describe('Authentication token.'),
  tls: z.strictObject({ caFile: z.string().optional(), certFile: z.string().optional(), keyFile: z.string().optional() }).optional()
    .describe('TLS to the server.'),
  connectTimeoutMs: positive(600_000).default(5000).describe('Deadline of one connection attempt.'),
  reconnectTimeWaitMs: positive(600_000).default(2000).describe('Pause between reconnection attempts.'),
  stream: natsName.describe('The stream to consume.'),
  durable: natsName.optional().describe('Durable consumer name; default `holdfast-ingress-<name>`.'),
  filterSubject: z.string().optional().describe('Only these subjects of the stream (consumer filter_subject).'),
  createConsumer: z.boolean().default(true).describe('Create the durable pull consumer when it does not exist.'),
  deliverPolicy: z.enum(['all', 'new']).default('all').describe('Where a newly created consumer starts.'),
  ackWaitMs: positive(3_600_000).default(30_000).describe('Consumer ack_wait: an unacknowledged message is delivered again after it.'),
  maxAckPending: positive(100_000).default(1000).describe('Consumer max_ack_pending: messages held unacknowledged at most (bounds memory).'),
  batchSize: positive(10_000).default(100).describe('Messages per store commit (their publishes and dedupe ids), acknowledged together.'),
  maxAttempts: positive(1000).default(5).describe('Deliveries of an invalid message before it goes to the dead letters (and is acknowledged).'),
  retryDelayMs: z.int().min(0).max(3_600_000).default(1000).describe('Delay before a failed message is delivered again (nak delay).'),
  dedupeWindow: positive(1_000_000).default(10_000).describe('Message ids remembered (in the store) to drop redeliveries.'),
  mapping: mapping.default(mapping.parse({})),
  commands: commands.default(commands.parse({})),
});

export type IngressOptions = z.output<typeof ingressOptionsSchema>;
export type IngressInput = z.input<typeof ingressOptionsSchema>;
export type IngressMappingOptions = IngressOptions['mapping'];
export type IngressCommandOptions = IngressOptions['commands'];

export function resolveIngressOptions(input: IngressInput): IngressOptions {
  const parsed = ingressOptionsSchema.safeParse(input);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new HoldfastError('INGRESS_CONFIG', `JetStream ingress options: ${first?.path.join('.') ?? ''} ${first?.message ?? 'invalid'}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

export function durableName(o: IngressOptions): string {
  return o.durable ?? `holdfast-ingress-${o.name}`;
}
