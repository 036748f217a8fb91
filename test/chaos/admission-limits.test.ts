/**
 * Issue 6, connection admission: maximum connections (global and per listener) and the
 * connect rate per source address. A refused CONNECT is answered in the client's own
 * protocol version (v5: 0x97 Quota exceeded / 0x9F Connection rate exceeded, with a Reason
 * String, MQTT5 3.2.2.2 and 3.2.2.3.9; 3.1.1: 0x03 Server unavailable, MQTT-3.2.2-4 ff.) and
 * costs nothing expensive: the authentication hook is not called and no session is made.
 */
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConnackPacket, Packet } from '../../src/codec/mqtt/packets.js';
import { CONNACK_V3, RC } from '../../src/codec/mqtt/reason-codes.js';
import type { AuthRequest } from '../../src/broker/hooks.js';
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

/** Opens a socket, sends CONNECT, returns the CONNACK (and the client, still open or closing). */
async function connectRaw(port: number, version: 4 | 5, clientId: string): Promise<{ c: RawClient; ack: ConnackPacket }> {
  const c = await RawClient.open(port, version);
  clients.push(c);
  c.send({ type: 1, protocolName: 'MQTT', protocolVersion: version, clean: true, keepalive: 60, clientId } as Packet);
  const ack = (await c.next(2, 5000)) as ConnackPacket;
  return { c, ack };
}

describe('connection limits (issue 6)', () => {
  it('MQTT5 3.2.2.2 admission.maxConnections: the connection over the limit gets CONNACK 0x97 (Quota exceeded) with a Reason String; 3.1.1 gets 0x03; a freed slot admits again', async () => {
    const authCalls: string[] = [];
    b = await startResilienceBroker({
      config: { admission: { maxConnections: 3 } },
      hooks: {
        authenticate: (req: AuthRequest) => {
          authCalls.push(req.client.clientId);
          return Promise.resolve({ ok: true });
        },
      },
    });
    const held: RawClient[] = [];
    for (let i = 0; i < 3; i++) {
      const { c, ack } = await connectRaw(b.port, 5, `held-${i}`);
      expect(ack.reasonCode).toBe(RC.SUCCESS);
      held.push(c);
    }
    const over = await connectRaw(b.port, 5, 'over-v5');
    expect(over.ack.reasonCode).toBe(RC.QUOTA_EXCEEDED);
    expect(over.ack.sessionPresent).toBe(false);
    expect(over.ack.properties?.reasonString).toBe('Connection limit of 3 reached');
    await over.c.waitClosed(); // MQTT-3.2.2-5 / MQTT5 3.2.2.2: the server closes after a refusal
    const over3 = await connectRaw(b.port, 4, 'over-v311');
    expect(over3.ack.reasonCode).toBe(CONNACK_V3.SERVER_UNAVAILABLE);
    await over3.c.waitClosed();
    // Refused before the expensive work: no authentication call, no session.
    expect(authCalls).toEqual(['held-0', 'held-1', 'held-2']);
    expect(b.broker.sessions.has('over-v5')).toBe(false);
    expect(b.broker.sessions.has('over-v311')).toBe(false);
    expect(b.broker.admission.refused.get('max-connections')).toBe(2);

    // The refused sockets and one closed client give their slots back.
    held[0].close();
    const broker = b.broker;
    await waitUntil(() => broker.admission.openConnections === 2, 'the closed connection released');
    const again = await connectRaw(b.port, 5, 'again');
    expect(again.ack.reasonCode).toBe(RC.SUCCESS);
  });

  it('MQTT5 3.2.2.2 admission.maxConnectionsPerListener: the TCP listener refuses its third connection with 0x97 while the WebSocket listener still admits', async () => {
    b = await startResilienceBroker({ config: { admission: { maxConnectionsPerListener: 2 } } });
    for (let i = 0; i < 2; i++) expect((await connectRaw(b.port, 5, `tcp-${i}`)).ack.reasonCode).toBe(RC.SUCCESS);
    const over = await connectRaw(b.port, 5, 'tcp-over');
    expect(over.ack.reasonCode).toBe(RC.QUOTA_EXCEEDED);
    expect(over.ack.properties?.reasonString).toBe('Connection limit of 2 reached on this listener');
    expect(b.broker.admission.refused.get('listener-full')).toBe(1);
    // Another listener has its own count.
    const ws = await mqtt.connectAsync(`ws://127.0.0.1:${b.wsPort}/mqtt`, { protocolVersion: 5, clientId: 'ws-ok', reconnectPeriod: 0 });
    try {
      expect(ws.connected).toBe(true);
    } finally {
      await ws.endAsync();
    }
  });

  it('MQTT5 3.2.2.2 admission.connectRatePerListenerPerS: a connect beyond the listener\'s burst gets 0x9F with a Reason String, without authentication or a session', async () => {
    let authCalls = 0;
    b = await startResilienceBroker({
      config: { admission: { connectRatePerListenerPerS: 1, connectBurstPerListener: 1 } },
      hooks: {
        authenticate: () => {
          authCalls++;
          return Promise.resolve({ ok: true });
        },
      },
    });
    expect((await connectRaw(b.port, 5, 'rate-1')).ack.reasonCode).toBe(RC.SUCCESS);
    const over = await connectRaw(b.port, 5, 'rate-2');
    expect(over.ack.reasonCode).toBe(RC.CONNECTION_RATE_EXCEEDED);
    expect(over.ack.properties?.reasonString).toBe('More than 1 connections per second');
    await over.c.waitClosed();
    expect(authCalls).toBe(1);
    expect(b.broker.sessions.has('rate-2')).toBe(false);
    expect(b.broker.admission.refused.get('listener-rate')).toBe(1);
  });

  it('MQTT5 3.2.2.2 admission.connectRatePerIpPerS: connects from one address beyond its burst get 0x9F (Connection rate exceeded) with a Reason String, 3.1.1 gets 0x03', async () => {
    b = await startResilienceBroker({ config: { admission: { connectRatePerIpPerS: 1, connectBurstPerIp: 2 } } });
    expect((await connectRaw(b.port, 5, 'ip-1')).ack.reasonCode).toBe(RC.SUCCESS);
    expect((await connectRaw(b.port, 5, 'ip-2')).ack.reasonCode).toBe(RC.SUCCESS);
    const over = await connectRaw(b.port, 5, 'ip-3');
    expect(over.ack.reasonCode).toBe(RC.CONNECTION_RATE_EXCEEDED);
    expect(over.ack.properties?.reasonString).toBe('More than 1 connections per second from this address');
    const over3 = await connectRaw(b.port, 4, 'ip-4');
    expect(over3.ack.reasonCode).toBe(CONNACK_V3.SERVER_UNAVAILABLE);
    expect(b.broker.admission.refused.get('ip-rate')).toBe(2);
    expect(b.broker.sessions.has('ip-3')).toBe(false);
  });
});
