/**
 * Issue 5, JWT device authentication (RFC 7519 / RFC 7515 / RFC 7518), verified with
 * node:crypto only. Keys are generated in the test (crypto.generateKeyPairSync).
 * - the verifier alone: each algorithm, exp/nbf with leeway, iss/aud, alg confusion and
 *   `none`, tampering, ES256 raw R||S (a DER signature is refused);
 * - over real sockets: a device connects with a token for each algorithm; sub must be the
 *   client id; expired/forged tokens 0x86; disabled device 0x87; requireDevice.
 */
import { createHmac, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { createJwtVerifier, looksLikeJwt, type JwtAlgorithm, type JwtOptions } from '../../src/platform/device-auth/index.js';
import { connectOk, startPlatformBroker, tryConnect, type PlatformBroker } from './platform-devices-harness.js';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const HS_SECRET = 'a-shared-secret-of-at-least-32-bytes!!';

function signJwt(alg: string, key: KeyObject | string, claims: Record<string, unknown>, header: Record<string, unknown> = {}, der = false): string {
  const input = `${b64({ alg, typ: 'JWT', ...header })}.${b64(claims)}`;
  let sig: Buffer;
  if (alg === 'HS256') sig = createHmac('sha256', key).update(input).digest();
  else if (alg === 'RS256') sig = cryptoSign('sha256', Buffer.from(input), key as KeyObject);
  else if (alg === 'ES256') sig = cryptoSign('sha256', Buffer.from(input), { key: key as KeyObject, dsaEncoding: der ? 'der' : 'ieee-p1363' });
  else sig = Buffer.alloc(0);
  return `${input}.${sig.toString('base64url')}`;
}

interface Keys {
  options: JwtOptions;
  signKey: KeyObject | string;
}

function keysFor(alg: JwtAlgorithm, extra: Partial<JwtOptions> = {}): Keys {
  if (alg === 'HS256') return { options: { algorithm: alg, secret: HS_SECRET, ...extra }, signKey: HS_SECRET };
  const pair = alg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    options: { algorithm: alg, publicKeyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(), ...extra },
    signKey: pair.privateKey,
  };
}

const nowS = () => Math.floor(Date.now() / 1000);
const ALGS: JwtAlgorithm[] = ['HS256', 'RS256', 'ES256'];

