/**
 * MQTT 5 enhanced authentication (MQTT5 4.12, 3.15 AUTH): unsupported methods, a two-step
 * challenge, failures, re-authentication, and AUTH packets that break the rules.
 */
import { describe, expect, it } from 'vitest';
import { RC, type Packet } from '../../src/codec/mqtt/index.js';
import type { EnhancedAuthResult, EnhancedAuthStep, Hooks } from '../../src/broker/hooks.js';
import type { RawClient } from '../helpers/raw-client.js';
import {
  connectPacket,
  expectConnack,
  expectDisconnectThenClose,
  expectNothing,
  expectReasonString,
  nextPacket,
  useHarness,
  type AuthOf,
  type ConnackOf,
} from '../helpers/connect-harness.js';

const h = useHarness();
const METHOD = 'X-CHALLENGE';

/**
 * A two-step method: CONNECT carries "hello", the server challenges with "nonce", the client
 * must answer "nonce-signed"; success carries "welcome". Re-authentication (step >= 2) runs the
 * same exchange again; a client answering "wrong" fails with `failCode`.
 */
function challengeHook(steps: EnhancedAuthStep[], failCode: number = RC.NOT_AUTHORIZED): Hooks {
  return {
    enhancedAuth: async (step) => {
      steps.push(step);
      if (step.method !== METHOD) return { status: 'fail', reasonCode: RC.BAD_AUTHENTICATION_METHOD };
      const data = step.data?.toString();
      if (data === 'hello') return { status: 'continue', data: Buffer.from('nonce') };
      if (data === 'nonce-signed') return { status: 'success', data: Buffer.from('welcome') };
      return { status: 'fail', reasonCode: failCode, reason: 'challenge failed' };
    },
  };
}

function authPacket(reasonCode: number, data?: string, method = METHOD): Packet {
  return {
    type: 15,
    reasonCode,
    properties: data === undefined ? { authenticationMethod: method } : { authenticationMethod: method, authenticationData: Buffer.from(data) },
  };
}

/** Runs CONNECT -> AUTH 0x18 -> AUTH 0x18 -> CONNACK and returns the client and the CONNACK. */
async function authenticate(port: number): Promise<{ c: RawClient; ack: ConnackOf; challenge: AuthOf }> {
  const c = await h.open(port, 5);
  c.send(connectPacket(5, { properties: { authenticationMethod: METHOD, authenticationData: Buffer.from('hello') } }));
  const challenge = (await nextPacket(c)) as AuthOf;
  expect(challenge.type).toBe(15);
  c.send(authPacket(RC.CONTINUE_AUTHENTICATION, 'nonce-signed'));
  const ack = (await nextPacket(c, 2)) as ConnackOf;
  return { c, ack, challenge };
}

describe('authentication method at CONNECT', () => {
  it('MQTT-4.12.0-1 without an enhancedAuth hook any Authentication Method gets CONNACK 0x8C, then close', async () => {
    const tb = await h.broker();
    const { c, ack } = await h.connect(tb.port, 5, { properties: { authenticationMethod: 'SCRAM-SHA-256', authenticationData: Buffer.from('x') } });
    expectConnack(ack, RC.BAD_AUTHENTICATION_METHOD);
    expectReasonString(ack);
    await c.waitClosed();
  });

  it('MQTT-4.12.0-1 a method the hook does not support is refused with the hook reason 0x8C', async () => {
    const tb = await h.broker({ hooks: challengeHook([]) });
    const { c, ack } = await h.connect(tb.port, 5, { properties: { authenticationMethod: 'OTHER' } });
    expectConnack(ack, RC.BAD_AUTHENTICATION_METHOD);
    await c.waitClosed();
  });
});

