/**
 * The persistence port of the device platform (registry, credentials, presence, shadows,
 * commands). Separate from the broker's Store: different data, different access patterns
 * (queries with filters and cursors), same durability expectations. Adapters: memory and
 * sqlite (the same data dir, its own file `platform.db`). One shared test suite runs
 * against every adapter.
 *
 * Every write resolves once it is durable (one transaction per call, or grouped by the
 * adapter); every read sees every write that resolved before it.
 */

export interface DeviceRecord {
  /** Stable id: [A-Za-z0-9._:-], 1..128 chars; also the MQTT client id of the device. */
  readonly id: string;
  readonly type: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly enabled: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** What the server sees of a device's connection (kept on the record, updated by presence). */
export interface PresenceRecord {
  readonly deviceId: string;
  /** connected | disconnected | reconnecting (disconnected less than the grace period ago). */
  readonly state: 'connected' | 'disconnected' | 'reconnecting' | 'never';
  readonly since: number;
  readonly lastSeen: number;
  readonly remoteAddress: string | undefined;
  readonly protocolVersion: number | undefined;
  /** Why the last connection ended (a DisconnectCause) and its reason code. */
  readonly lastDisconnectCause: string | undefined;
  readonly lastDisconnectReasonCode: number | undefined;
  /** CONNECTs in the last minute (flapping is visible). */
  readonly connectsLastMinute: number;
}

export interface DeviceQuery {
  type?: string;
  /** Every label given must match exactly. */
  labels?: Record<string, string>;
  enabled?: boolean;
  /** Only devices whose presence state is this. */
  presence?: PresenceRecord['state'];
  /** Return devices with id > after (the cursor is the last id of the previous page). */
  after?: string;
  /** 1..1000. */
  limit: number;
}

export interface DevicePage {
  readonly items: DeviceRecord[];
  /** Pass as `after` for the next page; undefined when this was the last page. */
  readonly nextCursor: string | undefined;
}

export type CredentialKind = 'secret' | 'x509';

export interface CredentialRecord {
  readonly id: string;
  readonly deviceId: string;
  readonly kind: CredentialKind;
  /** secret: `scrypt$N$r$p$salt$hash` (the secret itself is shown once, never stored). */
  readonly secretHash?: string;
  /** x509: SHA-256 fingerprint (colon hex, upper case) or subject CN the certificate must have. */
  readonly fingerprint256?: string;
  readonly subjectCN?: string;
  readonly createdAt: number;
  /** After this (ms since epoch) the credential no longer authenticates (rotation overlap). */
  readonly expiresAt: number | undefined;
}

export interface ShadowRecord {
  readonly deviceId: string;
  readonly desired: Record<string, unknown>;
  readonly reported: Record<string, unknown>;
  /** Increases by one on every change of desired or reported. */
  readonly version: number;
  /** Per top-level key: when it was last set, ms since epoch. */
  readonly desiredTimestamps: Record<string, number>;
  readonly reportedTimestamps: Record<string, number>;
  readonly updatedAt: number;
}

export interface ShadowChange {
  readonly deviceId: string;
  readonly version: number;
  readonly at: number;
  readonly side: 'desired' | 'reported';
  /** The partial document applied (null deletes a key). */
  readonly patch: Record<string, unknown>;
  /** Who changed it: 'device', 'api', ... */
  readonly by: string;
}

export type CommandState = 'queued' | 'sent' | 'acked' | 'failed' | 'expired';

export interface CommandRecord {
  readonly id: string;
  readonly deviceId: string;
  /** Order within the device's queue. */
  readonly seq: number;
  readonly name: string;
  readonly payload: unknown;
  readonly state: CommandState;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Absolute deadline: not acked by then -> expired (queued) or failed/retried (sent). */
  readonly deadlineAt: number;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly result: unknown;
  readonly error: string | undefined;
}

export interface PlatformStore {
  readonly kind: string;
  open(): Promise<void>;
  close(): Promise<void>;

  putDevice(d: DeviceRecord): Promise<void>;
  getDevice(id: string): Promise<DeviceRecord | undefined>;
  /** Deletes the device with its credentials, presence, shadow (and history) and commands. */
  deleteDevice(id: string): Promise<boolean>;
  listDevices(q: DeviceQuery): Promise<DevicePage>;
  countDevices(): Promise<number>;

  putCredential(c: CredentialRecord): Promise<void>;
  deleteCredential(id: string): Promise<boolean>;
  credentialsOf(deviceId: string): Promise<CredentialRecord[]>;
  credentialsByFingerprint(fingerprint256: string): Promise<CredentialRecord[]>;
  credentialsBySubjectCN(subjectCN: string): Promise<CredentialRecord[]>;

  putPresence(p: PresenceRecord): Promise<void>;
  getPresence(deviceId: string): Promise<PresenceRecord | undefined>;

  getShadow(deviceId: string): Promise<ShadowRecord | undefined>;
  /**
   * Writes the shadow if the stored version is `expectedVersion` (0 = none stored yet);
   * returns false on a mismatch (optimistic concurrency). Appends `change` to the history,
   * keeping the last `historyLimit` changes.
   */
  putShadow(s: ShadowRecord, expectedVersion: number, change: ShadowChange, historyLimit: number): Promise<boolean>;
  shadowHistory(deviceId: string, limit: number): Promise<ShadowChange[]>;

  putCommand(c: CommandRecord): Promise<void>;
  getCommand(id: string): Promise<CommandRecord | undefined>;
  /** A device's commands in seq order, optionally only in these states, at most `limit`. */
  commandsOf(deviceId: string, states: readonly CommandState[] | undefined, limit: number): Promise<CommandRecord[]>;
  /** Commands in these states with deadlineAt <= before, at most `limit` (the expiry sweep). */
  commandsDue(states: readonly CommandState[], before: number, limit: number): Promise<CommandRecord[]>;
  /** The highest command seq of a device (0 if none): new commands continue after it. */
  lastCommandSeq(deviceId: string): Promise<number>;
  /** Devices with commands in one of these states (for delivery after a restart), at most `limit`. */
  devicesWithCommands(states: readonly CommandState[], limit: number): Promise<string[]>;
}
