/**
 * Shapes of /api/bridges (issue 9, docs/bridges.md): inputs validated with them, outputs
 * described for /api/openapi.json (the integration tests parse real answers with them).
 */
import { z } from 'zod';

const SinkName = z.string().regex(/^(ingress:)?[A-Za-z0-9_-]{1,64}$/, 'a sink name (or ingress:<name>)');
const MessageId = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

// ---- inputs -------------------------------------------------------------------------------

export const DeadLettersQuery = z.strictObject({
  sink: SinkName.optional().meta({ description: 'Only the dead letters of this sink (`ingress:<name>` for an ingress).' }),
  cursor: z
    .string()
    .regex(/^\d{1,16}$/, 'nextCursor of the previous page')
    .optional()
    .meta({ description: 'nextCursor of the previous page (letters are ordered by message id).' }),
  limit: z.coerce.number().int().min(1).max(1000).default(100).meta({ description: 'Page size, 1-1000 (default 100).' }),
});

export const ReplayBody = z
  .strictObject({
    sink: SinkName.optional().meta({ description: 'Replay the dead letters of this sink (with messageIds: only those of it).' }),
    messageIds: z.array(MessageId).min(1).max(100_000).optional().meta({ description: 'Replay these dead letters (message ids as listed).' }),
    limit: z.number().int().min(1).max(100_000).optional().meta({ description: 'At most this many (default 1000), oldest first.' }),
  })
  .refine((b) => b.sink !== undefined || b.messageIds !== undefined, 'give sink, messageIds or both');

// ---- outputs ------------------------------------------------------------------------------

const BreakerState = z.enum(['closed', 'open', 'half-open']);
const Counters = z.object({
  enqueued: z.number(),
  sent: z.number(),
  acked: z.number(),
  failed: z.number(),
  batches: z.number(),
  batchFailures: z.number(),
  deadLettered: z.number(),
  replayed: z.number(),
  refused: z.number().meta({ description: 'QoS 1/2 publishes refused (0x97) because the outbox was full.' }),
  droppedQos0: z.number(),
  droppedOldest: z.number(),
});

export const SinkStatusSchema = z
  .object({
    name: z.string(),
    kind: z.string(),
    state: z.enum(['starting', 'idle', 'sending', 'backoff', 'open', 'disabled', 'stopped']),
    breaker: BreakerState,
    endpoint: z.object({ key: z.string(), breaker: BreakerState }).optional().meta({ description: 'http: the breaker of the host, shared by its sinks.' }),
    outbox: z.object({
      messages: z.number(),
      bytes: z.number(),
      oldestAgeMs: z.number().meta({ description: 'Age of the oldest waiting message, 0 when empty.' }),
      maxMessages: z.number(),
      maxBytes: z.number(),
      whenFull: z.enum(['refuse', 'drop-oldest']),
      full: z.boolean(),
    }),
    rates: z.object({ sentPerS: z.number(), ackedPerS: z.number(), failedPerS: z.number() }).meta({ description: 'Per second over the last minute.' }),
    totals: Counters,
    deadLetters: z.number(),
    lastError: z.object({ message: z.string(), at: z.number() }).optional(),
  })
  .meta({ id: 'BridgeSink' });

export const IngressStatusSchema = z
  .object({
    name: z.string(),
    stream: z.string(),
    state: z.enum(['idle', 'connecting', 'consuming', 'waiting', 'stopped', 'crashed']),
    lastError: z.string().optional(),
    stats: z.object({ published: z.number(), commands: z.number(), duplicates: z.number(), deadLettered: z.number(), failures: z.number() }),
    queued: z.number(),
    window: z.number().meta({ description: 'Message ids in the dedupe window.' }),
  })
  .meta({ id: 'BridgeIngress' });

export const BridgesStatusSchema = z
  .object({
    instanceId: z.string().meta({ description: 'First part of every idempotency key (<instanceId>-<messageId>).' }),
    routes: z.number(),
    sinks: z.array(SinkStatusSchema),
    ingress: z.array(IngressStatusSchema),
  })
  .meta({ id: 'BridgesStatus' });

export const DeadLetterSchema = z
  .object({
    sink: z.string(),
    messageId: z.number(),
    idempotencyKey: z.string(),
    topic: z.string(),
    publisherId: z.string().optional(),
    qos: z.number(),
    retain: z.boolean(),
    createdAt: z.number(),
    failedAt: z.number(),
    attempts: z.number(),
    error: z.string(),
    payloadBytes: z.number(),
    payloadBase64: z.string(),
  })
  .meta({ id: 'DeadLetter' });

export const DeadLetterPageSchema = z.object({ items: z.array(DeadLetterSchema), nextCursor: z.string().optional() }).meta({ id: 'DeadLetterPage' });

export const ReplayResultSchema = z
  .object({ replayed: z.number(), bySink: z.record(z.string(), z.number()) })
  .meta({ id: 'ReplayResult' });