describe('two-step challenge', () => {
  it('MQTT-4.12.0-2 / MQTT-4.12.0-5 the server challenges with AUTH 0x18 and the method; the CONNACK carries the method and final data', async () => {
    const steps: EnhancedAuthStep[] = [];
    const tb = await h.broker({ hooks: challengeHook(steps) });
    const { c, ack, challenge } = await authenticate(tb.port);
    expect(challenge.reasonCode).toBe(RC.CONTINUE_AUTHENTICATION);
    expect(challenge.properties?.authenticationMethod).toBe(METHOD);
    expect(challenge.properties?.authenticationData?.toString()).toBe('nonce');
    expectConnack(ack, 0);
    expect(ack.properties?.authenticationMethod).toBe(METHOD);
    expect(ack.properties?.authenticationData?.toString()).toBe('welcome');
    expect(steps.map((s) => [s.step, s.method, s.data?.toString()])).toEqual([
      [0, METHOD, 'hello'],
      [1, METHOD, 'nonce-signed'],
    ]);
    await expectNothing(c);
  });

  it('MQTT-4.12.0-4 a wrong answer to the challenge is refused with CONNACK (the hook reason 0x87), then close', async () => {
    const tb = await h.broker({ hooks: challengeHook([]) });
    const c = await h.open(tb.port, 5);
    c.send(connectPacket(5, { properties: { authenticationMethod: METHOD, authenticationData: Buffer.from('hello') } }));
    await nextPacket(c, 15);
    c.send(authPacket(RC.CONTINUE_AUTHENTICATION, 'wrong'));
    const ack = await nextPacket(c, 2);
    expectConnack(ack, RC.NOT_AUTHORIZED);
    expectReasonString(ack);
    await c.waitClosed();
  });

  it('MQTT-4.12.0-3 answering the challenge with an AUTH reason other than 0x18 is a Protocol Error: CONNACK 0x82', async () => {
    const tb = await h.broker({ hooks: challengeHook([]) });
    const c = await h.open(tb.port, 5);
    c.send(connectPacket(5, { properties: { authenticationMethod: METHOD, authenticationData: Buffer.from('hello') } }));
    await nextPacket(c, 15);
    c.send(authPacket(RC.SUCCESS, 'nonce-signed'));
    expectConnack(await nextPacket(c, 2), RC.PROTOCOL_ERROR);
    await c.waitClosed();
  });

  it('MQTT-4.12.0-5 answering the challenge with a different Authentication Method is a Protocol Error: CONNACK 0x82', async () => {
    const steps: EnhancedAuthStep[] = [];
    const tb = await h.broker({ hooks: challengeHook(steps) });
    const c = await h.open(tb.port, 5);
    c.send(connectPacket(5, { properties: { authenticationMethod: METHOD, authenticationData: Buffer.from('hello') } }));
    await nextPacket(c, 15);
    c.send(authPacket(RC.CONTINUE_AUTHENTICATION, 'nonce-signed', 'SOMETHING-ELSE'));
    const ack = await nextPacket(c, 2);
    expectConnack(ack, RC.PROTOCOL_ERROR);
    expectReasonString(ack);
    await c.waitClosed();
    expect(steps).toHaveLength(1); // the hook never saw the bad AUTH
  });

  it('MQTT-3.2.2-8 a client that never answers the challenge is closed at the connect timeout, with a valid CONNACK code if any', async () => {
    const tb = await h.broker({ hooks: challengeHook([]), config: { mqtt: { connectTimeoutMs: 500 } } });
    const c = await h.open(tb.port, 5);
    c.send(connectPacket(5, { properties: { authenticationMethod: METHOD, authenticationData: Buffer.from('hello') } }));
    await nextPacket(c, 15);
    await c.waitClosed(5000);
    expect(c.decodeError?.message).toBeUndefined();
    for (const p of c.packets) {
      expect(p.type).toBe(2);
      expect((p as ConnackOf).reasonCode).toBeGreaterThanOrEqual(0x80);
    }
  });

  it('MQTT-4.12.0-5 MQTT.js completes the challenge through its handleAuth callback', async () => {
    const tb = await h.broker({ hooks: challengeHook([]) });
    const client = h.mqttManual(tb.port, {
      protocolVersion: 5,
      properties: { authenticationMethod: METHOD, authenticationData: Buffer.from('hello') },
    });
    client.handleAuth = (packet, callback) => {
      const data = packet.properties?.authenticationData?.toString();
      callback(undefined, {
        cmd: 'auth',
        reasonCode: RC.CONTINUE_AUTHENTICATION,
        properties: { authenticationMethod: METHOD, authenticationData: Buffer.from(`${data}-signed`) },
      });
    };
    const connected = new Promise<{ properties?: { authenticationMethod?: string } }>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    });
    client.connect();
    const connack = await connected;
    expect(connack.properties?.authenticationMethod).toBe(METHOD);
  });
});

