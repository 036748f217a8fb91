/**
 * The admin API's data shapes as zod schemas: inputs are validated with them (strict:
 * unknown keys are errors) and /api/openapi.json is generated from them, so the document
 * and the checks cannot drift. Outputs are described here for the document; integration
 * tests parse real responses with them.
 */
import { z } from 'zod';
import { isValidTopicFilter, isValidTopicName } from '../../broker/routing/topic.js';

/** Device ids (platform brief): also MQTT client ids. */
export const DEVICE_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
/** Device types go into ACL topic templates (`{type}`): no `/`, `+`, `#`. */
const TYPE_RE = /^[A-Za-z0-9._:-]{1,64}$/;
const LABEL_KEY_RE = /^[A-Za-z0-9._-]{1,64}$/;
const MAX_LABELS = 64;
const MAX_LABEL_VALUE = 256;

export const DeviceId = z
  .string()
  .regex(DEVICE_ID_RE, 'a device id is 1-128 characters of A-Z a-z 0-9 . _ : -')
  .meta({ description: 'Device id, also its MQTT client id.', example: 'meter-0001' });
export const DeviceType = z.string().regex(TYPE_RE, 'a device type is 1-64 characters of A-Z a-z 0-9 . _ : -');
export const Labels = z
  .record(z.string().regex(LABEL_KEY_RE, 'a label key is 1-64 characters of A-Z a-z 0-9 . _ -'), z.string().max(MAX_LABEL_VALUE))
  .refine((r) => Object.keys(r).length <= MAX_LABELS, `at most ${MAX_LABELS} labels`)
  .meta({ description: 'Exact-match labels, e.g. {"site": "north"}.' });
const JsonObject = z.record(z.string(), z.unknown());
const Metadata = JsonObject.meta({ description: 'Free-form JSON object.' });
const CommandId = z.string().min(1).max(128);
const CredentialId = z.string().min(1).max(128);
const ClientId = z.string().min(1).max(65_535);

// ---- inputs -------------------------------------------------------------------------------

export const DeviceParams = z.strictObject({ id: DeviceId });
export const CredentialParams = z.strictObject({ id: DeviceId, credId: CredentialId });
export const CommandParams = z.strictObject({ id: CommandId });
export const ClientParams = z.strictObject({ id: ClientId });
export const RetainedParams = z.strictObject({
  '*': z
    .string()
    .refine((t) => isValidTopicName(t), 'a topic name: at least one character, no + or #')
    .meta({ description: 'The retained message topic (slashes may be given as is or URL-encoded).' }),
});

export const NewDeviceBody = z.strictObject({
  id: DeviceId,
  type: DeviceType,
  labels: Labels.optional(),
  metadata: Metadata.optional(),
  enabled: z.boolean().optional().meta({ description: 'Default true.' }),
});

export const DevicePatchBody = z
  .strictObject({ type: DeviceType.optional(), labels: Labels.optional(), metadata: Metadata.optional(), enabled: z.boolean().optional() })
  .refine((p) => Object.keys(p).length > 0, 'give at least one of type, labels, metadata, enabled');

/** `?x` for booleans in query strings. */
const QueryBool = z.enum(['true', 'false']).transform((v) => v === 'true');
const limitQuery = (max: number, dflt: number) =>
  z.coerce.number().int().min(1).max(max).default(dflt).meta({ description: `Page size, 1-${max} (default ${dflt}).` });
/** One or more `label=key:value` pairs. */
const LabelFilter = z
  .union([z.string(), z.array(z.string())])
  .transform((v, ctx) => {
    const out: Record<string, string> = {};
    for (const pair of Array.isArray(v) ? v : [v]) {
      const at = pair.indexOf(':');
      const key = at < 0 ? '' : pair.slice(0, at);
      if (!LABEL_KEY_RE.test(key)) {
        ctx.addIssue({ code: 'custom', message: `label filter "${pair}" is not key:value` });
        return z.NEVER;
      }
      out[key] = pair.slice(at + 1);
    }
    return out;
  })
  .meta({ description: 'key:value, repeatable; every label given must match.' });

export const PresenceState = z.enum(['connected', 'disconnected', 'reconnecting', 'never']);

export const ListDevicesQuery = z.strictObject({
  type: DeviceType.optional(),
  label: LabelFilter.optional(),
  enabled: QueryBool.optional(),
  presence: PresenceState.optional(),
  cursor: DeviceId.optional().meta({ description: 'nextCursor of the previous page.' }),
  limit: limitQuery(1000, 100),
});

export const IssueSecretBody = z
  .strictObject({
    overlapS: z
      .number()
      .int()
      .min(0)
      .max(30 * 86_400)
      .optional()
      .meta({ description: 'The older secrets keep working this long (seconds, at most 30 days).' }),
  })
  .optional();

const FINGERPRINT_RE = /^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{64}$/;
export const AddCertificateBody = z
  .strictObject({
    fingerprint256: z
      .string()
      .regex(FINGERPRINT_RE, 'a SHA-256 fingerprint: 64 hex digits, with or without colons')
      .optional(),
    subjectCN: z.string().min(1).max(256).optional(),
  })
  .refine((b) => (b.fingerprint256 === undefined) !== (b.subjectCN === undefined), 'give exactly one of fingerprint256, subjectCN');

export const UpdateDesiredBody = z.strictObject({
  desired: JsonObject.meta({ description: 'Merged into desired; null deletes a key.' }),
  version: z.number().int().min(0).optional().meta({ description: 'Expected shadow version (optimistic concurrency): 409 on mismatch.' }),
});