describe('JWT verifier (node:crypto)', () => {
  for (const alg of ALGS) {
    it(`RFC 7518 ${alg}: valid token accepted; tampered claims or signature refused`, () => {
      const k = keysFor(alg);
      const v = createJwtVerifier(k.options);
      const token = signJwt(alg, k.signKey, { sub: 'dev-1', exp: nowS() + 60 });
      expect(looksLikeJwt(token)).toBe(true);
      expect(v.verify(token, Date.now())).toMatchObject({ ok: true, claims: { sub: 'dev-1' } });
      const [h, , s] = token.split('.');
      expect(v.verify(`${h}.${b64({ sub: 'dev-2', exp: nowS() + 60 })}.${s}`, Date.now())).toEqual({ ok: false, reason: 'bad signature' });
      const flipped = Buffer.from(s, 'base64url');
      flipped[5] ^= 1;
      expect(v.verify(`${token.split('.').slice(0, 2).join('.')}.${flipped.toString('base64url')}`, Date.now())).toMatchObject({ ok: false });
    });
  }

  it('RFC 7519 4.1.4/4.1.5: exp and nbf with leeway; exp required by default', () => {
    const k = keysFor('HS256', { leewayS: 10 });
    const v = createJwtVerifier(k.options);
    const now = Date.now();
    const t = (claims: Record<string, unknown>) => signJwt('HS256', k.signKey, { sub: 'd', ...claims });
    expect(v.verify(t({ exp: nowS() - 5 }), now).ok).toBe(true); // within leeway
    expect(v.verify(t({ exp: nowS() - 11 }), now)).toEqual({ ok: false, reason: 'token expired' });
    expect(v.verify(t({ exp: nowS() + 60, nbf: nowS() + 5 }), now).ok).toBe(true);
    expect(v.verify(t({ exp: nowS() + 60, nbf: nowS() + 30 }), now)).toEqual({ ok: false, reason: 'token not valid yet' });
    expect(v.verify(t({}), now)).toEqual({ ok: false, reason: 'exp is required' });
    expect(createJwtVerifier({ ...k.options, requireExp: false }).verify(t({}), now).ok).toBe(true);
    expect(v.verify(t({ exp: 'tomorrow' }), now)).toEqual({ ok: false, reason: 'exp must be a number' });
  });

  it('RFC 7519 4.1.1/4.1.3: iss and aud when configured', () => {
    const k = keysFor('HS256', { issuer: 'fleet-ca', audience: 'holdfast' });
    const v = createJwtVerifier(k.options);
    const t = (claims: Record<string, unknown>) => signJwt('HS256', k.signKey, { sub: 'd', exp: nowS() + 60, ...claims });
    expect(v.verify(t({ iss: 'fleet-ca', aud: 'holdfast' }), Date.now()).ok).toBe(true);
    expect(v.verify(t({ iss: 'fleet-ca', aud: ['other', 'holdfast'] }), Date.now()).ok).toBe(true);
    expect(v.verify(t({ iss: 'evil', aud: 'holdfast' }), Date.now())).toEqual({ ok: false, reason: 'wrong issuer' });
    expect(v.verify(t({ iss: 'fleet-ca', aud: 'other' }), Date.now())).toEqual({ ok: false, reason: 'wrong audience' });
    expect(v.verify(t({ iss: 'fleet-ca' }), Date.now())).toEqual({ ok: false, reason: 'wrong audience' });
  });

  it('RFC 8725 2.1: alg must be the configured one: none and HS256-with-the-public-key are refused', () => {
    const rs = keysFor('RS256');
    const v = createJwtVerifier(rs.options);
    const claims = { sub: 'd', exp: nowS() + 60 };
    expect(v.verify(`${b64({ alg: 'none' })}.${b64(claims)}.`, Date.now()).ok).toBe(false);
    expect(v.verify(`${b64({ alg: 'none' })}.${b64(claims)}.AA`, Date.now())).toEqual({ ok: false, reason: 'alg must be RS256' });
    // The classic confusion: HMAC keyed with the PEM text of the public key.
    expect(v.verify(signJwt('HS256', rs.options.publicKeyPem!, claims), Date.now())).toEqual({ ok: false, reason: 'alg must be RS256' });
  });

  it('RFC 7518 3.4: ES256 signatures are raw R||S (64 bytes); a DER signature is refused', () => {
    const k = keysFor('ES256');
    const v = createJwtVerifier(k.options);
    const claims = { sub: 'd', exp: nowS() + 60 };
    expect(v.verify(signJwt('ES256', k.signKey, claims), Date.now()).ok).toBe(true);
    expect(v.verify(signJwt('ES256', k.signKey, claims, {}, true), Date.now())).toEqual({ ok: false, reason: 'bad signature' });
  });

  it('refuses unusable keys at configuration time', () => {
    expect(() => createJwtVerifier({ algorithm: 'HS256', secret: 'short' })).toThrow(/32 bytes/);
    expect(() => createJwtVerifier({ algorithm: 'ES256', publicKeyPem: keysFor('RS256').options.publicKeyPem })).toThrow(/P-256/);
    expect(() => createJwtVerifier({ algorithm: 'RS256', publicKeyPem: keysFor('ES256').options.publicKeyPem })).toThrow(/RSA/);
    expect(() => createJwtVerifier({ algorithm: 'RS256' })).toThrow(/public key/);
  });
});

