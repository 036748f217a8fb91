/**
 * The device platform's services as the admin API, the CLI and the simulator see them.
 * Implementations live in src/platform/{devices,credentials,presence,shadows,commands};
 * they reach the broker only through its hooks and its server publish/subscribe API
 * (Broker.subscribeInternal, publishFromServer, connectedClient(s), disconnectClient).
 *
 * Errors are PlatformError (a HoldfastError) with these stable codes, which the admin API
 * maps to HTTP statuses:
 *   DEVICE_NOT_FOUND 404, DEVICE_EXISTS 409, CREDENTIAL_NOT_FOUND 404, INVALID_INPUT 400,
 *   SHADOW_VERSION_MISMATCH 409, SHADOW_TOO_LARGE 413, COMMAND_NOT_FOUND 404,
 *   COMMAND_QUEUE_FULL 429, CLIENT_NOT_CONNECTED 404
 */
import type {
  CommandRecord,
  CommandState,
  CredentialRecord,
  DevicePage,
  DeviceQuery,
  DeviceRecord,
  PresenceRecord,
  ShadowChange,
} from '../ports/platform-store.js';

export type PlatformErrorCode =
  | 'DEVICE_NOT_FOUND'
  | 'DEVICE_EXISTS'
  | 'CREDENTIAL_NOT_FOUND'
  | 'INVALID_INPUT'
  | 'SHADOW_VERSION_MISMATCH'
  | 'SHADOW_TOO_LARGE'
  | 'COMMAND_NOT_FOUND'
  | 'COMMAND_QUEUE_FULL'
  | 'CLIENT_NOT_CONNECTED';

export interface NewDevice {
  id: string;
  type: string;
  labels?: Record<string, string>;
  metadata?: Record<string, unknown>;
  enabled?: boolean;
}

export interface DevicePatch {
  type?: string;
  labels?: Record<string, string>;
  metadata?: Record<string, unknown>;
  enabled?: boolean;
}

export interface DeviceView extends DeviceRecord {
  presence: PresenceRecord | undefined;
}

export interface DeviceRegistry {
  create(d: NewDevice): Promise<DeviceRecord>;
  get(id: string): Promise<DeviceView>;
  update(id: string, patch: DevicePatch): Promise<DeviceRecord>;
  /** Disabling kicks a connected device (DISCONNECT 0x98 / close) and refuses its CONNECTs (0x87). */
  setEnabled(id: string, enabled: boolean): Promise<DeviceRecord>;
  delete(id: string): Promise<void>;
  list(q: DeviceQuery): Promise<DevicePage>;
}

export interface IssuedSecret {
  credential: CredentialRecord;
  /** Shown once: only its hash is stored. */
  secret: string;
}

export interface CredentialService {
  /** A new random secret; with `overlapS`, the device's older secrets keep working that long. */
  issueSecret(deviceId: string, opts?: { overlapS?: number }): Promise<IssuedSecret>;
  /** Maps an X.509 client certificate to the device, by SHA-256 fingerprint or subject CN. */
  addCertificate(deviceId: string, match: { fingerprint256?: string; subjectCN?: string }): Promise<CredentialRecord>;
  list(deviceId: string): Promise<CredentialRecord[]>;
  revoke(deviceId: string, credentialId: string): Promise<void>;
}

export interface ShadowDocument {
  deviceId: string;
  desired: Record<string, unknown>;
  reported: Record<string, unknown>;
  /** desired minus reported: keys whose desired value differs from the reported one. */
  delta: Record<string, unknown>;
  version: number;
  metadata: { desired: Record<string, number>; reported: Record<string, number> };
  updatedAt: number;
}

export interface ShadowService {
  get(deviceId: string): Promise<ShadowDocument>;
  /** Merges `patch` into desired (null deletes a key); `expectedVersion` for optimistic concurrency. */
  updateDesired(deviceId: string, patch: Record<string, unknown>, expectedVersion?: number, by?: string): Promise<ShadowDocument>;
  updateReported(deviceId: string, patch: Record<string, unknown>, expectedVersion?: number, by?: string): Promise<ShadowDocument>;
  history(deviceId: string, limit: number): Promise<ShadowChange[]>;
}

export interface NewCommand {
  name: string;
  payload?: unknown;
  /** Relative deadline; default from config. */
  timeoutMs?: number;
  maxAttempts?: number;
}

export interface CommandService {
  send(deviceId: string, cmd: NewCommand): Promise<CommandRecord>;
  get(commandId: string): Promise<CommandRecord>;
  list(deviceId: string, states?: readonly CommandState[], limit?: number): Promise<CommandRecord[]>;
  /** Resolves when the command reaches a final state (acked, failed, expired) or `waitMs` passes (then the current record). */
  wait(commandId: string, waitMs: number, signal?: AbortSignal): Promise<CommandRecord>;
}

export interface ConnectedClientView {
  clientId: string;
  username: string | undefined;
  protocolVersion: number;
  remoteAddress: string;
  listener: string;
}

/** What the admin API needs from the broker itself (clients, sessions, retained messages). */
export interface BrokerAdmin {
  clients(limit: number, after?: string): ConnectedClientView[];
  kick(clientId: string): boolean;
  sessions(limit: number, after?: string): { clientId: string; online: boolean; expiryIntervalS: number; queued: number; inflight: number; subscriptions: number }[];
  retained(filter: string, limit: number): { topic: string; payloadBase64: string; qos: number }[];
  deleteRetained(topic: string): boolean;
}

export interface Platform {
  devices: DeviceRegistry;
  credentials: CredentialService;
  shadows: ShadowService;
  commands: CommandService;
  broker: BrokerAdmin;
  start(): Promise<void>;
  stop(): Promise<void>;
}
