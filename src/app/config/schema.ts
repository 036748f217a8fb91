/**
 * The one schema of the holdfast config file (YAML). Every setting has a default and,
 * where it has one, a unit in its name. The sections mqtt, session, limits, acl and auth
 * mirror BrokerConfig key for key (src/broker/config.ts holds their defaults); listeners,
 * http, dataDir, log and shutdown belong to the app.
 *
 * Objects are strict: an unknown key is an error, so a typo never silently falls back to
 * a default. docs/configuration.md is generated from this file (scripts/gen-config-docs.mjs)
 * and a test fails when the two drift apart.
 */
import { z } from 'zod';
import { DEFAULT_BROKER_CONFIG as D } from '../../broker/config.js';
import { isValidTopicFilter } from '../../broker/routing/index.js';
import { parsePasswordHash } from '../../platform/auth/index.js';
import { LOG_LEVELS } from '../../observability/logger.js';
import { natsSinkConfigSchema } from '../../adapters/northbound/nats/nats-sink-options.js';
import { pgSinkConfigSchema } from '../../adapters/northbound/postgres/pg-sink-options.js';
import { createBridgesSchema } from '../../platform/bridges/bridges-config.js';
import { platform } from './platform-schema.js';
import { restart, shutdown, supervise } from './lifecycle-schema.js';
import { reloadConfig } from './reload-schema.js';

const uint = (max: number) => z.int().min(0).max(max);
const positive = (max: number) => z.int().min(1).max(max);
const UINT32_MAX = 4_294_967_295;
/** Largest MQTT packet: Remaining Length of 268,435,455 bytes plus the fixed header. */
const MQTT_MAX_PACKET_BYTES = 268_435_460;

/** A TCP port; null or false disables the listener; 0 asks the OS for a free port. */
const port = z.union([z.int().min(0).max(65535), z.null(), z.literal(false)], {
  error: 'expected a port number 0-65535, or null/false to disable',
});

const mqtt = z.strictObject({
  maxKeepAliveS: uint(65535)
    .default(D.mqtt.maxKeepAliveS)
    .describe('Server Keep Alive (seconds) returned when a v5 client asks for more, or for 0.'),
  connectTimeoutMs: positive(600_000)
    .default(D.mqtt.connectTimeoutMs)
    .describe('Time allowed between TCP accept and a complete CONNECT.'),
  maxPacketSizeBytes: z.int().min(64).max(MQTT_MAX_PACKET_BYTES)
    .default(D.mqtt.maxPacketSizeBytes)
    .describe('Largest packet accepted from clients; advertised as Maximum Packet Size (v5).'),
  receiveMaximum: positive(65535)
    .default(D.mqtt.receiveMaximum)
    .describe('Receive Maximum advertised to v5 clients (messages): QoS 1/2 publishes they may have unacknowledged.'),
  maxInflightMessages: positive(65535)
    .default(D.mqtt.maxInflightMessages)
    .describe('Outbound QoS 1/2 inflight window for 3.1.1 clients, and the cap for v5 clients.'),
  topicAliasMaximum: uint(65535)
    .default(D.mqtt.topicAliasMaximum)
    .describe('Topic Alias Maximum advertised to v5 clients (aliases); 0 disables inbound aliases.'),
  maximumQoS: z.literal([0, 1, 2]).default(D.mqtt.maximumQoS).describe('Highest QoS accepted; advertised as Maximum QoS.'),
  retainAvailable: z.boolean().default(D.mqtt.retainAvailable).describe('Accept retained messages.'),
  wildcardSubscriptionAvailable: z.boolean()
    .default(D.mqtt.wildcardSubscriptionAvailable)
    .describe('Accept subscriptions with + and #.'),
  subscriptionIdentifierAvailable: z.boolean()
    .default(D.mqtt.subscriptionIdentifierAvailable)
    .describe('Accept Subscription Identifiers (v5).'),
  sharedSubscriptionAvailable: z.boolean()
    .default(D.mqtt.sharedSubscriptionAvailable)
    .describe('Accept shared subscriptions ($share/group/filter).'),
  maxSessionExpiryS: uint(UINT32_MAX)
    .default(D.mqtt.maxSessionExpiryS)
    .describe('Cap on Session Expiry Interval (seconds, v5); also the expiry of 3.1.1 clean-session-0 sessions.'),
  maxClientIdLength: z.int().min(23).max(65535)
    .default(D.mqtt.maxClientIdLength)
    .describe('Longest client id accepted (characters; MQTT-3.1.3-5 requires at least 23).'),
  maxTopicLengthBytes: positive(65535).default(D.mqtt.maxTopicLengthBytes).describe('Longest topic name or filter (bytes).'),
  maxTopicLevels: positive(65535).default(D.mqtt.maxTopicLevels).describe('Most levels in a topic name or filter.'),
  maxSubscriptionsPerSession: positive(UINT32_MAX)
    .default(D.mqtt.maxSubscriptionsPerSession)
    .describe('Subscriptions one session may hold.'),
  allowEmptyClientId: z.boolean()
    .default(D.mqtt.allowEmptyClientId)
    .describe('Accept 3.1.1 clients with an empty client id and clean session 1 (MQTT-3.1.3-6).'),
  maxRetainedMessages: uint(UINT32_MAX)
    .default(D.mqtt.maxRetainedMessages)
    .describe('Retained messages kept at most; a new retained topic past this is refused.'),
});

