/**
 * HS256 device tokens for `holdfast simulate --jwt-secret`: what a fleet that mints its own
 * tokens sends as the CONNECT password (RFC 7519; HS256 = HMAC-SHA256, RFC 7518 3.2).
 * `sub` is the device id (= client id), `exp` now + ttl.
 */
import { createHmac } from 'node:crypto';

export interface JwtMintOptions {
  secret: string;
  ttlS: number;
  issuer?: string;
  audience?: string;
}

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

export function mintDeviceToken(deviceId: string, o: JwtMintOptions, nowMs = Date.now()): string {
  const iat = Math.floor(nowMs / 1000);
  const claims: Record<string, unknown> = { sub: deviceId, iat, exp: iat + o.ttlS };
  if (o.issuer !== undefined) claims.iss = o.issuer;
  if (o.audience !== undefined) claims.aud = o.audience;
  const body = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${body}.${createHmac('sha256', o.secret).update(body).digest('base64url')}`;
}