describe('JWT over real sockets', () => {
  let p: PlatformBroker | undefined;
  const clients: MqttClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    await p?.stop();
    p = undefined;
  });

  for (const alg of ALGS) {
    it(`issue 5: a device connects with a ${alg} token (sub = client id); forged, expired or foreign tokens get 0x86`, async () => {
      const k = keysFor(alg);
      p = await startPlatformBroker({ jwt: k.options });
      await p.registry.create({ id: 'jwt-dev', type: 'meter' });
      await p.registry.create({ id: 'jwt-other', type: 'meter' });
      const token = signJwt(alg, k.signKey, { sub: 'jwt-dev', exp: nowS() + 60 });
      clients.push(await connectOk(p.url, { clientId: 'jwt-dev', username: 'jwt', password: token, protocolVersion: 5 }));
      expect(p.tb.broker.connectedClient('jwt-dev')?.username).toBe('jwt-dev');
      clients.push(await connectOk(p.url, { clientId: 'jwt-other', username: 'jwt', password: signJwt(alg, k.signKey, { sub: 'jwt-other', exp: nowS() + 60 }), protocolVersion: 4 }));
      // sub is another device
      expect(await tryConnect(p.url, { clientId: 'jwt-other', username: 'jwt', password: token, protocolVersion: 5 })).toMatchObject({ ok: false, code: 0x86 });
      // expired
      const expired = signJwt(alg, k.signKey, { sub: 'jwt-dev', exp: nowS() - 3600 });
      expect(await tryConnect(p.url, { clientId: 'jwt-dev', username: 'jwt', password: expired, protocolVersion: 5 })).toMatchObject({ ok: false, code: 0x86 });
      expect(await tryConnect(p.url, { clientId: 'jwt-dev', username: 'jwt', password: expired, protocolVersion: 4 })).toMatchObject({ ok: false, code: 4 });
      // signed with another key
      const foreign = signJwt(alg, keysFor(alg).signKey === HS_SECRET ? 'another-secret-of-at-least-32-bytes!!!' : keysFor(alg).signKey, { sub: 'jwt-dev', exp: nowS() + 60 });
      expect(await tryConnect(p.url, { clientId: 'jwt-dev', username: 'jwt', password: foreign, protocolVersion: 5 })).toMatchObject({ ok: false, code: 0x86 });
    });
  }

  it('issue 5: a disabled device is refused with 0x87 even with a valid token', async () => {
    const k = keysFor('HS256');
    p = await startPlatformBroker({ jwt: k.options });
    await p.registry.create({ id: 'jwt-off', type: 'meter', enabled: false });
    const token = signJwt('HS256', k.signKey, { sub: 'jwt-off', exp: nowS() + 60 });
    expect(await tryConnect(p.url, { clientId: 'jwt-off', username: 'x', password: token, protocolVersion: 5 })).toMatchObject({ ok: false, code: 0x87 });
  });

  it('issue 5: requireDevice (default) refuses unregistered subjects; without it they connect, as devices without presence', async () => {
    const k = keysFor('ES256');
    const token = signJwt('ES256', k.signKey, { sub: 'fleet-9', exp: nowS() + 60 });
    p = await startPlatformBroker({ jwt: k.options });
    expect(await tryConnect(p.url, { clientId: 'fleet-9', username: 'x', password: token, protocolVersion: 5 })).toMatchObject({ ok: false, code: 0x86 });
    await p.stop();
    p = await startPlatformBroker({ jwt: k.options, requireDevice: false });
    const c = await connectOk(p.url, { clientId: 'fleet-9', username: 'x', password: token, protocolVersion: 5 });
    clients.push(c);
    const client = p.tb.broker.connectedClient('fleet-9')!;
    expect(p.identities.identityOf(client)).toMatchObject({ deviceId: 'fleet-9', registered: false, via: 'jwt' });
    expect(p.presence.current('fleet-9')).toBeUndefined();
    // The built-in device ACL applies: another device's shadow topic is refused (v5 PUBACK 0x87).
    await expect(c.publishAsync('$holdfast/devices/other/shadow/update', '{}', { qos: 1 })).rejects.toMatchObject({ code: 0x87 });
  });
});