const session = z.strictObject({
  maxQueuedMessages: uint(UINT32_MAX)
    .default(D.session.maxQueuedMessages)
    .describe('Queued (not yet inflight) QoS 1/2 messages per session, online or offline.'),
  maxInMemoryQueued: positive(UINT32_MAX)
    .default(D.session.maxInMemoryQueued)
    .describe('Queued messages of a persistent session held in memory; the rest stay on disk and are read back as the queue drains.'),
  queueDropPolicy: z.enum(['drop-oldest', 'drop-newest'])
    .default(D.session.queueDropPolicy)
    .describe('Which message goes when a session queue is full. Drops are counted.'),
  queueQos0Offline: z.boolean()
    .default(D.session.queueQos0Offline)
    .describe('Also queue QoS 0 messages for offline persistent sessions.'),
});

const limits = z.strictObject({
  outboundHighWaterBytes: positive(UINT32_MAX)
    .default(D.limits.outboundHighWaterBytes)
    .describe('Bytes buffered for a socket above which it gets no more data (backpressure).'),
  drainTimeoutMs: positive(UINT32_MAX)
    .default(D.limits.drainTimeoutMs)
    .describe('A socket that stays unwritable this long is disconnected as a slow consumer.'),
  stallDetectMs: positive(UINT32_MAX)
    .default(D.limits.stallDetectMs)
    .describe('A subscriber that made no progress this long stops slowing its publishers down.'),
  ackWaitTimeoutMs: positive(UINT32_MAX)
    .default(D.limits.ackWaitTimeoutMs)
    .describe('A publisher whose PUBACK/PUBREC waits this long for the store (failing disk) is disconnected without it, and resends.'),
});

/** Checked on the field itself, so that it is reported together with every other problem. */
const ruleTopic = z
  .string()
  .min(1)
  .superRefine((topic, ctx) => {
    if (topic.startsWith('$share/')) {
      ctx.addIssue({ code: 'custom', message: 'ACL rules match the filter inside a shared subscription: write it without $share/{group}/' });
    } else if (!isValidTopicFilter(topic)) {
      // MQTT-4.7.1-2, MQTT-4.7.1-3: # only as the last level, + only as a whole level.
      ctx.addIssue({ code: 'custom', message: `not a valid MQTT topic filter: "${topic}"` });
    }
  });

const aclRule = z.strictObject({
  action: z.enum(['publish', 'subscribe', 'all']).describe('What the rule applies to.'),
  topic: ruleTopic.describe('Topic filter; %c is replaced by the client id, %u by the username.'),
  allow: z.boolean().describe('true allows, false denies.'),
  clientId: z.string().optional().meta({ description: 'Only for this client id (exact match).', defaultText: 'any' }),
  username: z.string().optional().meta({ description: 'Only for this username (exact match).', defaultText: 'any' }),
});

