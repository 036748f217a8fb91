/**
 * An in-memory fake of the Platform interfaces, ONLY for the unit tests of the admin API's
 * routing, validation, auth and error mapping. The integration tests
 * (test/integration/api-*.test.ts) run against the real services.
 */
import { PlatformError } from '../../../../src/platform/errors.js';
import type { CommandService, DeviceRegistry, Platform, ShadowDocument } from '../../../../src/platform/contracts.js';
import type { CommandRecord, CredentialRecord, DeviceRecord } from '../../../../src/ports/platform-store.js';

export interface FakePlatform extends Platform {
  calls: { method: string; args: unknown[] }[];
  /** Resolves pending waits of this command with its record in this state. */
  settle(commandId: string, state: CommandRecord['state']): void;
}

export function fakePlatform(): FakePlatform {
  const calls: FakePlatform['calls'] = [];
  const devs = new Map<string, DeviceRecord>();
  const creds = new Map<string, CredentialRecord>();
  const cmds = new Map<string, CommandRecord>();
  const waiters = new Map<string, ((c: CommandRecord) => void)[]>();
  const retained = new Map<string, Buffer>([['a/b', Buffer.from('x')]]);
  const clients = new Set(['c1', 'c2', 'c3']);
  let n = 0;
  const log = (method: string, ...args: unknown[]): void => void calls.push({ method, args });
  const must = (id: string): DeviceRecord => {
    const d = devs.get(id);
    if (d === undefined) throw new PlatformError('DEVICE_NOT_FOUND', `no device ${id}`);
    return d;
  };
  const devices: DeviceRegistry = {
    async create(d) {
      log('devices.create', d);
      if (devs.has(d.id)) throw new PlatformError('DEVICE_EXISTS', `device ${d.id} exists`);
      const r: DeviceRecord = { id: d.id, type: d.type, labels: d.labels ?? {}, metadata: d.metadata ?? {}, enabled: d.enabled ?? true, createdAt: 1, updatedAt: 1 };
      devs.set(d.id, r);
      return r;
    },
    async get(id) {
      return { ...must(id), presence: undefined };
    },
    async update(id, patch) {
      log('devices.update', id, patch);
      const r = { ...must(id), ...patch, updatedAt: 2 };
      devs.set(id, r);
      return r;
    },
    async setEnabled(id, enabled) {
      log('devices.setEnabled', id, enabled);
      const r = { ...must(id), enabled };
      devs.set(id, r);
      return r;
    },
    async delete(id) {
      must(id);
      devs.delete(id);
    },
    async list(q) {
      log('devices.list', q);
      const all = [...devs.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).filter((d) => q.after === undefined || d.id > q.after);
      const items = all.slice(0, q.limit);
      return { items, nextCursor: all.length > q.limit ? items[items.length - 1]!.id : undefined };
    },
  };
  const shadowOf = (deviceId: string, desired: Record<string, unknown> = {}): ShadowDocument => ({
    deviceId,
    desired,
    reported: {},
    delta: desired,
    version: 1,
    metadata: { desired: {}, reported: {} },
    updatedAt: 1,
  });
  const commands: CommandService = {
    async send(deviceId, c) {
      log('commands.send', deviceId, c);
      must(deviceId);
      const r: CommandRecord = {
        id: `cmd-${++n}`,
        deviceId,
        seq: n,
        name: c.name,
        payload: c.payload,
        state: 'queued',
        createdAt: 1,
        updatedAt: 1,
        deadlineAt: 2,
        attempts: 0,
        maxAttempts: c.maxAttempts ?? 3,
        result: undefined,
        error: undefined,
      };
      cmds.set(r.id, r);
      return r;
    },
    async get(id) {
      const c = cmds.get(id);
      if (c === undefined) throw new PlatformError('COMMAND_NOT_FOUND', `no command ${id}`);
      return c;
    },
    async list(deviceId, states, limit) {
      log('commands.list', deviceId, states, limit);
      return [...cmds.values()].filter((c) => c.deviceId === deviceId);
    },
    wait(id, waitMs, signal) {
      log('commands.wait', id, waitMs);
      const c = cmds.get(id);
      if (c === undefined) return Promise.reject(new PlatformError('COMMAND_NOT_FOUND', `no command ${id}`));
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => resolve(cmds.get(id)!), waitMs);
        signal?.addEventListener('abort', () => {
          clearTimeout(t);
          reject(signal.reason);
        });
        waiters.set(id, [...(waiters.get(id) ?? []), (r) => (clearTimeout(t), resolve(r))]);
      });
    },
  };
  return {
    calls,
    settle(id, state) {
      const r = { ...cmds.get(id)!, state };
      cmds.set(id, r);
      for (const w of waiters.get(id) ?? []) w(r);
      waiters.delete(id);
    },
    devices,
    credentials: {
      async issueSecret(deviceId, opts) {
        log('credentials.issueSecret', deviceId, opts);
        must(deviceId);
        const c: CredentialRecord = { id: `cred-${++n}`, deviceId, kind: 'secret', secretHash: 'scrypt$1$1$1$c2FsdA==$aGFzaA==', createdAt: 1, expiresAt: undefined };
        creds.set(c.id, c);
        return { credential: c, secret: 'the-secret' };
      },
      async addCertificate(deviceId, match) {
        log('credentials.addCertificate', deviceId, match);
        must(deviceId);
        const c: CredentialRecord = { id: `cred-${++n}`, deviceId, kind: 'x509', ...match, createdAt: 1, expiresAt: undefined };
        creds.set(c.id, c);
        return c;
      },
      async list(deviceId) {
        must(deviceId);
        return [...creds.values()].filter((c) => c.deviceId === deviceId);
      },
      async revoke(deviceId, credId) {
        must(deviceId);
        if (creds.get(credId)?.deviceId !== deviceId) throw new PlatformError('CREDENTIAL_NOT_FOUND', `no credential ${credId}`);
        creds.delete(credId);
      },
    },
    shadows: {
      async get(id) {
        must(id);
        return shadowOf(id);
      },
      async updateDesired(id, patch, expectedVersion, by) {
        log('shadows.updateDesired', id, patch, expectedVersion, by);
        must(id);
        if (expectedVersion !== undefined && expectedVersion !== 1) throw new PlatformError('SHADOW_VERSION_MISMATCH', 'version is 1');
        if (JSON.stringify(patch).length > 1000) throw new PlatformError('SHADOW_TOO_LARGE', 'too large');
        return shadowOf(id, patch);
      },
      async updateReported(id) {
        return shadowOf(id);
      },
      async history(id, limit) {
        log('shadows.history', id, limit);
        must(id);
        return [];
      },
    },
    commands,
    broker: {
      clients(limit, after) {
        return [...clients]
          .filter((c) => after === undefined || c > after)
          .slice(0, limit)
          .map((clientId) => ({ clientId, username: undefined, protocolVersion: 5, remoteAddress: '127.0.0.1', listener: 'mqtt' }));
      },
      kick(id) {
        return clients.delete(id);
      },
      sessions() {
        return [];
      },
      retained(filter, limit) {
        log('broker.retained', filter, limit);
        return [...retained].map(([topic, p]) => ({ topic, payloadBase64: p.toString('base64'), qos: 0 }));
      },
      deleteRetained(topic) {
        log('broker.deleteRetained', topic);
        return retained.delete(topic);
      },
    },
    async start() {},
    async stop() {},
  };
}
