/**
 * The device authentication hook (issue 5; platform brief "Device authentication"). One
 * `authenticate` hook, trying in this order:
 *
 * 1. TLS client certificate: mapped to a device by SHA-256 fingerprint (a pinned
 *    certificate: the TLS handshake proved the key, CA verification not needed) or by
 *    subject CN (only for a certificate the TLS layer verified against the CA: anyone can
 *    make a self-signed certificate with any CN). The client id must be that device's id,
 *    else 0x87. A certificate that maps to no device is ignored (next steps).
 * 2. A password that is a JWT (three base64url parts), when JWT is configured: verified
 *    (jwt.ts), `sub` must be the client id. With `requireDevice` (default true) the
 *    subject must be a registered device; without it, a valid token for an unregistered id
 *    is accepted (device ACL applies, no presence, {type} templates do not apply).
 * 3. A device with id = client id exists: the password must match one of its live secrets
 *    (several during a rotation overlap; newest first).
 * 4. Anything else: `fallback` (the static config users). Without a fallback, non-devices
 *    are refused (pass `allowEveryone` to accept them).
 *
 * Results: a device -> { ok: true, username: deviceId } (its identity is recorded for the ACL
 * and presence hooks, device-identities.ts); disabled device -> 0x87 Not authorized (3.1.1:
 * 5), checked after its credentials; unknown device, wrong secret, bad token -> 0x86 Bad
 * user name or password (3.1.1: 4). Device ids are not treated as secrets: an unknown id is
 * refused without hashing (the static users' fallback does hash a decoy).
 * Credentials and the enabled flag are read from the store on every CONNECT, so disabling,
 * revoking or rotating takes effect at the next CONNECT; scrypt work is bounded and cached
 * (secret-verifier.ts).
 */
import type { AuthRequest, AuthResult, Hooks, PeerCertificateInfo } from '../../broker/hooks.js';
import { RC } from '../../codec/mqtt/reason-codes.js';
import type { Logger } from '../../observability/logger.js';
import type { Clock } from '../../ports/clock.js';
import type { CredentialRecord, DeviceRecord, PlatformStore } from '../../ports/platform-store.js';
import { normalizeFingerprint256 } from '../credentials/fingerprint.js';
import { isDeviceId } from '../devices/validation.js';
import { DeviceIdentities } from './device-identities.js';
import { createJwtVerifier, looksLikeJwt, type JwtOptions, type JwtVerifier } from './jwt.js';
import { SecretVerifier, type SecretVerifierOptions } from './secret-verifier.js';

export type AuthenticateHook = NonNullable<Hooks['authenticate']>;

export interface DeviceAuthOptions {
  store: PlatformStore;
  clock: Clock;
  /** Enables step 2; a verifier or the options to build one. */
  jwt?: JwtOptions | JwtVerifier;
  fallback?: Hooks['authenticate'];
  /** JWT subjects must be registered devices (default true). */
  requireDevice?: boolean;
  /** Shared with the ACL and presence hooks; a new one when absent. */
  identities?: DeviceIdentities;
  secrets?: Omit<SecretVerifierOptions, 'clock'>;
  logger?: Logger;
}

/** Accepts every non-device client: the fallback for a broker without static users. */
export const allowEveryone: AuthenticateHook = async () => ({ ok: true });

const refused = (reasonCode: number, reason: string): AuthResult => ({ ok: false, reasonCode, reason });
const bad = (reason: string) => refused(RC.BAD_USER_NAME_OR_PASSWORD, reason);
const disabled = (id: string) => refused(RC.NOT_AUTHORIZED, `device "${id}" is disabled`);

const live = (c: CredentialRecord, now: number) => c.expiresAt === undefined || c.expiresAt > now;