const acl = z.strictObject({
  deniedSubscribeReasonCode: z.literal([0x87, 0x80], { error: 'expected 0x87 (Not authorized) or 0x80 (Unspecified error)' })
    .default(D.acl.deniedSubscribeReasonCode)
    .meta({
      description: 'SUBACK reason code for a denied subscription: 0x87, or 0x80 for old client libraries.',
      docType: '`0x87` \\| `0x80`',
      docDefault: '`0x87`',
    }),
  rules: z.array(aclRule)
    .default([])
    .describe('First match wins; no match = allowed. See docs/operations.md for the matching rules.'),
});

const passwordHash = z.string().superRefine((hash, ctx) => {
  const problem = parsePasswordHash(hash).problem;
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

const user = z.strictObject({
  username: z.string().min(1).describe('The MQTT user name.'),
  passwordHash: passwordHash.describe('scrypt$N$r$p$salt$hash, as printed by `holdfast passwd`.'),
});

const admission = z.strictObject({
  maxConnections: uint(UINT32_MAX)
    .default(D.admission.maxConnections)
    .describe('Open connections at most, over all listeners (connections); 0 = no limit. Beyond it CONNECT gets 0x97.'),
  maxConnectionsPerListener: uint(UINT32_MAX)
    .default(D.admission.maxConnectionsPerListener)
    .describe('Open connections at most on each listener (connections); 0 = no limit.'),
  connectRatePerListenerPerS: uint(UINT32_MAX)
    .default(D.admission.connectRatePerListenerPerS)
    .describe('New connections accepted per second on each listener; 0 = no limit. Refused ones get CONNACK 0x9F (v5) / 0x03.'),
  connectBurstPerListener: positive(UINT32_MAX)
    .default(D.admission.connectBurstPerListener)
    .describe('Connections a listener may take at once above its rate (token bucket size).'),
  connectRatePerIpPerS: uint(UINT32_MAX)
    .default(D.admission.connectRatePerIpPerS)
    .describe('New connections per second from one source address; 0 = no limit (fleets behind NAT share addresses).'),
  connectBurstPerIp: positive(UINT32_MAX).default(D.admission.connectBurstPerIp).describe('Burst of the per-address limit (connections).'),
  maxTrackedIps: positive(UINT32_MAX)
    .default(D.admission.maxTrackedIps)
    .describe('Source addresses tracked at most; a new address beyond it is refused while the limit is on.'),
});

const overload = z.strictObject({
  enabled: z.boolean().default(D.overload.enabled).describe('Refuse new work first, then stop reading publishes, when the process is overloaded.'),
  refuseConnectsAtDelayMs: positive(600_000)
    .default(D.overload.refuseConnectsAtDelayMs)
    .describe('Event-loop delay (p99 per second, ms) at which new connections are refused (0x89).'),
  pausePublishesAtDelayMs: positive(600_000)
    .default(D.overload.pausePublishesAtDelayMs)
    .describe('Event-loop delay (ms) at which publishers are also not read any more; acknowledgements keep flowing.'),
  refuseConnectsAtHeapRatio: z.number().gt(0).max(1)
    .default(D.overload.refuseConnectsAtHeapRatio)
    .describe('Heap used as a share of the V8 heap limit (ratio) at which new connections are refused.'),
  pausePublishesAtHeapRatio: z.number().gt(0).max(1)
    .default(D.overload.pausePublishesAtHeapRatio)
    .describe('Heap share (ratio) at which publishers are not read any more.'),
  recoverAfterMs: uint(3_600_000).default(D.overload.recoverAfterMs).describe('How long the signals must stay low before a level is left.'),
});

const clientLimits = z.strictObject({
  publishRatePerS: uint(UINT32_MAX)
    .default(D.clientLimits.publishRatePerS)
    .describe('PUBLISH packets per second per client (messages); 0 = no limit.'),
  publishBurst: positive(UINT32_MAX).default(D.clientLimits.publishBurst).describe('Burst above the publish rate (messages).'),
  bytesPerS: uint(UINT32_MAX).default(D.clientLimits.bytesPerS).describe('Bytes per second read from one client; 0 = no limit.'),
  bytesBurst: positive(UINT32_MAX).default(D.clientLimits.bytesBurst).describe('Burst above the byte rate (bytes).'),
  onExceed: z.enum(['throttle', 'disconnect'])
    .default(D.clientLimits.onExceed)
    .describe('throttle: stop reading the client until it is within its rate; disconnect: DISCONNECT 0x96 (v5) / close.'),
});

const flapping = z.strictObject({
  enabled: z.boolean().default(D.flapping.enabled).describe('Ban client ids that reconnect in a loop.'),
  maxConnects: positive(UINT32_MAX).default(D.flapping.maxConnects).describe('CONNECTs of one client id within windowMs above which it is banned.'),
  windowMs: positive(UINT32_MAX).default(D.flapping.windowMs).describe('Sliding window for maxConnects.'),
  banMs: positive(UINT32_MAX).default(D.flapping.banMs).describe('How long a flapping client id is refused (CONNACK 0x8A v5 / 0x05).'),
  maxTrackedClients: positive(UINT32_MAX).default(D.flapping.maxTrackedClients).describe('Client ids tracked at most.'),
});

const auth = z
  .strictObject({
    breakerFailures: positive(1000)
      .default(D.auth.breakerFailures)
      .describe('Consecutive failures (errors, timeouts) of the authentication backend that open its breaker; CONNECTs then get 0x88 at once.'),
    breakerOpenMs: positive(3_600_000).default(D.auth.breakerOpenMs).describe('How long the authentication breaker stays open before trial calls.'),
    allowAnonymous: z.boolean()
      .optional()
      .meta({
        description: 'Accept clients without a username. Unset: true when no users are configured, false otherwise.',
        defaultText: 'true without users, false with users',
      }),
    users: z.array(user).default([]).describe('Static users (username + scrypt password hash).'),
  })
  .superRefine((a, ctx) => {
    const seen = new Set<string>();
    a.users.forEach((u, i) => {
      if (seen.has(u.username)) {
        ctx.addIssue({ code: 'custom', path: ['users', i, 'username'], message: `duplicate username "${u.username}"` });
      }
      seen.add(u.username);
    });
  });

const tls = z
  .strictObject({
    port: port.default(8883).describe('TLS MQTT listener; only opened when certFile and keyFile are set. null/false disables.'),
    certFile: z.string().min(1).optional().meta({ description: 'PEM certificate chain file.', defaultText: 'none' }),
    keyFile: z.string().min(1).optional().meta({ description: 'PEM private key file.', defaultText: 'none' }),
    caFile: z.string().min(1).optional().meta({ description: 'PEM CA bundle used to verify client certificates.', defaultText: 'none' }),
    requestCert: z.boolean().default(false).describe('Ask clients for a certificate (verified against caFile).'),
  })
  .superRefine((t, ctx) => {
    if (t.certFile !== undefined && t.keyFile === undefined) {
      ctx.addIssue({ code: 'custom', path: ['keyFile'], message: 'required when certFile is set' });
    }
    if (t.keyFile !== undefined && t.certFile === undefined) {
      ctx.addIssue({ code: 'custom', path: ['certFile'], message: 'required when keyFile is set' });
    }
    if (t.certFile === undefined && t.keyFile === undefined) {
      if (t.caFile !== undefined) ctx.addIssue({ code: 'custom', path: ['caFile'], message: 'needs certFile and keyFile' });
      if (t.requestCert) ctx.addIssue({ code: 'custom', path: ['requestCert'], message: 'needs certFile and keyFile' });
    }
  });

const listeners = z.strictObject({
  bind: z.string().min(1).default('0.0.0.0').describe('Address every listener binds to (also the HTTP server).'),
  backlog: positive(65535).default(8192).describe('Accept queue length (connections) for listen(2); capped by net.core.somaxconn, so raise that too for connect storms.'),
  warmupConnections: uint(100_000)
    .default(2000)
    .describe('Loopback connections run through a throwaway broker at start, before the listeners open, so that a reconnect storm meets optimised code; 0 disables.'),
  mqtt: z.strictObject({ port: port.default(1883).describe('Plain MQTT over TCP. null/false disables.') }).prefault({}),
  ws: z
    .strictObject({
      port: port.default(8083).describe('MQTT over WebSocket. null/false disables.'),
      path: z.string().startsWith('/', 'must start with /').default('/mqtt').describe('HTTP path of the WebSocket endpoint.'),
    })
    .prefault({}),
  tls: tls.prefault({}),
});

/** The bounds of the broker's latency histograms (ms): a latency SLO threshold must be one of them. */
const LATENCY_THRESHOLDS_MS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] as const;

const observability = z.strictObject({
  metrics: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Serve Prometheus metrics on the HTTP server at /metrics.'),
    })
    .prefault({}),
  tracing: z
    .strictObject({
      otlpUrl: z.url({ protocol: /^https?$/ })
        .optional()
        .meta({
          description: 'OTLP/HTTP traces endpoint (e.g. http://collector:4318/v1/traces). Tracing is on only when set; spans are sent as OTLP/HTTP JSON.',
          defaultText: 'none (tracing off)',
        }),
      sampleRatio: z.number().min(0).max(1)
        .default(0.01)
        .describe('Fraction of devices traced, chosen by a hash of the client id (a device is traced consistently); errors are always traced.'),
      serviceName: z.string().min(1).default('holdfast').describe('service.name of the exported spans.'),
      exportTimeoutMs: positive(600_000).default(10_000).describe('Deadline of one export request to the collector.'),
      maxQueuedSpans: positive(1_000_000).default(2048).describe('Spans waiting for export or being exported at most; more are dropped (holdfast_trace_spans_total{outcome="dropped"}), the broker never waits.'),
    })
    .prefault({}),
  sys: z
    .strictObject({
      intervalS: uint(86_400).default(10).describe('Publish the classic $SYS/broker/... topics (retained, changed values only) every N seconds; 0 disables.'),
    })
    .prefault({}),
  logs: z
    .strictObject({
      maxLinesPerKindPerS: z.number().min(0).max(1_000_000)
        .default(10)
        .describe('Sustained log lines per second per kind of event (message); past it lines are dropped and counted. 0 disables the limit.'),
      burstLines: positive(1_000_000).default(100).describe('Lines of one kind written at once before the rate applies.'),
    })
    .prefault({}),
});

