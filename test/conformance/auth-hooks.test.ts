/**
 * Authentication through hooks.authenticate (MQTT-3.1.4-2, MQTT5 3.2.2.2 reason codes,
 * MQTT 3.1.1 3.2.2.3 return codes) and auth.allowAnonymous. A failing or slow auth backend
 * must give a prompt CONNACK 0x88 (Server unavailable), never a hang.
 */
import { describe, expect, it } from 'vitest';
import { RC } from '../../src/codec/mqtt/index.js';
import type { AuthRequest, AuthResult } from '../../src/broker/hooks.js';
import { connectPacket, expectConnack, expectNothing, expectReasonString, nextPacket, uid, useHarness, waitUntil } from '../helpers/connect-harness.js';

const h = useHarness();

const passwordHook = {
  authenticate: async (req: AuthRequest): Promise<AuthResult> =>
    req.client.username === 'alice' && req.password?.toString() === 's3cret'
      ? { ok: true }
      : { ok: false, reasonCode: RC.BAD_USER_NAME_OR_PASSWORD, reason: 'Bad user name or password' },
};

describe('hooks.authenticate', () => {
  it('MQTT-3.1.4-2 the hook sees the client (id, username, version, listener), the password and the CONNECT properties; ok -> CONNACK 0', async () => {
    const seen: AuthRequest[] = [];
    const tb = await h.broker({
      hooks: {
        authenticate: async (req) => {
          seen.push(req);
          return { ok: true };
        },
      },
    });
    const id = uid();
    const { ack } = await h.connect(tb.port, 5, {
      clientId: id,
      username: 'alice',
      password: Buffer.from('pw'),
      properties: { userProperties: [['device', 'd1']] },
    });
    expectConnack(ack, 0);
    expect(seen).toHaveLength(1);
    const req = seen[0];
    expect(req.client).toMatchObject({ clientId: id, username: 'alice', protocolVersion: 5, listener: 'mqtt' });
    expect(req.client.remoteAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(req.password?.toString()).toBe('pw');
    expect(req.connectProperties?.userProperties).toEqual([['device', 'd1']]);
  });

  it('MQTT-3.2.2-7 v5: a refusal gives CONNACK 0x86 with a Reason String and Session Present 0, then close', async () => {
    const tb = await h.broker({ hooks: passwordHook });
    const { c, ack } = await h.connect(tb.port, 5, { username: 'alice', password: Buffer.from('wrong') });
    expectConnack(ack, RC.BAD_USER_NAME_OR_PASSWORD, false);
    expectReasonString(ack);
    await c.waitClosed();
    expect(tb.broker.stats.connectionsAccepted).toBe(0);
    const good = await h.connect(tb.port, 5, { username: 'alice', password: Buffer.from('s3cret') });
    expectConnack(good.ack, 0);
  });

  it('MQTT-3.2.2-5 3.1.1: refusals map to return code 0x04 (bad user name or password) and 0x05 (not authorized), then close', async () => {
    const tb = await h.broker({
      hooks: {
        authenticate: async (req) =>
          req.client.username === 'banned' ? { ok: false, reasonCode: RC.NOT_AUTHORIZED } : { ok: false, reasonCode: RC.BAD_USER_NAME_OR_PASSWORD },
      },
    });
    const bad = await h.connect(tb.port, 4, { username: 'alice', password: Buffer.from('x') });
    expectConnack(bad.ack, 0x04);
    await bad.c.waitClosed();
    const banned = await h.connect(tb.port, 4, { username: 'banned' });
    expectConnack(banned.ack, 0x05);
    await banned.c.waitClosed();
  });

  it('MQTT-3.2.2-7 MQTT.js gets the refusal as a connection error with the reason code (134 v5, 4 for 3.1.1)', async () => {
    const tb = await h.broker({ hooks: passwordHook });
    const v5 = await h.mqttAttempt(tb.port, { protocolVersion: 5, username: 'alice', password: 'nope' });
    expect(v5.error?.code).toBe(RC.BAD_USER_NAME_OR_PASSWORD);
    const v4 = await h.mqttAttempt(tb.port, { protocolVersion: 4, username: 'alice', password: 'nope' });
    expect(v4.error?.code).toBe(4);
    const ok = await h.mqttAttempt(tb.port, { protocolVersion: 5, username: 'alice', password: 's3cret' });
    expect(ok.error).toBeUndefined();
  });

  it('MQTT5 3.2.2.2 a hook that throws synchronously gives CONNACK 0x88 (v5) / 0x03 (3.1.1), not a hang', async () => {
    const tb = await h.broker({
      hooks: {
        authenticate: () => {
          throw new Error('auth backend exploded');
        },
      },
    });
    const v5 = await h.connect(tb.port, 5);
    expectConnack(v5.ack, RC.SERVER_UNAVAILABLE);
    expectReasonString(v5.ack);
    await v5.c.waitClosed();
    const v4 = await h.connect(tb.port, 4);
    expectConnack(v4.ack, 0x03);
    await v4.c.waitClosed();
  });

  it('MQTT5 3.2.2.2 a hook that rejects gives CONNACK 0x88', async () => {
    const tb = await h.broker({ hooks: { authenticate: async () => Promise.reject(new Error('ldap down')) } });
    const { c, ack } = await h.connect(tb.port, 5);
    expectConnack(ack, RC.SERVER_UNAVAILABLE);
    await c.waitClosed();
  });

  for (const version of [4, 5] as const) {
    it(`MQTT5 3.2.2.2 v${version === 5 ? 5 : '3.1.1'}: a hook that never answers gets CONNACK ${version === 5 ? '0x88' : '0x03'} at the connect timeout, and its signal is aborted`, async () => {
      let signalOf: AbortSignal | undefined;
      const tb = await h.broker({
        config: { mqtt: { connectTimeoutMs: 600 } },
        hooks: {
          authenticate: (_req, signal) => {
            signalOf = signal;
            return new Promise<AuthResult>(() => {}); // hangs
          },
        },
      });
      const started = Date.now();
      const { c, ack } = await h.connect(tb.port, version);
      expectConnack(ack, version === 5 ? RC.SERVER_UNAVAILABLE : 0x03);
      expect(Date.now() - started).toBeLessThan(3000);
      await c.waitClosed();
      expect(signalOf?.aborted).toBe(true);
    });
  }

  for (const version of [4, 5] as const) {
    it(`${version === 5 ? 'MQTT-3.2.2-8 v5' : 'MQTT-3.2.2-6 3.1.1'}: a CONNECT sent late in the connect window whose hook never answers still gets a valid CONNACK ${version === 5 ? '0x88' : '0x03'}`, async () => {
      const tb = await h.broker({
        config: { mqtt: { connectTimeoutMs: 800 } },
        hooks: { authenticate: () => new Promise<AuthResult>(() => {}) },
      });
      const c = await h.open(tb.port, version);
      // A slow client: the CONNECT comes 400 ms after the TCP connect (client pacing, not a wait on the server).
      await new Promise((r) => setTimeout(r, 400));
      c.send(connectPacket(version));
      const ack = await nextPacket(c, 2, 4000);
      expectConnack(ack, version === 5 ? RC.SERVER_UNAVAILABLE : 0x03);
      await c.waitClosed();
    });
  }

  it('MQTT-3.1.4-2 the hook answering after the client went away opens no session', async () => {
    let release!: (r: AuthResult) => void;
    let called!: () => void;
    const calledP = new Promise<void>((r) => (called = r));
    const id = uid();
    const tb = await h.broker({
      hooks: {
        authenticate: (req) => {
          if (req.client.clientId !== id) return Promise.resolve({ ok: true });
          called();
          return new Promise<AuthResult>((r) => (release = r));
        },
      },
    });
    const c = await h.open(tb.port, 5);
    c.send({ type: 1, protocolName: 'MQTT', protocolVersion: 5, clean: false, keepalive: 60, clientId: id, properties: { sessionExpiryInterval: 60 } });
    await calledP;
    c.close();
    await waitUntil(() => tb.broker.stats.connectionsClosed.get('socket-closed') === 1, 5000, 'server-side close');
    release({ ok: true });
    // The hook's answer is handled in microtasks; a full round trip on another connection comes after them.
    const other = await h.connect(tb.port, 5);
    expectConnack(other.ack, 0);
    expect(tb.broker.sessions.has(id)).toBe(false);
    expect(tb.broker.stats.connectionsAccepted).toBe(1);
  });
});

describe('auth.allowAnonymous', () => {
  it('MQTT-3.1.4-2 allowAnonymous false without a hook: a CONNECT without user name is refused (v5 0x87, 3.1.1 0x05)', async () => {
    const tb = await h.broker({ config: { auth: { allowAnonymous: false, users: [] } } });
    const v5 = await h.connect(tb.port, 5);
    expectConnack(v5.ack, RC.NOT_AUTHORIZED);
    expectReasonString(v5.ack);
    await v5.c.waitClosed();
    const v4 = await h.connect(tb.port, 4);
    expectConnack(v4.ack, 0x05);
    await v4.c.waitClosed();
  });

  it('MQTT-3.1.4-2 allowAnonymous true (the default) without a hook accepts anonymous clients', async () => {
    const tb = await h.broker();
    const c = await h.connected(tb.port, 5);
    await expectNothing(c);
  });
});

describe('authorization of the will at CONNECT', () => {
  it('MQTT-3.1.4-2 a will topic the client may not publish to refuses the CONNECT with 0x87', async () => {
    const tb = await h.broker({ hooks: { authorizePublish: (_c, topic) => !topic.startsWith('forbidden/') } });
    const { c, ack } = await h.connect(tb.port, 5, { will: { topic: 'forbidden/will', payload: Buffer.from('x'), qos: 0, retain: false } });
    expectConnack(ack, RC.NOT_AUTHORIZED);
    await c.waitClosed();
    const ok = await h.connect(tb.port, 5, { will: { topic: 'allowed/will', payload: Buffer.from('x'), qos: 0, retain: false } });
    expectConnack(ok.ack, 0);
    await expectNothing(ok.c, 14);
  });
});