describe('re-authentication (MQTT5 4.12.1)', () => {
  it('MQTT-4.12.1-1 AUTH 0x19 with the same method re-runs the exchange: AUTH 0x18, then AUTH 0x00 with the method; the connection goes on', async () => {
    const steps: EnhancedAuthStep[] = [];
    const tb = await h.broker({ hooks: challengeHook(steps) });
    const { c, ack } = await authenticate(tb.port);
    expectConnack(ack, 0);
    c.send(authPacket(RC.REAUTHENTICATE, 'hello'));
    const challenge = (await nextPacket(c, 15)) as AuthOf;
    expect(challenge.reasonCode).toBe(RC.CONTINUE_AUTHENTICATION);
    expect(challenge.properties?.authenticationMethod).toBe(METHOD);
    c.send(authPacket(RC.CONTINUE_AUTHENTICATION, 'nonce-signed'));
    const done = (await nextPacket(c, 15)) as AuthOf;
    expect(done.reasonCode ?? 0).toBe(RC.SUCCESS);
    expect(done.properties?.authenticationMethod).toBe(METHOD);
    expect(done.properties?.authenticationData?.toString()).toBe('welcome');
    expect(steps.map((s) => s.step)).toEqual([0, 1, 2, 3]);
    await expectNothing(c);
    expect(c.closed).toBe(false);
  });

  it('MQTT-4.12.1-2 a failed re-authentication ends with DISCONNECT (0x87, with a Reason String), then close', async () => {
    const tb = await h.broker({ hooks: challengeHook([]) });
    const { c } = await authenticate(tb.port);
    c.send(authPacket(RC.REAUTHENTICATE, 'hello'));
    await nextPacket(c, 15);
    c.send(authPacket(RC.CONTINUE_AUTHENTICATION, 'wrong'));
    await expectDisconnectThenClose(c, RC.NOT_AUTHORIZED);
  });

  it('MQTT-3.14.2-1 a re-authentication refused with a CONNACK-only code (0x86) still ends with a valid DISCONNECT reason code', async () => {
    const tb = await h.broker({ hooks: challengeHook([], RC.BAD_USER_NAME_OR_PASSWORD) });
    const { c } = await authenticate(tb.port);
    c.send(authPacket(RC.REAUTHENTICATE, 'hello'));
    await nextPacket(c, 15);
    c.send(authPacket(RC.CONTINUE_AUTHENTICATION, 'wrong'));
    const d = await nextPacket(c, 14);
    // DISCONNECT reason codes (MQTT5 3.14.2.1) have no 0x86; the decoder refuses any code outside the table.
    expect((d as { reasonCode?: number }).reasonCode).toBeGreaterThanOrEqual(0x80);
    expectReasonString(d);
    await c.waitClosed();
  });

  it('MQTT-3.14.2-1 a re-authentication whose hook throws ends with a valid DISCONNECT reason code (no 0x88 in DISCONNECT)', async () => {
    let calls = 0;
    const tb = await h.broker({
      hooks: {
        enhancedAuth: async (): Promise<EnhancedAuthResult> => {
          if (calls++ === 0) return { status: 'success' };
          throw new Error('auth backend down');
        },
      },
    });
    const { c, ack } = await h.connect(tb.port, 5, { properties: { authenticationMethod: METHOD } });
    expectConnack(ack, 0);
    c.send(authPacket(RC.REAUTHENTICATE));
    const d = await nextPacket(c, 14);
    expect((d as { reasonCode?: number }).reasonCode).toBeGreaterThanOrEqual(0x80);
    await c.waitClosed();
  });

  it('MQTT-4.12.1-1 AUTH 0x19 with a different Authentication Method is a Protocol Error: DISCONNECT 0x82', async () => {
    const tb = await h.broker({ hooks: challengeHook([]) });
    const { c } = await authenticate(tb.port);
    c.send(authPacket(RC.REAUTHENTICATE, 'hello', 'OTHER-METHOD'));
    await expectDisconnectThenClose(c, RC.PROTOCOL_ERROR);
  });

  it('MQTT-4.12.0-7 / MQTT5 3.15 AUTH from a client that connected without an Authentication Method: DISCONNECT 0x82', async () => {
    const tb = await h.broker({ hooks: challengeHook([]) });
    const c = await h.connected(tb.port, 5);
    c.send(authPacket(RC.REAUTHENTICATE, 'hello'));
    await expectDisconnectThenClose(c, RC.PROTOCOL_ERROR);
  });
});