const sloObjective = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, 'lower case letters, digits, - and _ (max 40)').describe('Name (a metric label and an alert topic level).'),
  sli: z.enum(['availability', 'latency'])
    .describe('availability: accepted CONNECTs + acknowledged QoS 1/2 deliveries over attempts; latency: QoS 1/2 copies delivered within thresholdMs.'),
  objectivePercent: z.number().gt(0).lt(100).describe('Target share of good events, e.g. 99.99.'),
  thresholdMs: z.literal(LATENCY_THRESHOLDS_MS)
    .optional()
    .meta({ description: 'latency only: publish-to-deliver bound, one of the histogram bounds (0.1 ... 10000 ms).', defaultText: '`100` for latency' }),
  windowDays: positive(90).default(30).describe('Error budget window.'),
});

const burnRule = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, 'lower case letters, digits, - and _ (max 40)').describe('Alert name (an alert topic level).'),
  severity: z.enum(['page', 'ticket']).describe('How urgent: page (wake someone) or ticket.'),
  burnRate: z.number().positive().describe('Fires when the burn rate is at or above this over both windows.'),
  longWindowS: positive(90 * 86_400).describe('Long window.'),
  shortWindowS: positive(90 * 86_400).describe('Short window (resolves the alert quickly once the burn stops).'),
});

