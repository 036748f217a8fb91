/**
 * Password hashes of static users: `scrypt$N$r$p$saltB64$hashB64` (RFC 7914 scrypt via
 * node:crypto, run asynchronously on the libuv thread pool). Verification compares with
 * crypto.timingSafeEqual, never `===`.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { HoldfastError } from '../../errors/index.js';

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  r: number;
  p: number;
}

/** ~16 MiB and a few tens of milliseconds per hash on a small server core. */
export const DEFAULT_SCRYPT_PARAMS: Readonly<ScryptParams> = { N: 16_384, r: 8, p: 1 };
const SALT_BYTES = 16;
const KEY_BYTES = 32;

/** Bounds on parameters read from a config file: a typo must not make every CONNECT eat 1 GiB. */
const LIMITS = { minN: 2 ** 10, maxN: 2 ** 20, maxR: 32, maxP: 16, minSaltBytes: 8, minKeyBytes: 16, maxKeyBytes: 64 };

export interface ParsedPasswordHash {
  params: ScryptParams;
  salt: Buffer;
  hash: Buffer;
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Parses a stored hash; `problem` says what is wrong with it, for the config validator. */
export function parsePasswordHash(stored: string): { value?: ParsedPasswordHash; problem?: string } {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') {
    return { problem: 'expected scrypt$N$r$p$salt$hash, as printed by `holdfast passwd`' };
  }
  const [, nText, rText, pText, saltText, hashText] = parts as [string, string, string, string, string, string];
  const N = Number(nText);
  const r = Number(rText);
  const p = Number(pText);
  if (!/^\d+$/.test(nText) || !Number.isSafeInteger(N) || N < LIMITS.minN || N > LIMITS.maxN || (N & (N - 1)) !== 0) {
    return { problem: `scrypt N must be a power of two from ${LIMITS.minN} to ${LIMITS.maxN}, got ${nText}` };
  }
  if (!/^\d+$/.test(rText) || r < 1 || r > LIMITS.maxR) return { problem: `scrypt r must be 1-${LIMITS.maxR}, got ${rText}` };
  if (!/^\d+$/.test(pText) || p < 1 || p > LIMITS.maxP) return { problem: `scrypt p must be 1-${LIMITS.maxP}, got ${pText}` };
  if (!B64.test(saltText) || !B64.test(hashText)) return { problem: 'salt and hash must be base64' };
  const salt = Buffer.from(saltText, 'base64');
  const hash = Buffer.from(hashText, 'base64');
  if (salt.length < LIMITS.minSaltBytes) return { problem: `salt must be at least ${LIMITS.minSaltBytes} bytes` };
  if (hash.length < LIMITS.minKeyBytes || hash.length > LIMITS.maxKeyBytes) {
    return { problem: `hash must be ${LIMITS.minKeyBytes}-${LIMITS.maxKeyBytes} bytes` };
  }
  return { value: { params: { N, r, p }, salt, hash } };
}

function scryptAsync(password: Buffer | string, salt: Buffer, keyLen: number, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = {
    N: params.N,
    r: params.r,
    p: params.p,
    // scrypt needs 128 * N * r * p bytes; Node's default cap (32 MiB) is too low past N=2^14.
    maxmem: 256 * params.N * params.r * params.p + 1024 * 1024,
  };
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyLen, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashPassword(
  password: Buffer | string,
  params: ScryptParams = DEFAULT_SCRYPT_PARAMS,
): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await scryptAsync(password, salt, KEY_BYTES, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64'), hash.toString('base64')].join('$');
}

/** True when `password` matches. Throws AUTH_BAD_PASSWORD_HASH for a malformed stored hash. */
export async function verifyPassword(password: Buffer | string, stored: string | ParsedPasswordHash): Promise<boolean> {
  const parsed = typeof stored === 'string' ? parsePasswordHash(stored) : { value: stored };
  if (parsed.value === undefined) {
    throw new HoldfastError('AUTH_BAD_PASSWORD_HASH', `malformed password hash: ${parsed.problem ?? 'unknown problem'}`);
  }
  const { params, salt, hash } = parsed.value;
  const candidate = await scryptAsync(password, salt, hash.length, params);
  return timingSafeEqual(candidate, hash);
}
