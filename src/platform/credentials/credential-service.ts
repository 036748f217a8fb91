/**
 * Device credentials (issue 5):
 *
 * - Secrets: 32 random bytes (crypto.randomBytes) as base64url, shown once; only the scrypt
 *   hash is stored (src/platform/auth/password-hash.ts). Issuing a new secret is rotation:
 *   with `overlapS` > 0 the device's other secrets keep working until now + overlapS (an
 *   earlier expiry is kept), without it they are revoked at once. Secrets that already
 *   expired are removed when a new one is issued.
 * - X.509: a certificate is mapped to a device by its SHA-256 fingerprint (normalized to
 *   Node's upper-case colon hex) and/or its subject CN (both given: both must match). A
 *   fingerprint or CN maps to one device only. How the auth hook uses them is in
 *   src/platform/device-auth/device-auth.ts (a CN counts only for CA-verified certificates).
 * - Records handed out (issueSecret, addCertificate, list) never carry the secret hash.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '../../ports/clock.js';
import type { CredentialRecord, PlatformStore } from '../../ports/platform-store.js';
import { DEFAULT_SCRYPT_PARAMS, hashPassword, type ScryptParams } from '../auth/index.js';
import type { CredentialService, IssuedSecret } from '../contracts.js';
import { KeyedMutex } from '../devices/keyed-mutex.js';
import { checkDeviceId } from '../devices/validation.js';
import { PlatformError } from '../errors.js';
import { normalizeFingerprint256 } from './fingerprint.js';

export interface CredentialServiceDeps {
  store: PlatformStore;
  clock: Clock;
  /** Share the registry's so that both serialize per device. */
  locks?: KeyedMutex;
  /** scrypt cost of new secrets (default N=16384, r=8, p=1). */
  scryptParams?: ScryptParams;
}

export const SECRET_BYTES = 32;
/** Longest rotation overlap accepted: 30 days. */
export const MAX_OVERLAP_S = 30 * 24 * 3600;
const MAX_CN_CHARS = 256;

/** What callers see of a credential: never the hash. */
function publicView(c: CredentialRecord): CredentialRecord {
  if (c.secretHash === undefined) return c;
  const { secretHash: _hash, ...rest } = c;
  return rest;
}

export class CredentialServiceImpl implements CredentialService {
  private readonly store: PlatformStore;
  private readonly clock: Clock;
  private readonly locks: KeyedMutex;
  private readonly scryptParams: ScryptParams;

  constructor(deps: CredentialServiceDeps) {
    this.store = deps.store;
    this.clock = deps.clock;
    this.locks = deps.locks ?? new KeyedMutex();
    this.scryptParams = deps.scryptParams ?? DEFAULT_SCRYPT_PARAMS;
  }

  async issueSecret(deviceId: string, opts: { overlapS?: number } = {}): Promise<IssuedSecret> {
    checkDeviceId(deviceId);
    const overlapS = opts.overlapS ?? 0;
    if (typeof overlapS !== 'number' || !Number.isInteger(overlapS) || overlapS < 0 || overlapS > MAX_OVERLAP_S) {
      throw new PlatformError('INVALID_INPUT', `overlapS must be an integer from 0 to ${MAX_OVERLAP_S} seconds`, {
        details: { field: 'overlapS' },
      });
    }
    const secret = randomBytes(SECRET_BYTES).toString('base64url');
    const secretHash = await hashPassword(secret, this.scryptParams);
    return this.locks.run(deviceId, async () => {
      await this.mustExist(deviceId);
      const now = this.clock.now();
      const credential: CredentialRecord = {
        id: randomUUID(),
        deviceId,
        kind: 'secret',
        secretHash,
        createdAt: now,
        expiresAt: undefined,
      };
      await this.store.putCredential(credential);
      const until = now + overlapS * 1000;
      for (const old of await this.store.credentialsOf(deviceId)) {
        if (old.kind !== 'secret' || old.id === credential.id) continue;
        const expired = old.expiresAt !== undefined && old.expiresAt <= now;
        if (overlapS === 0 || expired) await this.store.deleteCredential(old.id);
        else if (old.expiresAt === undefined || old.expiresAt > until) await this.store.putCredential({ ...old, expiresAt: until });
      }
      return { credential: publicView(credential), secret };
    });
  }

