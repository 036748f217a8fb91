/**
 * The `bridges:` section of the config file (issue 9): sinks (where messages go, with the
 * bounds of their durable outbox, batching, retry and breaker settings) and routes (which
 * messages go where). src/app/config/schema.ts mounts `bridgesSchema` under `bridges`;
 * docs/configuration.md is generated from it and docs/bridges.md explains it.
 */
import { z } from 'zod';
import { isValidTopicFilter, parseSharedFilter } from '../../broker/routing/index.js';
import { ingressOptionsSchema } from '../ingress/ingress-options.js';
import { compileTemplate } from './payload-template.js';

const uint = (max: number) => z.int().min(0).max(max);
const positive = (max: number) => z.int().min(1).max(max);
const NAME = /^[a-z][a-z0-9_-]{0,39}$/;
const NAME_HINT = 'lower case letters, digits, - and _ (max 40)';

export const SINK_KINDS = ['http', 'nats', 'postgres'] as const;

const httpSink = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).describe('Webhook URL; every request is a POST to it.'),
  mode: z.enum(['batch', 'single'])
    .default('batch')
    .describe('batch: one POST per batch, a JSON document with every message; single: one POST per message, the body as is (docs/bridges.md).'),
  secret: z.string().min(16, 'use at least 16 characters')
    .optional()
    .meta({ description: 'HMAC-SHA256 key: X-Holdfast-Signature: sha256=<hex HMAC of the body>. Without it no signature is sent.', defaultText: 'none (unsigned)' }),
  timeoutMs: positive(600_000).default(10_000).describe('Per request: connect, then response headers, then each body chunk.'),
  connections: positive(1024).default(4).describe('Keep-alive connections to the host at most (undici Pool).'),
  concurrency: positive(1024).default(8).describe('single mode: requests in flight at once (different devices; one device\'s messages go one after the other).'),
  headers: z.record(z.string(), z.string()).default({}).describe('Extra request headers (e.g. Authorization); the X-Holdfast-* and Idempotency-Key headers cannot be overridden.'),
});

/** The options object of a sink kind whose adapter validates it (nats, postgres): a zod schema, or any object. */
export type KindOptionsSchema = z.ZodType<Record<string, unknown>>;
const openOptions = (): KindOptionsSchema => z.record(z.string(), z.unknown());

/**
 * The `bridges:` schema. The app passes the option schemas of the sink kinds it has
 * adapters for (`nats:`, `postgres:`), so that the config file is checked (and documented)
 * with them; without them those objects are taken as they are and checked by the adapter
 * when the sink is made (at start).
 */
