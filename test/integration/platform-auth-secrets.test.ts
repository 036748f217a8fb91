/**
 * Issue 5, device authentication with secrets over real sockets: a device connects with
 * its secret; wrong secret 0x86 (3.1.1: 4); disabled 0x87 (3.1.1: 5) and kicked (0x98) if
 * connected; rotation with an overlap window (old secret works until it expires, then not);
 * rotation without overlap and revoke take effect at once; static users still log in
 * through the fallback.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { hashPassword } from '../../src/platform/auth/index.js';
import { createStaticAuth } from '../../src/platform/auth/index.js';
import { SecretVerifier } from '../../src/platform/device-auth/index.js';
import { ManualClock } from '../../src/ports/clock.js';
import { waitUntil, withTimeout } from '../helpers/transport-wait.js';
import { connectOk, deviceWithSecret, startPlatformBroker, TEST_SCRYPT, tryConnect, type PlatformBroker } from './platform-devices-harness.js';

let p: PlatformBroker | undefined;
const clients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await p?.stop();
  p = undefined;
});
const keep = (c: MqttClient) => (clients.push(c), c);

describe('device secrets', () => {
  it('issue 5: a device connects with its secret (v5 and 3.1.1); the broker sees username = device id', async () => {
    p = await startPlatformBroker();
    const secret = await deviceWithSecret(p, 'meter-1');
    keep(await connectOk(p.url, { clientId: 'meter-1', username: 'anything', password: secret, protocolVersion: 5 }));
    expect(p.tb.broker.connectedClient('meter-1')?.username).toBe('meter-1');
    const secret2 = await deviceWithSecret(p, 'meter-2');
    keep(await connectOk(p.url, { clientId: 'meter-2', username: 'meter-2', password: secret2, protocolVersion: 4 }));
    expect(p.tb.broker.connectedClient('meter-2')?.username).toBe('meter-2');
  });

  it('issue 5: wrong secret, missing secret, another device\'s secret -> 0x86 (3.1.1: 4)', async () => {
    p = await startPlatformBroker();
    const secret = await deviceWithSecret(p, 'meter-1');
    const other = await deviceWithSecret(p, 'meter-2');
    expect(await tryConnect(p.url, { clientId: 'meter-1', username: 'meter-1', password: secret + 'x', protocolVersion: 5 })).toMatchObject({ ok: false, code: 0x86 });
    expect(await tryConnect(p.url, { clientId: 'meter-1', username: 'meter-1', password: other, protocolVersion: 5 })).toMatchObject({ ok: false, code: 0x86 });
    expect(await tryConnect(p.url, { clientId: 'meter-1', protocolVersion: 5 })).toMatchObject({ ok: false, code: 0x86 });
    expect(await tryConnect(p.url, { clientId: 'meter-1', username: 'meter-1', password: 'nope', protocolVersion: 4 })).toMatchObject({ ok: false, code: 4 });
    // Unknown device, no fallback: 0x86 too.
    expect(await tryConnect(p.url, { clientId: 'ghost', username: 'ghost', password: 'x', protocolVersion: 5 })).toMatchObject({ ok: false, code: 0x86 });
  });

  it('issue 5: a disabled device is refused with 0x87 (3.1.1: 5), and a connected one is kicked with DISCONNECT 0x98', async () => {
    p = await startPlatformBroker();
    const secret = await deviceWithSecret(p, 'valve-7', 'valve');
    const c = keep(await connectOk(p.url, { clientId: 'valve-7', username: 'valve-7', password: secret, protocolVersion: 5 }));
    const kicked = new Promise<number | undefined>((resolve) => c.once('disconnect', (pkt) => resolve(pkt.reasonCode)));
    const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
    await p.registry.setEnabled('valve-7', false);
    expect(await withTimeout(kicked, 5_000, 'DISCONNECT')).toBe(0x98);
    await withTimeout(closed, 5_000, 'close');
    expect(await tryConnect(p.url, { clientId: 'valve-7', username: 'valve-7', password: secret, protocolVersion: 5 })).toMatchObject({ ok: false, code: 0x87 });
    expect(await tryConnect(p.url, { clientId: 'valve-7', username: 'valve-7', password: secret, protocolVersion: 4 })).toMatchObject({ ok: false, code: 5 });
    // A wrong secret still says wrong secret, not "disabled".
    expect(await tryConnect(p.url, { clientId: 'valve-7', username: 'valve-7', password: 'bad', protocolVersion: 5 })).toMatchObject({ ok: false, code: 0x86 });
    await p.registry.setEnabled('valve-7', true);
    keep(await connectOk(p.url, { clientId: 'valve-7', username: 'valve-7', password: secret, protocolVersion: 5 }));
  });

  it('issue 5: rotation with overlap: the old secret works until the overlap ends, then 0x86; the new one keeps working', async () => {
    const clock = new ManualClock(Date.now());
    p = await startPlatformBroker({ clock });
    const old = await deviceWithSecret(p, 'm-rot');
    const opts = { clientId: 'm-rot', username: 'm-rot', protocolVersion: 5 as const };
    // Verified once: the cache now knows this (hash, password) pair.
    (await connectOk(p.url, { ...opts, password: old })).end(true);
    const { secret: fresh, credential } = await p.credentials.issueSecret('m-rot', { overlapS: 60 });
    expect(credential.secretHash).toBeUndefined(); // shown once, hash never handed out
    const listed = await p.credentials.list('m-rot');
    expect(listed).toHaveLength(2);
    expect(listed.find((c) => c.id === credential.id)!.expiresAt).toBeUndefined();
    expect(listed.find((c) => c.id !== credential.id)!.expiresAt).toBe(clock.now() + 60_000);
    clock.advance(59_000);
    (await connectOk(p.url, { ...opts, password: old })).end(true);
    (await connectOk(p.url, { ...opts, password: fresh })).end(true);
    clock.advance(1_000);
    expect(await tryConnect(p.url, { ...opts, password: old })).toMatchObject({ ok: false, code: 0x86 });
    (await connectOk(p.url, { ...opts, password: fresh })).end(true);
  });

  it('issue 5: rotation without overlap and revoke take effect at the next CONNECT', async () => {
    p = await startPlatformBroker();
    const first = await deviceWithSecret(p, 'm-rev');
    const opts = { clientId: 'm-rev', username: 'm-rev', protocolVersion: 5 as const };
    (await connectOk(p.url, { ...opts, password: first })).end(true);
    const { secret: second, credential } = await p.credentials.issueSecret('m-rev');
    expect(await p.credentials.list('m-rev')).toHaveLength(1);
    expect(await tryConnect(p.url, { ...opts, password: first })).toMatchObject({ ok: false, code: 0x86 });
    (await connectOk(p.url, { ...opts, password: second })).end(true);
    await p.credentials.revoke('m-rev', credential.id);
    expect(await tryConnect(p.url, { ...opts, password: second })).toMatchObject({ ok: false, code: 0x86 });
  });

  it('issue 5: clients that are not devices go to the static users (fallback), devices never do', async () => {
    const users = [{ username: 'operator', passwordHash: await hashPassword('op-pass', TEST_SCRYPT) }];
    p = await startPlatformBroker({ fallback: createStaticAuth({ users, allowAnonymous: false }) });
    const secret = await deviceWithSecret(p, 'dev-1');
    keep(await connectOk(p.url, { clientId: 'console-1', username: 'operator', password: 'op-pass', protocolVersion: 5 }));
    expect(p.tb.broker.connectedClient('console-1')?.username).toBe('operator');
    expect(await tryConnect(p.url, { clientId: 'console-2', username: 'operator', password: 'bad', protocolVersion: 5 })).toMatchObject({ ok: false, code: 0x86 });
    expect(await tryConnect(p.url, { clientId: 'console-3', protocolVersion: 5 })).toMatchObject({ ok: false, code: 0x87 });
    // A device id with a static user's credentials is still checked as the device.
    expect(await tryConnect(p.url, { clientId: 'dev-1', username: 'operator', password: 'op-pass', protocolVersion: 5 })).toMatchObject({ ok: false, code: 0x86 });
    keep(await connectOk(p.url, { clientId: 'dev-1', username: 'dev-1', password: secret, protocolVersion: 5 }));
  });

  it('issue 5: deleting a connected device kicks it and it can no longer connect', async () => {
    p = await startPlatformBroker();
    const secret = await deviceWithSecret(p, 'gone-1');
    const c = keep(await connectOk(p.url, { clientId: 'gone-1', username: 'gone-1', password: secret, protocolVersion: 5 }));
    await p.registry.delete('gone-1');
    await waitUntil(() => !c.connected, 5_000, 'the deleted device to be disconnected');
    expect(await tryConnect(p.url, { clientId: 'gone-1', username: 'gone-1', password: secret, protocolVersion: 5 })).toMatchObject({ ok: false, code: 0x86 });
  });
});

describe('secret verification: bounded and cached', () => {
  const never = new AbortController().signal;

  it('caches successes only, keyed by the stored hash, for the TTL', async () => {
    const clock = new ManualClock(1_000);
    const v = new SecretVerifier({ clock, cacheTtlMs: 5_000 });
    const hash = await hashPassword('right', TEST_SCRYPT);
    const other = await hashPassword('right', TEST_SCRYPT); // same secret, another credential
    expect(await v.verify(Buffer.from('right'), hash, never)).toBe(true);
    expect(await v.verify(Buffer.from('right'), hash, never)).toBe(true);
    expect(v.counters).toEqual({ hashes: 1, cacheHits: 1 });
    expect(await v.verify(Buffer.from('wrong'), hash, never)).toBe(false);
    expect(await v.verify(Buffer.from('wrong'), hash, never)).toBe(false);
    expect(v.counters.hashes).toBe(3); // failures always cost a hash
    expect(await v.verify(Buffer.from('right'), other, never)).toBe(true);
    expect(v.counters.hashes).toBe(4);
    clock.advance(5_000);
    expect(await v.verify(Buffer.from('right'), hash, never)).toBe(true);
    expect(v.counters).toEqual({ hashes: 5, cacheHits: 1 }); // expired: hashed again
  });

  it('runs at most maxConcurrent hashes; a full waiting line rejects at once; an aborted waiter hashes nothing', async () => {
    const v = new SecretVerifier({ clock: new ManualClock(), cacheTtlMs: 0, maxConcurrent: 1, maxWaiting: 1 });
    const hash = await hashPassword('pw', TEST_SCRYPT);
    const first = v.verify(Buffer.from('pw'), hash, never);
    const aborter = new AbortController();
    const second = v.verify(Buffer.from('pw'), hash, aborter.signal);
    await expect(v.verify(Buffer.from('pw'), hash, never)).rejects.toMatchObject({ code: 'SEMAPHORE_FULL' });
    aborter.abort(new Error('connect deadline'));
    await expect(second).rejects.toThrow('connect deadline');
    expect(await first).toBe(true);
    expect(v.counters.hashes).toBe(1);
  });
});
