/**
 * The in-memory PlatformStore: Maps, for tests and for `store.kind: memory`. Lists are
 * computed by scanning (fine for tests and small fleets; the sqlite adapter uses indexes).
 */
import type {
  CommandRecord,
  CommandState,
  CredentialRecord,
  DevicePage,
  DeviceQuery,
  DeviceRecord,
  PlatformStore,
  PresenceRecord,
  ShadowChange,
  ShadowRecord,
} from '../../../ports/platform-store.js';

export class MemoryPlatformStore implements PlatformStore {
  readonly kind = 'memory';
  private readonly devices = new Map<string, DeviceRecord>();
  private readonly credentials = new Map<string, CredentialRecord>();
  private readonly presence = new Map<string, PresenceRecord>();
  private readonly shadows = new Map<string, ShadowRecord>();
  private readonly history = new Map<string, ShadowChange[]>();
  private readonly commands = new Map<string, CommandRecord>();

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  async putDevice(d: DeviceRecord): Promise<void> {
    this.devices.set(d.id, clone(d));
  }

  async getDevice(id: string): Promise<DeviceRecord | undefined> {
    const d = this.devices.get(id);
    return d === undefined ? undefined : clone(d);
  }

  async deleteDevice(id: string): Promise<boolean> {
    if (!this.devices.delete(id)) return false;
    for (const [k, c] of this.credentials) if (c.deviceId === id) this.credentials.delete(k);
    this.presence.delete(id);
    this.shadows.delete(id);
    this.history.delete(id);
    for (const [k, c] of this.commands) if (c.deviceId === id) this.commands.delete(k);
    return true;
  }

  async listDevices(q: DeviceQuery): Promise<DevicePage> {
    const ids = [...this.devices.keys()].sort();
    const items: DeviceRecord[] = [];
    let more = false;
    for (const id of ids) {
      if (q.after !== undefined && id <= q.after) continue;
      const d = this.devices.get(id)!;
      if (q.type !== undefined && d.type !== q.type) continue;
      if (q.enabled !== undefined && d.enabled !== q.enabled) continue;
      if (q.labels !== undefined && Object.entries(q.labels).some(([k, v]) => d.labels[k] !== v)) continue;
      if (q.presence !== undefined && (this.presence.get(id)?.state ?? 'never') !== q.presence) continue;
      if (items.length === q.limit) {
        more = true;
        break;
      }
      items.push(clone(d));
    }
    return { items, nextCursor: more ? items[items.length - 1].id : undefined };
  }

  async countDevices(): Promise<number> {
    return this.devices.size;
  }

  async putCredential(c: CredentialRecord): Promise<void> {
    this.credentials.set(c.id, clone(c));
  }

  async deleteCredential(id: string): Promise<boolean> {
    return this.credentials.delete(id);
  }

  async credentialsOf(deviceId: string): Promise<CredentialRecord[]> {
    return [...this.credentials.values()].filter((c) => c.deviceId === deviceId).map(clone);
  }

  async credentialsByFingerprint(fp: string): Promise<CredentialRecord[]> {
    return [...this.credentials.values()].filter((c) => c.fingerprint256 === fp).map(clone);
  }

  async credentialsBySubjectCN(cn: string): Promise<CredentialRecord[]> {
    return [...this.credentials.values()].filter((c) => c.subjectCN === cn).map(clone);
  }

  async putPresence(p: PresenceRecord): Promise<void> {
    this.presence.set(p.deviceId, clone(p));
  }

  async getPresence(deviceId: string): Promise<PresenceRecord | undefined> {
    const p = this.presence.get(deviceId);
    return p === undefined ? undefined : clone(p);
  }

  async getShadow(deviceId: string): Promise<ShadowRecord | undefined> {
    const s = this.shadows.get(deviceId);
    return s === undefined ? undefined : clone(s);
  }

  async putShadow(s: ShadowRecord, expectedVersion: number, change: ShadowChange, historyLimit: number): Promise<boolean> {
    const current = this.shadows.get(s.deviceId)?.version ?? 0;
    if (current !== expectedVersion) return false;
    this.shadows.set(s.deviceId, clone(s));
    const h = this.history.get(s.deviceId) ?? [];
    h.push(clone(change));
    while (h.length > historyLimit) h.shift();
    this.history.set(s.deviceId, h);
    return true;
  }

  async shadowHistory(deviceId: string, limit: number): Promise<ShadowChange[]> {
    const h = this.history.get(deviceId) ?? [];
    return h.slice(Math.max(0, h.length - limit)).reverse().map(clone);
  }

  async putCommand(c: CommandRecord): Promise<void> {
    this.commands.set(c.id, clone(c));
  }

  async getCommand(id: string): Promise<CommandRecord | undefined> {
    const c = this.commands.get(id);
    return c === undefined ? undefined : clone(c);
  }

  async commandsOf(deviceId: string, states: readonly CommandState[] | undefined, limit: number): Promise<CommandRecord[]> {
    return [...this.commands.values()]
      .filter((c) => c.deviceId === deviceId && (states === undefined || states.includes(c.state)))
      .sort((a, b) => a.seq - b.seq)
      .slice(0, limit)
      .map(clone);
  }

  async commandsDue(states: readonly CommandState[], before: number, limit: number): Promise<CommandRecord[]> {
    return [...this.commands.values()]
      .filter((c) => states.includes(c.state) && c.deadlineAt <= before)
      .sort((a, b) => a.deadlineAt - b.deadlineAt)
      .slice(0, limit)
      .map(clone);
  }

  async lastCommandSeq(deviceId: string): Promise<number> {
    let max = 0;
    for (const c of this.commands.values()) if (c.deviceId === deviceId && c.seq > max) max = c.seq;
    return max;
  }

  async devicesWithCommands(states: readonly CommandState[], limit: number): Promise<string[]> {
    const out = new Set<string>();
    for (const c of this.commands.values()) {
      if (out.size >= limit) break;
      if (states.includes(c.state)) out.add(c.deviceId);
    }
    return [...out];
  }
}

/** Records are values: the store never hands out or keeps a caller's object. */
function clone<T>(v: T): T {
  return structuredClone(v);
}