export const HistoryQuery = z.strictObject({ limit: limitQuery(1000, 50) });

export const CommandState = z.enum(['queued', 'sent', 'acked', 'failed', 'expired']);

export const waitQuery = (maxWaitMs: number) =>
  z.coerce
    .number()
    .int()
    .min(0)
    .max(maxWaitMs)
    .optional()
    .meta({ description: `Long-poll: wait up to this long (ms, at most ${maxWaitMs}) for a final state (acked, failed, expired).` });

export const SendCommandBody = z.strictObject({
  name: z.string().min(1).max(128),
  payload: z.unknown().optional().meta({ description: 'Any JSON value.' }),
  timeoutMs: z.number().int().min(1).max(30 * 86_400_000).optional().meta({ description: 'Deadline relative to now; default from the config.' }),
  maxAttempts: z.number().int().min(1).max(100).optional(),
});

export const ListCommandsQuery = z.strictObject({
  state: z
    .union([CommandState, z.array(CommandState)])
    .transform((v) => (Array.isArray(v) ? v : [v]))
    .optional()
    .meta({ description: 'Only commands in this state; repeatable.' }),
  limit: limitQuery(1000, 100),
});

export const PageQuery = z.strictObject({ after: z.string().min(1).optional().meta({ description: 'nextCursor of the previous page.' }), limit: limitQuery(1000, 100) });

export const RetainedQuery = z.strictObject({
  filter: z
    .string()
    .refine((f) => isValidTopicFilter(f) && !f.startsWith('$share/'), 'a topic filter (MQTT-4.7.1-2, MQTT-4.7.1-3)')
    .default('#')
    .meta({ description: 'Topic filter, default # (which does not match $-topics: MQTT-4.7.2-1).' }),
  limit: limitQuery(1000, 100),
});

// ---- outputs (documentation; checked against real responses in tests) ---------------------

export const ErrorBody = z
  .object({
    error: z.string().meta({ description: 'Stable code, e.g. INVALID_INPUT, DEVICE_NOT_FOUND.' }),
    message: z.string(),
    details: z.array(z.object({ path: z.string(), problem: z.string() })).optional(),
  })
  .meta({ id: 'Error' });

export const Device = z
  .object({
    id: z.string(),
    type: z.string(),
    labels: z.record(z.string(), z.string()),
    metadata: JsonObject,
    enabled: z.boolean(),
    createdAt: z.number().meta({ description: 'ms since epoch' }),
    updatedAt: z.number(),
  })
  .meta({ id: 'Device' });

export const Presence = z
  .object({
    deviceId: z.string(),
    state: PresenceState,
    since: z.number(),
    lastSeen: z.number(),
    remoteAddress: z.string().optional(),
    protocolVersion: z.number().optional(),
    lastDisconnectCause: z.string().optional(),
    lastDisconnectReasonCode: z.number().optional(),
    connectsLastMinute: z.number(),
  })
  .meta({ id: 'Presence' });

export const DeviceView = Device.extend({ presence: Presence.optional() }).meta({ id: 'DeviceView' });
export const DevicePage = z.object({ items: z.array(Device), nextCursor: z.string().optional() }).meta({ id: 'DevicePage' });

export const Credential = z
  .object({
    id: z.string(),
    deviceId: z.string(),
    kind: z.enum(['secret', 'x509']),
    fingerprint256: z.string().optional(),
    subjectCN: z.string().optional(),
    createdAt: z.number(),
    expiresAt: z.number().optional(),
  })
  .meta({ id: 'Credential', description: 'A credential; secret hashes are never returned.' });
export const IssuedSecret = z
  .object({ credential: Credential, secret: z.string().meta({ description: 'Shown once; only its hash is stored.' }) })
  .meta({ id: 'IssuedSecret' });

export const Shadow = z
  .object({
    deviceId: z.string(),
    desired: JsonObject,
    reported: JsonObject,
    delta: JsonObject,
    version: z.number(),
    metadata: z.object({ desired: z.record(z.string(), z.number()), reported: z.record(z.string(), z.number()) }),
    updatedAt: z.number(),
  })
  .meta({ id: 'Shadow' });
export const ShadowChange = z
  .object({ deviceId: z.string(), version: z.number(), at: z.number(), side: z.enum(['desired', 'reported']), patch: JsonObject, by: z.string() })
  .meta({ id: 'ShadowChange' });

export const Command = z
  .object({
    id: z.string(),
    deviceId: z.string(),
    seq: z.number(),
    name: z.string(),
    // Absent when the command was sent without one / before the device answered.
    payload: z.unknown().optional(),
    state: CommandState,
    createdAt: z.number(),
    updatedAt: z.number(),
    deadlineAt: z.number(),
    attempts: z.number(),
    maxAttempts: z.number(),
    result: z.unknown().optional(),
    error: z.string().optional(),
  })
  .meta({ id: 'Command' });

export const ConnectedClient = z
  .object({ clientId: z.string(), username: z.string().optional(), protocolVersion: z.number(), remoteAddress: z.string(), listener: z.string() })
  .meta({ id: 'ConnectedClient' });
export const SessionView = z
  .object({
    clientId: z.string(),
    online: z.boolean(),
    expiryIntervalS: z.number(),
    queued: z.number(),
    inflight: z.number(),
    subscriptions: z.number(),
  })
  .meta({ id: 'Session' });
export const RetainedMessage = z
  .object({ topic: z.string(), payloadBase64: z.string(), qos: z.number() })
  .meta({ id: 'RetainedMessage' });

export const itemsOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().optional() });