const slo = z.strictObject({
  enabled: z.boolean().default(true).describe('Run the SLO engine (GET /api/slo, `holdfast slo`, alerts).'),
  objectives: z.array(sloObjective)
    .default([
      { name: 'availability', sli: 'availability', objectivePercent: 99.99, windowDays: 30 },
      { name: 'latency', sli: 'latency', objectivePercent: 99, thresholdMs: 100, windowDays: 30 },
    ])
    .describe('The SLOs.'),
  alerts: z.array(burnRule)
    .default([
      { name: 'fast-burn', severity: 'page', burnRate: 14.4, longWindowS: 3600, shortWindowS: 300 },
      { name: 'medium-burn', severity: 'page', burnRate: 6, longWindowS: 21_600, shortWindowS: 1800 },
      { name: 'slow-burn', severity: 'ticket', burnRate: 1, longWindowS: 259_200, shortWindowS: 21_600 },
    ])
    .describe('Multi-window burn-rate alerts, evaluated for every SLO.'),
  evaluateIntervalS: positive(3600).default(10).describe('How often the SLIs are read and the alerts evaluated.'),
  persistIntervalS: positive(86_400).default(60).describe('How often the windows are saved to the store (and at stop), so that they survive a restart.'),
  alertTopicPrefix: z.string().min(1).regex(/^[^#+]*[^/#+]$/, 'a topic name without wildcards or a trailing /')
    .default('$holdfast/alerts')
    .describe('Alert state changes are published (retained, QoS 1) to PREFIX/{slo}/{alert}.'),
  webhook: z
    .strictObject({
      url: z.url({ protocol: /^https?$/ }).optional().meta({ description: 'POST each alert state change as JSON to this URL.', defaultText: 'none' }),
      timeoutMs: positive(600_000).default(5_000).describe('Deadline of one webhook request.'),
    })
    .prefault({}),
})
  .superRefine((v, ctx) => {
    const seen = new Set<string>();
    v.objectives.forEach((o, i) => {
      if (seen.has(o.name)) ctx.addIssue({ code: 'custom', path: ['objectives', i, 'name'], message: `duplicate SLO name "${o.name}"` });
      seen.add(o.name);
      if (o.sli === 'availability' && o.thresholdMs !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['objectives', i, 'thresholdMs'], message: 'only latency SLOs have a threshold' });
      }
    });
    const rules = new Set<string>();
    v.alerts.forEach((a, i) => {
      if (rules.has(a.name)) ctx.addIssue({ code: 'custom', path: ['alerts', i, 'name'], message: `duplicate alert name "${a.name}"` });
      rules.add(a.name);
      if (a.shortWindowS > a.longWindowS) ctx.addIssue({ code: 'custom', path: ['alerts', i, 'shortWindowS'], message: 'must not exceed longWindowS' });
    });
  });

