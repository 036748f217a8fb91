import { describe, expect, it } from 'vitest';
import type { AuthRequest, ClientInfo } from '../../../src/broker/hooks.js';
import { createStaticAuth, hashPassword } from '../../../src/platform/auth/index.js';

const FAST = { N: 1024, r: 8, p: 1 };

function request(username: string | undefined, password: string | undefined): AuthRequest {
  const client: ClientInfo = {
    clientId: 'c1',
    username,
    protocolVersion: 5,
    remoteAddress: '127.0.0.1:5000',
    listener: 'mqtt',
    certificate: undefined,
  };
  return { client, password: password === undefined ? undefined : Buffer.from(password), connectProperties: undefined };
}

const signal = (): AbortSignal => new AbortController().signal;

describe('static users authenticate hook', async () => {
  const users = [{ username: 'alice', passwordHash: await hashPassword('wonderland', FAST) }];

  it('accepts a known user with the right password', async () => {
    const auth = createStaticAuth({ users, allowAnonymous: undefined })!;
    expect(await auth(request('alice', 'wonderland'), signal())).toEqual({ ok: true });
  });

  it('MQTT5 0x86 Bad User Name or Password for a wrong password, an unknown user, or no password', async () => {
    const auth = createStaticAuth({ users, allowAnonymous: true })!;
    for (const [u, p] of [['alice', 'nope'], ['bob', 'wonderland'], ['alice', undefined]] as const) {
      expect(await auth(request(u, p), signal())).toMatchObject({ ok: false, reasonCode: 0x86 });
    }
  });

  it('users configured, allowAnonymous unset: anonymous clients refused with 0x87 Not authorized', async () => {
    const auth = createStaticAuth({ users, allowAnonymous: undefined })!;
    expect(await auth(request(undefined, undefined), signal())).toMatchObject({ ok: false, reasonCode: 0x87 });
  });

  it('allowAnonymous true with users: anonymous accepted, named users still checked', async () => {
    const auth = createStaticAuth({ users, allowAnonymous: true })!;
    expect(await auth(request(undefined, undefined), signal())).toEqual({ ok: true });
    expect(await auth(request('alice', 'bad'), signal())).toMatchObject({ ok: false, reasonCode: 0x86 });
  });

  it('allowAnonymous false without users: everyone refused', async () => {
    const auth = createStaticAuth({ users: [], allowAnonymous: false })!;
    expect(await auth(request(undefined, undefined), signal())).toMatchObject({ ok: false, reasonCode: 0x87 });
    expect(await auth(request('x', 'y'), signal())).toMatchObject({ ok: false, reasonCode: 0x86 });
  });

  it('no users and anonymous allowed: no hook at all (the broker skips authentication)', () => {
    expect(createStaticAuth({ users: [], allowAnonymous: undefined })).toBeUndefined();
    expect(createStaticAuth({ users: [], allowAnonymous: true })).toBeUndefined();
  });

  it('honours an aborted signal', async () => {
    const auth = createStaticAuth({ users, allowAnonymous: undefined })!;
    const ac = new AbortController();
    ac.abort(new Error('deadline'));
    await expect(auth(request('alice', 'wonderland'), ac.signal)).rejects.toThrow('deadline');
  });

  it('stops waiting when the signal aborts during verification', async () => {
    const slow = [{ username: 'slow', passwordHash: await hashPassword('pw', { N: 65536, r: 8, p: 1 }) }];
    const auth = createStaticAuth({ users: slow, allowAnonymous: undefined })!;
    const ac = new AbortController();
    const pending = auth(request('slow', 'pw'), ac.signal);
    ac.abort(new Error('connect deadline'));
    await expect(pending).rejects.toThrow('connect deadline');
  });
});