export function createDeviceAuth(opts: DeviceAuthOptions): AuthenticateHook {
  const { store, clock, fallback, logger } = opts;
  const requireDevice = opts.requireDevice ?? true;
  const identities = opts.identities ?? new DeviceIdentities();
  const jwt = opts.jwt === undefined ? undefined : 'verify' in opts.jwt ? opts.jwt : createJwtVerifier(opts.jwt);
  const secrets = new SecretVerifier({ clock, ...opts.secrets });

  function accept(device: DeviceRecord | undefined, id: string, via: 'certificate' | 'jwt' | 'secret'): AuthResult {
    identities.authenticated({ deviceId: id, type: device?.type, registered: device !== undefined, via });
    return { ok: true, username: id };
  }

  /** Step 1: undefined when the certificate maps to no device. */
  async function byCertificate(cert: PeerCertificateInfo, id: string): Promise<AuthResult | undefined> {
    const fp = normalizeFingerprint256(cert.fingerprint256) ?? cert.fingerprint256;
    const cnUsable = cert.authorized && cert.subjectCN !== undefined && cert.subjectCN !== '';
    const found = [
      ...(await store.credentialsByFingerprint(fp)),
      ...(cnUsable ? await store.credentialsBySubjectCN(cert.subjectCN!) : []),
    ];
    const now = clock.now();
    const matching = found.filter(
      (c) =>
        c.kind === 'x509' &&
        live(c, now) &&
        (c.fingerprint256 === undefined ? cert.authorized : c.fingerprint256 === fp) &&
        (c.subjectCN === undefined || c.subjectCN === cert.subjectCN),
    );
    if (matching.length === 0) return undefined;
    if (!matching.some((c) => c.deviceId === id)) {
      return refused(RC.NOT_AUTHORIZED, `this certificate belongs to device "${matching[0].deviceId}": the client id must be the device id`);
    }
    const device = await store.getDevice(id);
    if (device === undefined) return bad(`unknown device "${id}"`);
    if (!device.enabled) return disabled(id);
    return accept(device, id, 'certificate');
  }

  /** Step 2. */
  async function byJwt(verifier: JwtVerifier, token: string, id: string): Promise<AuthResult> {
    const r = verifier.verify(token, clock.now());
    if (!r.ok) return bad(`token refused: ${r.reason}`);
    if (r.claims.sub !== id || !isDeviceId(id)) return bad('the token subject (sub) must be the client id');
    const device = await store.getDevice(id);
    if (device === undefined) return requireDevice ? bad(`unknown device "${id}"`) : accept(undefined, id, 'jwt');
    if (!device.enabled) return disabled(id);
    return accept(device, id, 'jwt');
  }

  /** Step 3. */
  async function bySecret(device: DeviceRecord, password: Buffer | undefined, signal: AbortSignal): Promise<AuthResult> {
    const id = device.id;
    if (password === undefined || password.length === 0) return bad(`device "${id}" needs its secret as the password`);
    const now = clock.now();
    const candidates = (await store.credentialsOf(id))
      .filter((c) => c.kind === 'secret' && c.secretHash !== undefined && live(c, now))
      .sort((a, b) => b.createdAt - a.createdAt);
    for (const c of candidates) {
      let ok = false;
      try {
        ok = await secrets.verify(password, c.secretHash!, signal);
      } catch (err) {
        signal.throwIfAborted();
        if ((err as { code?: string }).code !== 'AUTH_BAD_PASSWORD_HASH') throw err;
        logger?.error({ err, deviceId: id, credentialId: c.id }, 'malformed secret hash in the platform store');
      }
      if (ok) return device.enabled ? accept(device, id, 'secret') : disabled(id);
    }
    return bad(`wrong secret for device "${id}"`);
  }

  return async function authenticate(req: AuthRequest, signal: AbortSignal): Promise<AuthResult> {
    signal.throwIfAborted();
    const client = req.client;
    const id = client.clientId;
    if (client.certificate !== undefined) {
      const r = await byCertificate(client.certificate, id);
      if (r !== undefined) return r;
    }
    if (jwt !== undefined && req.password !== undefined && looksLikeJwt(req.password)) {
      return byJwt(jwt, req.password.toString('utf8'), id);
    }
    const device = isDeviceId(id) ? await store.getDevice(id) : undefined;
    if (device !== undefined) return bySecret(device, req.password, signal);
    if (fallback === undefined) {
      return client.username === undefined && req.password === undefined
        ? refused(RC.NOT_AUTHORIZED, 'anonymous access is not allowed')
        : bad('not a known device');
    }
    const r = await fallback(req, signal);
    if (r.ok) identities.notDevice(id);
    return r;
  };
}