export const configSchema = z.strictObject({
  mqtt: mqtt.prefault({}),
  session: session.prefault({}),
  limits: limits.prefault({}),
  acl: acl.prefault({}),
  auth: auth.prefault({}),
  admission: admission.prefault({}),
  overload: overload.prefault({}),
  clientLimits: clientLimits.prefault({}),
  flapping: flapping.prefault({}),
  listeners: listeners.prefault({}),
  http: z
    .strictObject({
      port: port.default(8080).describe('HTTP server: /livez, /readyz, /healthz, /metrics, /api/slo. null/false disables.'),
      tokens: z
        .array(
          z.strictObject({
            token: z.string().min(16, 'use at least 16 characters'),
            role: z.enum(['admin', 'read']).default('admin'),
          }),
        )
        .default([])
        .describe('Bearer tokens for /api (Authorization: Bearer TOKEN); read tokens cannot change anything. Without tokens the admin endpoints (bans) answer 401.'),
    })
    .prefault({}),
  observability: observability.prefault({}),
  slo: slo.prefault({}),
  // The sink kinds' own options are checked (and documented) with their adapters' schemas.
  bridges: createBridgesSchema({ nats: natsSinkConfigSchema, postgres: pgSinkConfigSchema }).prefault({}),
  platform: platform.prefault({}),
  dataDir: z.string().min(1).default('./data').describe('Directory for persistent state; created at start-up.'),
  store: z
    .strictObject({
      kind: z.enum(['sqlite', 'memory'])
        .default('sqlite')
        .describe('sqlite: sessions, queues and retained messages in dataDir/holdfast.db; memory: nothing survives a restart.'),
      durability: z.enum(['fsync', 'commit', 'none'])
        .default('commit')
        .describe('fsync: acknowledged messages survive power loss; commit: survive a crash of the process (kill -9); none: acknowledged before written (docs/persistence.md).'),
      retryMs: positive(600_000).default(1_000).describe('How often a failed store write is retried (the broker refuses QoS 1/2 meanwhile).'),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(LOG_LEVELS).default('info').describe('Least severe level written.'),
      format: z.enum(['auto', 'json', 'pretty'])
        .default('auto')
        .describe('auto: human-readable when stdout is a terminal, JSON lines otherwise.'),
    })
    .prefault({}),
  shutdown: shutdown.prefault({}),
  restart: restart.prefault({}),
  supervise: supervise.prefault({}),
  config: reloadConfig.prefault({}),
});

/** The validated config, every default filled in. */
export type HoldfastConfig = z.output<typeof configSchema>;
/** What a config file (or an override object) may contain. */
export type HoldfastConfigInput = z.input<typeof configSchema>;
