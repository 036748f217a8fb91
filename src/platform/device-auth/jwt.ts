/**
 * JSON Web Tokens (RFC 7519, JWS compact serialization RFC 7515) verified with node:crypto
 * only: HS256 (HMAC-SHA256, RFC 7518 3.2), RS256 (RSASSA-PKCS1-v1_5 SHA-256, 3.3) and ES256
 * (ECDSA P-256 SHA-256, 3.4: the signature is the raw 64-byte R||S, hence
 * dsaEncoding 'ieee-p1363', not DER).
 *
 * Checks, in order: three base64url parts and at most `maxTokenBytes`; header `alg` equal to
 * the configured algorithm (never `none`, no HS/RS confusion: the key type is fixed by the
 * configuration); the signature; `exp` (required unless `requireExp: false`) and `nbf` with
 * `leewayS`; `iss` and `aud` when configured; `sub` a non-empty string. The caller checks
 * that `sub` is the client id.
 */
import { createHmac, createPublicKey, createSecretKey, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { HoldfastError } from '../../errors/index.js';

export type JwtAlgorithm = 'HS256' | 'RS256' | 'ES256';

export interface JwtOptions {
  algorithm: JwtAlgorithm;
  /** HS256: the shared secret (at least 32 bytes, RFC 7518 3.2). */
  secret?: string | Buffer;
  /** RS256 / ES256: the public key, PEM (SPKI or a certificate). */
  publicKeyPem?: string;
  issuer?: string;
  audience?: string;
  /** Clock skew allowed on exp and nbf (default 30 s). */
  leewayS?: number;
  /** Refuse tokens without exp (default true). */
  requireExp?: boolean;
  /** Longest token accepted (default 8 KiB). */
  maxTokenBytes?: number;
}

export interface JwtClaims {
  sub: string;
  iss?: string;
  aud?: string | string[];
  exp?: number;
  nbf?: number;
  [claim: string]: unknown;
}

export type JwtResult = { ok: true; claims: JwtClaims } | { ok: false; reason: string };

export interface JwtVerifier {
  readonly algorithm: JwtAlgorithm;
  verify(token: string, nowMs: number): JwtResult;
}

const B64URL_PART = /^[A-Za-z0-9_-]+$/;

/** True when `password` has the shape of a JWS compact token (three base64url parts). */
export function looksLikeJwt(password: Buffer | string): boolean {
  const text = typeof password === 'string' ? password : password.toString('latin1');
  const parts = text.split('.');
  return parts.length === 3 && B64URL_PART.test(parts[0]) && B64URL_PART.test(parts[1]) && B64URL_PART.test(parts[2]);
}

function jwtConfigError(message: string): HoldfastError {
  return new HoldfastError('PLATFORM_JWT_CONFIG', message);
}

function keyFor(opts: JwtOptions): KeyObject {
  if (opts.algorithm === 'HS256') {
    if (opts.secret === undefined) throw jwtConfigError('HS256 needs a secret');
    const secret = typeof opts.secret === 'string' ? Buffer.from(opts.secret, 'utf8') : opts.secret;
    if (secret.length < 32) throw jwtConfigError('the HS256 secret must be at least 32 bytes (RFC 7518 3.2)');
    return createSecretKey(secret);
  }
  if (opts.publicKeyPem === undefined) throw jwtConfigError(`${opts.algorithm} needs a public key (PEM)`);
  let key: KeyObject;
  try {
    key = createPublicKey(opts.publicKeyPem);
  } catch (err) {
    throw new HoldfastError('PLATFORM_JWT_CONFIG', `cannot read the ${opts.algorithm} public key: ${(err as Error).message}`, { cause: err });
  }
  if (opts.algorithm === 'RS256' && key.asymmetricKeyType !== 'rsa') {
    throw jwtConfigError(`RS256 needs an RSA public key, got ${key.asymmetricKeyType}`);
  }
  if (opts.algorithm === 'ES256' && (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')) {
    throw jwtConfigError('ES256 needs an EC P-256 (prime256v1) public key');
  }
  return key;
}

function decodeJson(part: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const isNumericDate = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export function createJwtVerifier(opts: JwtOptions): JwtVerifier {
  const key = keyFor(opts);
  const algorithm = opts.algorithm;
  const leewayMs = (opts.leewayS ?? 30) * 1000;
  const requireExp = opts.requireExp ?? true;
  const maxBytes = opts.maxTokenBytes ?? 8192;

  function signatureOk(signingInput: string, signature: Buffer): boolean {
    const data = Buffer.from(signingInput, 'ascii');
    if (algorithm === 'HS256') {
      const expected = createHmac('sha256', key).update(data).digest();
      return signature.length === expected.length && timingSafeEqual(signature, expected);
    }
    if (algorithm === 'ES256') {
      // RFC 7518 3.4: R || S, 32 bytes each.
      return signature.length === 64 && verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
    }
    return verify('sha256', data, key, signature);
  }

  return {
    algorithm,
    verify(token: string, nowMs: number): JwtResult {
      if (token.length > maxBytes) return { ok: false, reason: 'token too long' };
      if (!looksLikeJwt(token)) return { ok: false, reason: 'not a JWS compact token' };
      const [h, p, s] = token.split('.') as [string, string, string];
      const header = decodeJson(h);
      if (header === undefined) return { ok: false, reason: 'malformed header' };
      if (header.alg !== algorithm) return { ok: false, reason: `alg must be ${algorithm}` };
      if (header.crit !== undefined) return { ok: false, reason: 'crit header parameters are not supported' }; // RFC 7515 4.1.11
      let valid: boolean;
      try {
        valid = signatureOk(`${h}.${p}`, Buffer.from(s, 'base64url'));
      } catch {
        valid = false;
      }
      if (!valid) return { ok: false, reason: 'bad signature' };
      const claims = decodeJson(p);
      if (claims === undefined) return { ok: false, reason: 'malformed claims' };
      if (claims.exp !== undefined && !isNumericDate(claims.exp)) return { ok: false, reason: 'exp must be a number' };
      if (claims.nbf !== undefined && !isNumericDate(claims.nbf)) return { ok: false, reason: 'nbf must be a number' };
      if (claims.exp === undefined && requireExp) return { ok: false, reason: 'exp is required' };
      if (isNumericDate(claims.exp) && nowMs >= claims.exp * 1000 + leewayMs) return { ok: false, reason: 'token expired' }; // RFC 7519 4.1.4
      if (isNumericDate(claims.nbf) && nowMs < claims.nbf * 1000 - leewayMs) return { ok: false, reason: 'token not valid yet' }; // 4.1.5
      if (opts.issuer !== undefined && claims.iss !== opts.issuer) return { ok: false, reason: 'wrong issuer' };
      if (opts.audience !== undefined) {
        const aud = claims.aud;
        const ok = typeof aud === 'string' ? aud === opts.audience : Array.isArray(aud) && aud.includes(opts.audience);
        if (!ok) return { ok: false, reason: 'wrong audience' }; // RFC 7519 4.1.3
      }
      if (typeof claims.sub !== 'string' || claims.sub.length === 0) return { ok: false, reason: 'sub is required' };
      return { ok: true, claims: claims as JwtClaims };
    },
  };
}
