/**
 * Issue 6: "Authentication and other hooks that call out run under a deadline and a
 * breaker; a failing auth backend gives a clear CONNACK (0x88 server unavailable), not a
 * hang." MQTT5 3.2.2.2: 0x88 Server unavailable; 3.1.1 (MQTT-3.2.2-4, table 3.1): 0x03.
 *
 * The breaker (src/broker/broker.ts authBreaker): auth.breakerFailures consecutive failures
 * (thrown errors, rejections, deadline overruns) open it; while open, CONNECTs get 0x88 at
 * once and the hook is not called; after auth.breakerOpenMs it lets trial calls through
 * (half-open, 3 trials by default): all succeeding close it, one failing opens it again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AuthResult, EnhancedAuthResult } from '../../src/broker/hooks.js';
import type { ConnackPacket, Packet } from '../../src/codec/mqtt/packets.js';
import { CONNACK_V3, RC } from '../../src/codec/mqtt/reason-codes.js';
import type { TestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { startResilienceBroker, waitUntil } from '../helpers/resilience-broker.js';

let b: TestBroker | undefined;
const clients: RawClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await b?.stop();
  b = undefined;
});

async function connack(port: number, version: 4 | 5, clientId: string, timeoutMs = 5000): Promise<{ ack: ConnackPacket; ms: number; c: RawClient }> {
  const c = await RawClient.open(port, version);
  clients.push(c);
  const t0 = Date.now();
  c.send({ type: 1, protocolName: 'MQTT', protocolVersion: version, clean: true, keepalive: 60, clientId } as Packet);
  const ack = (await c.next(2, timeoutMs)) as ConnackPacket;
  return { ack, ms: Date.now() - t0, c };
}

type Mode = 'ok' | 'throw' | 'reject' | 'hang';

/** An authentication hook whose behaviour the test switches; counts its calls and the aborts it saw. */
function backend() {
  const state = { mode: 'ok' as Mode, calls: 0, aborted: 0 };
  const authenticate = (_req: unknown, signal: AbortSignal): Promise<AuthResult> => {
    state.calls++;
    signal.addEventListener('abort', () => state.aborted++, { once: true });
    switch (state.mode) {
      case 'ok':
        return Promise.resolve({ ok: true });
      case 'throw':
        throw new Error('auth backend exploded'); // synchronous throw from the hook
      case 'reject':
        return Promise.reject(new Error('auth backend: connection refused'));
      case 'hang':
        return new Promise<AuthResult>(() => undefined); // never settles
    }
  };
  return { state, hooks: { authenticate } };
}

