import { describe, expect, it } from 'vitest';
import { hashPassword, parsePasswordHash, verifyPassword } from '../../../src/platform/auth/index.js';
import { isHoldfastError } from '../../../src/errors/index.js';

// Small N keeps these fast; the format and the code path are the same as for the default.
const FAST = { N: 1024, r: 8, p: 1 };

describe('password hashes (scrypt$N$r$p$salt$hash)', () => {
  it('hashes in the documented format with a fresh salt each time', async () => {
    const a = await hashPassword('s3cret', FAST);
    const b = await hashPassword('s3cret', FAST);
    expect(a).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$/);
    expect(a).not.toBe(b);
    const parsed = parsePasswordHash(a).value!;
    expect(parsed.salt).toHaveLength(16);
    expect(parsed.hash).toHaveLength(32);
  });

  it('uses N=16384, r=8, p=1 by default', async () => {
    expect(await hashPassword('x')).toMatch(/^scrypt\$16384\$8\$1\$/);
  });

  it('verifies the right password and rejects others', async () => {
    const h = await hashPassword('correct horse', FAST);
    expect(await verifyPassword('correct horse', h)).toBe(true);
    expect(await verifyPassword(Buffer.from('correct horse'), h)).toBe(true);
    expect(await verifyPassword('correct horsE', h)).toBe(false);
    expect(await verifyPassword('', h)).toBe(false);
  });

  it('verifies binary passwords (MQTT passwords are binary data)', async () => {
    const pw = Buffer.from([0, 255, 1, 254]);
    const h = await hashPassword(pw, FAST);
    expect(await verifyPassword(pw, h)).toBe(true);
    expect(await verifyPassword(Buffer.from([0, 255, 1, 253]), h)).toBe(false);
  });

  it('interoperates with node:crypto scrypt directly (known vector)', async () => {
    const { scryptSync } = await import('node:crypto');
    const salt = Buffer.alloc(16, 7);
    const hash = scryptSync('pw', salt, 32, { N: 1024, r: 8, p: 1 });
    const stored = `scrypt$1024$8$1$${salt.toString('base64')}$${hash.toString('base64')}`;
    expect(await verifyPassword('pw', stored)).toBe(true);
  });

  it.each([
    ['bcrypt$10$abc', /expected scrypt\$N/],
    ['scrypt$1000$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', /power of two/],
    ['scrypt$2097152$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', /power of two from 1024 to 1048576/],
    ['scrypt$16384$0$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', /r must be/],
    ['scrypt$16384$8$1$not base64!$AAAA', /base64/],
    ['scrypt$16384$8$1$AAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', /salt must be at least 8 bytes/],
  ])('rejects a malformed hash %s', async (stored, why) => {
    expect(parsePasswordHash(stored).problem).toMatch(why);
    const err = await verifyPassword('x', stored).catch((e: unknown) => e);
    expect(isHoldfastError(err, 'AUTH_BAD_PASSWORD_HASH')).toBe(true);
  });
});