export function createBridgesSchema(kinds: { nats?: KindOptionsSchema; postgres?: KindOptionsSchema } = {}) {
  const sink = z
    .strictObject({
      name: z.string().regex(NAME, NAME_HINT).describe('Name of the sink (a metric label; routes refer to it).'),
      kind: z.enum(SINK_KINDS).describe('http (webhook), nats (JetStream) or postgres.'),
      enabled: z.boolean().default(true).describe('false: nothing is routed to it and nothing sent; its outbox stays on disk.'),
      maxOutboxMessages: positive(1_000_000_000).default(1_000_000).describe('Messages waiting in its outbox (on disk) at most.'),
      maxOutboxBytes: positive(Number.MAX_SAFE_INTEGER).default(1_073_741_824).describe('Bytes of message bodies waiting in its outbox at most.'),
      whenOutboxFull: z.enum(['refuse', 'drop-oldest'])
        .default('refuse')
        .describe('refuse: QoS 1/2 publishes matching a route of the sink get PUBACK/PUBREC 0x97 (3.1.1: the connection is closed), QoS 0 is not queued (counted); drop-oldest: the oldest waiting messages are deleted (counted).'),
      batchMaxMessages: positive(10_000).default(100).describe('Messages per batch handed to the sink at most.'),
      batchLingerMs: uint(60_000).default(5).describe('After an idle period, wait this long for more messages before sending a batch.'),
      batchTimeoutMs: positive(600_000).default(15_000).describe('Deadline of one batch (the sink is told through its AbortSignal); past it the batch failed as a whole.'),
      maxAttempts: positive(1_000_000).default(10).describe('A message the sink failed this many times (per-message outcome retry or permanent) goes to the dead letters.'),
      maxPermanentAttempts: positive(1_000_000).default(1).describe('A message the sink refused for good (4xx, schema error) goes to the dead letters after this many attempts.'),
      retryBaseMs: positive(600_000).default(200).describe('Backoff before retrying a failed batch: random(0, min(retryCapMs, retryBaseMs * 2^k)) (full jitter).'),
      retryCapMs: positive(3_600_000).default(30_000).describe('Longest backoff between two attempts.'),
      breakerFailures: positive(1000).default(5).describe('Consecutive failed batches that open the sink\'s breaker (and its host\'s, for http).'),
      breakerOpenMs: positive(3_600_000).default(10_000).describe('Time the breaker stays open (nothing is sent, the outbox grows on disk) before one trial batch.'),
      http: httpSink.optional().meta({ description: 'kind http: the webhook.', defaultText: 'required for kind http' }),
      nats: (kinds.nats ?? openOptions())
        .optional()
        .meta({ description: 'kind nats: options of the JetStream sink (src/adapters/northbound/nats).', defaultText: 'required for kind nats' }),
      postgres: (kinds.postgres ?? openOptions())
        .optional()
        .meta({ description: 'kind postgres: options of the PostgreSQL sink (src/adapters/northbound/postgres).', defaultText: 'required for kind postgres' }),
    })
    .superRefine((s, ctx) => {
      if (s[s.kind] === undefined) ctx.addIssue({ code: 'custom', path: [s.kind], message: `required for kind ${s.kind}` });
      for (const other of SINK_KINDS) {
        if (other !== s.kind && s[other] !== undefined) ctx.addIssue({ code: 'custom', path: [other], message: `only for kind ${other} (this sink is ${s.kind})` });
      }
      if (s.retryCapMs < s.retryBaseMs) ctx.addIssue({ code: 'custom', path: ['retryCapMs'], message: 'must be at least retryBaseMs' });
    });

  const route = z
    .strictObject({
      filter: z.string().min(1).describe('MQTT topic filter (+ and # allowed; no $share).'),
      sink: z.string().regex(NAME, NAME_HINT).describe('Name of the sink the matching messages go to.'),
      deviceType: z.string().min(1).optional().meta({ description: 'Only messages published by devices of this type (device registry).', defaultText: 'any' }),
      labels: z.record(z.string(), z.string())
        .optional()
        .meta({ description: 'Only messages published by devices carrying every one of these labels.', defaultText: 'any' }),
      template: z.string().min(1)
        .optional()
        .meta({
          description: 'JSON envelope sent instead of the payload, with {topic} {clientId} {messageId} {idempotencyKey} {qos} {timestamp} {timestampIso} {payloadBase64} {payloadUtf8} {payloadJson} (docs/bridges.md).',
          defaultText: 'none (payload as is)',
        }),
    })
    .superRefine((r, ctx) => {
      if (parseSharedFilter(r.filter) !== null) ctx.addIssue({ code: 'custom', path: ['filter'], message: 'shared subscriptions ($share/...) cannot be routes' });
      else if (!isValidTopicFilter(r.filter)) ctx.addIssue({ code: 'custom', path: ['filter'], message: 'not a valid MQTT topic filter' });
      if (r.template !== undefined) {
        try {
          compileTemplate(r.template);
        } catch (err) {
          ctx.addIssue({ code: 'custom', path: ['template'], message: (err as Error).message });
        }
      }
    });

  return z
    .strictObject({
      instanceId: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - (max 64)')
        .optional()
        .meta({
          description: 'Stable id of this installation, the first part of every idempotency key (`<instanceId>-<messageId>`). Default: random, made once and kept in the store.',
          defaultText: 'random, kept in the store',
        }),
      sinks: z.array(sink).default([]).describe('Where messages go.'),
      routes: z.array(route).default([]).describe('Which messages go to which sink (a message matching several routes of one sink is sent once, by the first).'),
      ingress: z.array(ingressOptionsSchema)
        .default([])
        .describe('JetStream ingress: durable consumers whose messages become MQTT publishes or device commands (docs/bridges-nats-postgres.md; options as listed there).'),
    })
    .superRefine((b, ctx) => {
      const names = new Set<string>();
      b.sinks.forEach((s, i) => {
        if (names.has(s.name)) ctx.addIssue({ code: 'custom', path: ['sinks', i, 'name'], message: `duplicate sink name "${s.name}"` });
        names.add(s.name);
      });
      b.routes.forEach((r, i) => {
        if (!names.has(r.sink)) ctx.addIssue({ code: 'custom', path: ['routes', i, 'sink'], message: `no sink named "${r.sink}"` });
      });
      const ingressNames = new Set<string>();
      b.ingress.forEach((g, i) => {
        if (ingressNames.has(g.name)) ctx.addIssue({ code: 'custom', path: ['ingress', i, 'name'], message: `duplicate ingress name "${g.name}"` });
        ingressNames.add(g.name);
      });
    });
}

export const bridgesSchema = createBridgesSchema();

export type BridgesConfig = z.output<typeof bridgesSchema>;
export type BridgesConfigInput = z.input<typeof bridgesSchema>;
export type SinkConfig = BridgesConfig['sinks'][number];
export type RouteConfig = BridgesConfig['routes'][number];
export type HttpSinkConfig = NonNullable<SinkConfig['http']>;

/** Parses (and fills the defaults of) a bridges section: for tests and programmatic use. */
export function parseBridgesConfig(input: BridgesConfigInput): BridgesConfig {
  return bridgesSchema.parse(input);
}