describe('authentication under a deadline and a breaker (issue 6)', () => {
  it('MQTT5 3.2.2.2 a hook that throws or rejects: CONNACK 0x88 (Server unavailable) with a Reason String; 3.1.1: 0x03; no session', async () => {
    const be = backend();
    b = await startResilienceBroker({ hooks: be.hooks, config: { auth: { breakerFailures: 100 } } });
    be.state.mode = 'throw';
    const a = await connack(b.port, 5, 'thrower');
    expect(a.ack.reasonCode).toBe(RC.SERVER_UNAVAILABLE);
    expect(a.ack.properties?.reasonString).toBe('Authentication service unavailable');
    await a.c.waitClosed();
    be.state.mode = 'reject';
    const r = await connack(b.port, 5, 'rejecter');
    expect(r.ack.reasonCode).toBe(RC.SERVER_UNAVAILABLE);
    const v3 = await connack(b.port, 4, 'rejecter-311');
    expect(v3.ack.reasonCode).toBe(CONNACK_V3.SERVER_UNAVAILABLE);
    await v3.c.waitClosed();
    expect(be.state.calls).toBe(3);
    expect(b.broker.sessions.size).toBe(0);
  });

  it('MQTT5 3.2.2.2 a hook that never answers: CONNACK 0x88 when the connect deadline (mqtt.connectTimeoutMs) runs out, not a hang; the hook sees its AbortSignal fire', async () => {
    const be = backend();
    const DEADLINE = 600;
    b = await startResilienceBroker({ hooks: be.hooks, config: { mqtt: { connectTimeoutMs: DEADLINE }, auth: { breakerFailures: 100 } } });
    be.state.mode = 'hang';
    const h = await connack(b.port, 5, 'hanger', 10_000);
    expect(h.ack.reasonCode).toBe(RC.SERVER_UNAVAILABLE);
    // The deadline counts from the accept; the answer comes at it, not at the sweep's backstop (+1 s).
    expect(h.ms).toBeGreaterThanOrEqual(DEADLINE - 50);
    expect(h.ms).toBeLessThan(DEADLINE + 900);
    await h.c.waitClosed();
    expect(be.state.aborted).toBe(1);
    const v3 = await connack(b.port, 4, 'hanger-311', 10_000);
    expect(v3.ack.reasonCode).toBe(CONNACK_V3.SERVER_UNAVAILABLE);
  });

  it('auth.breakerFailures consecutive failures open the breaker: further CONNECTs get 0x88 at once without calling the hook; after auth.breakerOpenMs trial calls go through and their success closes it', async () => {
    const be = backend();
    const FAILURES = 3;
    const OPEN_MS = 400;
    b = await startResilienceBroker({ hooks: be.hooks, config: { auth: { breakerFailures: FAILURES, breakerOpenMs: OPEN_MS } } });
    const breaker = b.broker.authBreaker;
    be.state.mode = 'reject';
    for (let i = 0; i < FAILURES; i++) expect((await connack(b.port, 5, `fail-${i}`)).ack.reasonCode).toBe(RC.SERVER_UNAVAILABLE);
    expect(be.state.calls).toBe(FAILURES);
    expect(breaker.state).toBe('open');

    // Open: answered at once, the backend is left alone (even once it would work again).
    be.state.mode = 'ok';
    for (let i = 0; i < 5; i++) {
      const r = await connack(b.port, 5, `while-open-${i}`);
      expect(r.ack.reasonCode).toBe(RC.SERVER_UNAVAILABLE);
      expect(r.ack.properties?.reasonString).toBe('Authentication service unavailable (breaker open)');
    }
    const v3 = await connack(b.port, 4, 'while-open-311');
    expect(v3.ack.reasonCode).toBe(CONNACK_V3.SERVER_UNAVAILABLE);
    expect(be.state.calls).toBe(FAILURES);

    // After breakerOpenMs: half-open; 3 trial calls (the breaker's default), all succeeding, close it.
    await waitUntil(() => breaker.state === 'half-open', 'the breaker to go half-open', OPEN_MS + 5000);
    for (let i = 0; i < 3; i++) {
      const r = await connack(b.port, 5, `trial-${i}`);
      expect(r.ack.reasonCode).toBe(RC.SUCCESS);
    }
    expect(be.state.calls).toBe(FAILURES + 3);
    expect(breaker.state).toBe('closed');
    const after = await connack(b.port, 5, 'after');
    expect(after.ack.reasonCode).toBe(RC.SUCCESS);
    expect(be.state.calls).toBe(FAILURES + 4);
  });

  it('a failing trial call in half-open opens the breaker again (0x88 at once, no hook call); hangs count as failures too', async () => {
    const be = backend();
    const OPEN_MS = 400;
    b = await startResilienceBroker({
      hooks: be.hooks,
      config: { mqtt: { connectTimeoutMs: 300 }, auth: { breakerFailures: 2, breakerOpenMs: OPEN_MS } },
    });
    const breaker = b.broker.authBreaker;
    be.state.mode = 'hang'; // deadline overruns are failures
    for (let i = 0; i < 2; i++) expect((await connack(b.port, 5, `hang-${i}`)).ack.reasonCode).toBe(RC.SERVER_UNAVAILABLE);
    expect(breaker.state).toBe('open');
    await waitUntil(() => breaker.state === 'half-open', 'half-open', OPEN_MS + 5000);
    be.state.mode = 'reject';
    expect((await connack(b.port, 5, 'trial-fails')).ack.reasonCode).toBe(RC.SERVER_UNAVAILABLE);
    expect(be.state.calls).toBe(3);
    expect(breaker.state).toBe('open');
    const r = await connack(b.port, 5, 'refused-again');
    expect(r.ack.reasonCode).toBe(RC.SERVER_UNAVAILABLE);
    expect(r.ack.properties?.reasonString).toBe('Authentication service unavailable (breaker open)');
    expect(be.state.calls).toBe(3);
  });

  it('MQTT5 4.12 the enhanced authentication hook calls out too: a failing backend gives 0x88 and, after auth.breakerFailures failures, 0x88 at once without calling it', async () => {
    let calls = 0;
    const FAILURES = 3;
    b = await startResilienceBroker({
      config: { auth: { breakerFailures: FAILURES, breakerOpenMs: 60_000 } },
      hooks: {
        enhancedAuth: (): Promise<EnhancedAuthResult> => {
          calls++;
          return Promise.reject(new Error('SCRAM backend down'));
        },
      },
    });
    const enhanced = async (clientId: string): Promise<ConnackPacket> => {
      const c = await RawClient.open(b!.port, 5);
      clients.push(c);
      c.send({
        type: 1,
        protocolName: 'MQTT',
        protocolVersion: 5,
        clean: true,
        keepalive: 60,
        clientId,
        properties: { authenticationMethod: 'SCRAM-SHA-256', authenticationData: Buffer.from('client-first') },
      } as Packet);
      return (await c.next(2)) as ConnackPacket;
    };
    for (let i = 0; i < FAILURES; i++) expect((await enhanced(`scram-${i}`)).reasonCode).toBe(RC.SERVER_UNAVAILABLE);
    expect(calls).toBe(FAILURES);
    for (let i = 0; i < 3; i++) expect((await enhanced(`scram-more-${i}`)).reasonCode).toBe(RC.SERVER_UNAVAILABLE);
    // The failing backend is not called again while the breaker is open.
    expect(calls).toBe(FAILURES);
  });
});
