/**
 * The `platform:` section of the config file: the device platform (issue 5). Each part of
 * the platform adds its keys here (auth, acl, presence: registry/credentials/presence
 * engineer; shadows, commands: theirs). docs/configuration.md is generated from it.
 */
import { z } from 'zod';
import { isValidTopicFilter } from '../../broker/routing/index.js';

const positive = (max: number) => z.int().min(1).max(max);
const uint = (max: number) => z.int().min(0).max(max);

const jwt = z
  .strictObject({
    algorithm: z.enum(['HS256', 'RS256', 'ES256']).describe('Signature algorithm of the device tokens (the header alg must be this one).'),
    secret: z.string().min(32, 'use at least 32 characters (RFC 7518 3.2)').optional()
      .meta({ description: 'HS256: the shared secret.', defaultText: 'none' }),
    publicKeyFile: z.string().min(1).optional()
      .meta({ description: 'RS256 / ES256: PEM file of the public key (SPKI) or a certificate holding it.', defaultText: 'none' }),
    issuer: z.string().min(1).optional().meta({ description: 'When set, the token iss must be this.', defaultText: 'none' }),
    audience: z.string().min(1).optional().meta({ description: 'When set, the token aud must be or contain this.', defaultText: 'none' }),
    leewayS: uint(3600).default(30).describe('Clock skew allowed on exp and nbf (seconds).'),
    requireExp: z.boolean().default(true).describe('Refuse tokens without exp.'),
  })
  .superRefine((v, ctx) => {
    if (v.algorithm === 'HS256') {
      if (v.secret === undefined) ctx.addIssue({ code: 'custom', path: ['secret'], message: 'HS256 needs secret' });
      if (v.publicKeyFile !== undefined) ctx.addIssue({ code: 'custom', path: ['publicKeyFile'], message: 'HS256 uses secret, not a public key' });
    } else {
      if (v.publicKeyFile === undefined) ctx.addIssue({ code: 'custom', path: ['publicKeyFile'], message: `${v.algorithm} needs publicKeyFile` });
      if (v.secret !== undefined) ctx.addIssue({ code: 'custom', path: ['secret'], message: `${v.algorithm} uses publicKeyFile, not a secret` });
    }
  });

const platformAuth = z.strictObject({
  jwt: jwt.optional().meta({
    description: 'Accept JWTs as the CONNECT password (sub = client id = device id). Absent: JWT is off.',
    defaultText: 'off',
  }),
  requireDevice: z.boolean()
    .default(true)
    .describe('A JWT subject must be a registered device; false accepts valid tokens for unregistered ids (device ACL, no presence).'),
  secretCacheTtlMs: uint(3_600_000)
    .default(60_000)
    .describe('How long a verified device secret is remembered (skips scrypt on reconnects); 0 disables the cache.'),
  secretCacheMaxEntries: uint(10_000_000).default(10_000).describe('Verified secrets remembered at most (LRU).'),
  maxConcurrentHashes: positive(256).default(4).describe('scrypt verifications running at once (each ~16 MiB, tens of ms).'),
  maxWaitingHashes: uint(1_000_000).default(1000).describe('CONNECTs waiting for a verification at most; beyond it CONNACK 0x88.'),
});

const aclTemplate = z
  .strictObject({
    action: z.enum(['publish', 'subscribe', 'all']).default('all').describe('What the template governs.'),
    topic: z.string().min(1).describe('Topic filter; {deviceId} and {type} stand for the device id and type.'),
    allow: z.boolean().default(true).describe('Allow (true) or deny (false) what matches.'),
  })
  .superRefine((t, ctx) => {
    for (const m of t.topic.matchAll(/\{([^}]*)\}/g)) {
      if (m[1] !== 'deviceId' && m[1] !== 'type') {
        ctx.addIssue({ code: 'custom', path: ['topic'], message: `unknown placeholder {${m[1]}}: use {deviceId} or {type}` });
      }
    }
    if (!isValidTopicFilter(t.topic.replaceAll('{deviceId}', 'd').replaceAll('{type}', 't'))) {
      ctx.addIssue({ code: 'custom', path: ['topic'], message: 'not a valid topic filter' });
    }
  });

const platformAcl = z.strictObject({
  templates: z.array(aclTemplate)
    .default([])
    .describe('Rules for devices only, before the static acl.rules; first match decides, no match goes on to acl.rules. E.g. allow publish devices/{deviceId}/#, then deny publish #.'),
});

const platformPresence = z.strictObject({
  graceMs: uint(3_600_000)
    .default(10_000)
    .describe('A lost connection is "reconnecting" this long before it is "disconnected"; a reconnect within it is not a disconnect. 0: no grace.'),
  maxPendingWrites: positive(10_000_000).default(100_000).describe('Devices with a presence record waiting to be stored, at most; beyond it writes are dropped and counted.'),
});

const platformShadows = z.strictObject({
  maxBytes: positive(16 * 1024 * 1024).default(8192).describe('Cap of each shadow document (desired, reported) as JSON (bytes).'),
  historyLimit: uint(10_000).default(10).describe('Changes kept in each shadow history.'),
});

const platformCommands = z.strictObject({
  defaultTimeoutMs: positive(86_400_000)
    .default(30_000)
    .describe('Deadline of a command when none is given: to be sent by then, and per attempt to be acknowledged.'),
  maxAttempts: positive(100).default(3).describe('Sends of a command before it fails.'),
  window: positive(1000).default(1).describe('Commands in flight (sent, not acknowledged) per device; 1 = strictly one after the other.'),
  maxQueuedPerDevice: positive(1_000_000).default(100).describe('Queued + in-flight commands per device; beyond it a new one is refused (429).'),
  retryBackoffMs: positive(3_600_000)
    .default(1_000)
    .describe('A command that reached no subscriber (device connected, not subscribed yet) is tried again after this.'),
});

export const platform = z.strictObject({
  enabled: z.boolean().default(true).describe('Device registry, per-device auth and ACL, presence, shadows and commands.'),
  auth: platformAuth.prefault({}),
  acl: platformAcl.prefault({}),
  presence: platformPresence.prefault({}),
  shadows: platformShadows.prefault({}),
  commands: platformCommands.prefault({}),
});
