/**
 * Row shapes of platform.db and their conversion to the records of the platform store
 * port. JSON columns hold objects; `unknown` values (command payload and result) are
 * stored as JSON text, with SQL NULL standing for `undefined` (so null survives as null).
 */
import type {
  CommandRecord,
  CommandState,
  CredentialKind,
  CredentialRecord,
  DeviceRecord,
  PresenceRecord,
  ShadowChange,
  ShadowRecord,
} from '../../../ports/platform-store.js';

export interface DeviceRow {
  id: string;
  type: string;
  labels: string;
  metadata: string;
  enabled: number;
  created_at: number;
  updated_at: number;
}

export interface CredentialRow {
  id: string;
  device_id: string;
  kind: string;
  secret_hash: string | null;
  fingerprint256: string | null;
  subject_cn: string | null;
  created_at: number;
  expires_at: number | null;
}

export interface PresenceRow {
  device_id: string;
  state: string;
  since: number;
  last_seen: number;
  remote_address: string | null;
  protocol_version: number | null;
  last_cause: string | null;
  last_reason_code: number | null;
  connects_last_minute: number;
}

export interface ShadowRow {
  device_id: string;
  desired: string;
  reported: string;
  version: number;
  desired_ts: string;
  reported_ts: string;
  updated_at: number;
}

export interface HistoryRow {
  device_id: string;
  version: number;
  at: number;
  side: string;
  patch: string;
  by: string;
}

export interface CommandRow {
  id: string;
  device_id: string;
  seq: number;
  name: string;
  payload: string | null;
  state: string;
  created_at: number;
  updated_at: number;
  deadline_at: number;
  attempts: number;
  max_attempts: number;
  result: string | null;
  error: string | null;
}

const orUndefined = <T>(v: T | null): T | undefined => (v === null ? undefined : v);
const jsonOrNull = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v));
const parseOrUndefined = (v: string | null): unknown => (v === null ? undefined : JSON.parse(v));

export function deviceToRow(d: DeviceRecord): DeviceRow {
  return {
    id: d.id,
    type: d.type,
    labels: JSON.stringify(d.labels),
    metadata: JSON.stringify(d.metadata),
    enabled: d.enabled ? 1 : 0,
    created_at: d.createdAt,
    updated_at: d.updatedAt,
  };
}

export function deviceFromRow(r: DeviceRow): DeviceRecord {
  return {
    id: r.id,
    type: r.type,
    labels: JSON.parse(r.labels) as Record<string, string>,
    metadata: JSON.parse(r.metadata) as Record<string, unknown>,
    enabled: r.enabled === 1,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function credentialToRow(c: CredentialRecord): CredentialRow {
  return {
    id: c.id,
    device_id: c.deviceId,
    kind: c.kind,
    secret_hash: c.secretHash ?? null,
    fingerprint256: c.fingerprint256 ?? null,
    subject_cn: c.subjectCN ?? null,
    created_at: c.createdAt,
    expires_at: c.expiresAt ?? null,
  };
}

export function credentialFromRow(r: CredentialRow): CredentialRecord {
  const c: { -readonly [K in keyof CredentialRecord]: CredentialRecord[K] } = {
    id: r.id,
    deviceId: r.device_id,
    kind: r.kind as CredentialKind,
    createdAt: r.created_at,
    expiresAt: orUndefined(r.expires_at),
  };
  if (r.secret_hash !== null) c.secretHash = r.secret_hash;
  if (r.fingerprint256 !== null) c.fingerprint256 = r.fingerprint256;
  if (r.subject_cn !== null) c.subjectCN = r.subject_cn;
  return c;
}

export function presenceToRow(p: PresenceRecord): PresenceRow {
  return {
    device_id: p.deviceId,
    state: p.state,
    since: p.since,
    last_seen: p.lastSeen,
    remote_address: p.remoteAddress ?? null,
    protocol_version: p.protocolVersion ?? null,
    last_cause: p.lastDisconnectCause ?? null,
    last_reason_code: p.lastDisconnectReasonCode ?? null,
    connects_last_minute: p.connectsLastMinute,
  };
}

export function presenceFromRow(r: PresenceRow): PresenceRecord {
  return {
    deviceId: r.device_id,
    state: r.state as PresenceRecord['state'],
    since: r.since,
    lastSeen: r.last_seen,
    remoteAddress: orUndefined(r.remote_address),
    protocolVersion: orUndefined(r.protocol_version),
    lastDisconnectCause: orUndefined(r.last_cause),
    lastDisconnectReasonCode: orUndefined(r.last_reason_code),
    connectsLastMinute: r.connects_last_minute,
  };
}

export function shadowToRow(s: ShadowRecord): ShadowRow {
  return {
    device_id: s.deviceId,
    desired: JSON.stringify(s.desired),
    reported: JSON.stringify(s.reported),
    version: s.version,
    desired_ts: JSON.stringify(s.desiredTimestamps),
    reported_ts: JSON.stringify(s.reportedTimestamps),
    updated_at: s.updatedAt,
  };
}

export function shadowFromRow(r: ShadowRow): ShadowRecord {
  return {
    deviceId: r.device_id,
    desired: JSON.parse(r.desired) as Record<string, unknown>,
    reported: JSON.parse(r.reported) as Record<string, unknown>,
    version: r.version,
    desiredTimestamps: JSON.parse(r.desired_ts) as Record<string, number>,
    reportedTimestamps: JSON.parse(r.reported_ts) as Record<string, number>,
    updatedAt: r.updated_at,
  };
}

export function historyToRow(c: ShadowChange): HistoryRow {
  return { device_id: c.deviceId, version: c.version, at: c.at, side: c.side, patch: JSON.stringify(c.patch), by: c.by };
}

export function historyFromRow(r: HistoryRow): ShadowChange {
  return {
    deviceId: r.device_id,
    version: r.version,
    at: r.at,
    side: r.side as ShadowChange['side'],
    patch: JSON.parse(r.patch) as Record<string, unknown>,
    by: r.by,
  };
}

export function commandToRow(c: CommandRecord): CommandRow {
  return {
    id: c.id,
    device_id: c.deviceId,
    seq: c.seq,
    name: c.name,
    payload: jsonOrNull(c.payload),
    state: c.state,
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    deadline_at: c.deadlineAt,
    attempts: c.attempts,
    max_attempts: c.maxAttempts,
    result: jsonOrNull(c.result),
    error: c.error ?? null,
  };
}

export function commandFromRow(r: CommandRow): CommandRecord {
  return {
    id: r.id,
    deviceId: r.device_id,
    seq: r.seq,
    name: r.name,
    payload: parseOrUndefined(r.payload),
    state: r.state as CommandState,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    deadlineAt: r.deadline_at,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    result: parseOrUndefined(r.result),
    error: orUndefined(r.error),
  };
}