  async addCertificate(deviceId: string, match: { fingerprint256?: string; subjectCN?: string }): Promise<CredentialRecord> {
    checkDeviceId(deviceId);
    if (typeof match !== 'object' || match === null) throw new PlatformError('INVALID_INPUT', 'expected { fingerprint256?, subjectCN? }');
    let fingerprint256: string | undefined;
    if (match.fingerprint256 !== undefined) {
      fingerprint256 = typeof match.fingerprint256 === 'string' ? normalizeFingerprint256(match.fingerprint256) : undefined;
      if (fingerprint256 === undefined) {
        throw new PlatformError('INVALID_INPUT', 'fingerprint256 must be a SHA-256 fingerprint: 32 bytes of hex, with or without colons', {
          details: { field: 'fingerprint256' },
        });
      }
    }
    const subjectCN = match.subjectCN;
    if (subjectCN !== undefined && (typeof subjectCN !== 'string' || subjectCN.length === 0 || subjectCN.length > MAX_CN_CHARS)) {
      throw new PlatformError('INVALID_INPUT', `subjectCN must be a non-empty string of at most ${MAX_CN_CHARS} characters`, {
        details: { field: 'subjectCN' },
      });
    }
    if (fingerprint256 === undefined && subjectCN === undefined) {
      throw new PlatformError('INVALID_INPUT', 'a certificate mapping needs fingerprint256 or subjectCN (or both)');
    }
    return this.locks.run(deviceId, async () => {
      await this.mustExist(deviceId);
      const taken = [
        ...(fingerprint256 === undefined ? [] : await this.store.credentialsByFingerprint(fingerprint256)),
        ...(subjectCN === undefined ? [] : await this.store.credentialsBySubjectCN(subjectCN)),
      ].find((c) => c.deviceId !== deviceId);
      if (taken !== undefined) {
        throw new PlatformError('INVALID_INPUT', `this certificate is already mapped to device "${taken.deviceId}"`, {
          details: { field: fingerprint256 !== undefined ? 'fingerprint256' : 'subjectCN' },
        });
      }
      const credential: CredentialRecord = {
        id: randomUUID(),
        deviceId,
        kind: 'x509',
        ...(fingerprint256 === undefined ? {} : { fingerprint256 }),
        ...(subjectCN === undefined ? {} : { subjectCN }),
        createdAt: this.clock.now(),
        expiresAt: undefined,
      };
      await this.store.putCredential(credential);
      return credential;
    });
  }

  async list(deviceId: string): Promise<CredentialRecord[]> {
    checkDeviceId(deviceId);
    await this.mustExist(deviceId);
    const all = await this.store.credentialsOf(deviceId);
    return all.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1)).map(publicView);
  }

  async revoke(deviceId: string, credentialId: string): Promise<void> {
    checkDeviceId(deviceId);
    await this.locks.run(deviceId, async () => {
      await this.mustExist(deviceId);
      const found = (await this.store.credentialsOf(deviceId)).some((c) => c.id === credentialId);
      if (!found || !(await this.store.deleteCredential(credentialId))) {
        throw new PlatformError('CREDENTIAL_NOT_FOUND', `device "${deviceId}" has no credential "${String(credentialId)}"`, {
          details: { deviceId, credentialId },
        });
      }
    });
  }

  private async mustExist(deviceId: string): Promise<void> {
    if ((await this.store.getDevice(deviceId)) === undefined) {
      throw new PlatformError('DEVICE_NOT_FOUND', `device "${deviceId}" does not exist`, { details: { id: deviceId } });
    }
  }
}
