/**
 * Issue 6: "Flapping detection: a client id that connects more than N times in a window is
 * banned for a period (v5 0x8A / close), with the ban visible and liftable through the
 * admin API", checked as "a flapping client is banned and unbanned". MQTT5 3.2.2.2: 0x8A
 * Banned; 3.1.1 (MQTT-3.2.2-4 ff., table 3.1): 0x05 Not authorized.
 *
 * The whole app runs in this process (startHoldfast): GET /api/bans lists bans for any
 * bearer token of http.tokens (401 without one), DELETE /api/bans/{clientId} lifts one and
 * needs an admin token (403 with a read token).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ConnackPacket, Packet } from '../../src/codec/mqtt/packets.js';
import { CONNACK_V3, RC } from '../../src/codec/mqtt/reason-codes.js';
import { RawClient } from '../helpers/raw-client.js';
import { ADMIN_TOKEN, READ_TOKEN, startResilienceApp, type ResilienceApp } from '../helpers/resilience-app.js';
import { waitUntil } from '../helpers/resilience-broker.js';

let app: ResilienceApp | undefined;
const clients: RawClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await app?.close();
  app = undefined;
});

const MAX = 3;

/** CONNECT; on success a normal DISCONNECT and wait for the close. Returns the CONNACK. */
async function connectOnce(port: number, clientId: string, version: 4 | 5 = 5): Promise<ConnackPacket> {
  const c = await RawClient.open(port, version);
  clients.push(c);
  c.send({ type: 1, protocolName: 'MQTT', protocolVersion: version, clean: true, keepalive: 60, clientId } as Packet);
  const ack = (await c.next(2)) as ConnackPacket;
  if (ack.reasonCode === 0) c.send({ type: 14, reasonCode: 0 } as Packet);
  await c.waitClosed();
  return ack;
}

/** Connects and disconnects `clientId` flapping.maxConnects times (all admitted), then once more: banned. */
async function flap(port: number, clientId: string, version: 4 | 5 = 5): Promise<ConnackPacket> {
  for (let i = 0; i < MAX; i++) expect((await connectOnce(port, clientId, version)).reasonCode).toBe(0);
  return connectOnce(port, clientId, version);
}

interface BanView {
  clientId: string;
  since: number;
  until: number;
  reason: string;
}
const bansOf = (j: unknown): BanView[] => (j as { bans: BanView[] }).bans;

describe('flapping clients are banned and unbanned (issue 6)', () => {
  it('MQTT5 3.2.2.2 more than flapping.maxConnects CONNECTs in the window: CONNACK 0x8A (Banned) with a Reason String (3.1.1: 0x05); the ban shows in GET /api/bans and DELETE /api/bans/{id} lifts it', async () => {
    app = await startResilienceApp({ flapping: { enabled: true, maxConnects: MAX, windowMs: 60_000, banMs: 600_000 } });
    const port = app.mqttPort;
    const banned = await flap(port, 'flappy');
    expect(banned.reasonCode).toBe(RC.BANNED);
    expect(banned.properties?.reasonString).toMatch(/^Client id banned for 600 s: more than 3 connects in 60 s$/);
    // Still banned on the next try; other client ids are not affected.
    expect((await connectOnce(port, 'flappy')).reasonCode).toBe(RC.BANNED);
    expect((await connectOnce(port, 'steady')).reasonCode).toBe(RC.SUCCESS);
    // 3.1.1: the closest return code.
    expect((await flap(port, 'flappy-311', 4)).reasonCode).toBe(CONNACK_V3.NOT_AUTHORIZED);

    // Visible to the operator (any token), not to anonymous callers.
    expect((await app.http('/api/bans')).status).toBe(401);
    const list = await app.http('/api/bans', { token: READ_TOKEN });
    expect(list.status).toBe(200);
    const bans = bansOf(list.json());
    expect(bans.map((x) => x.clientId).sort()).toEqual(['flappy', 'flappy-311']);
    const ban = bans.find((x) => x.clientId === 'flappy')!;
    expect(ban.reason).toBe('flapping');
    expect(ban.until - ban.since).toBe(600_000);

    // Lifting needs an admin token.
    expect((await app.http('/api/bans/flappy', { method: 'DELETE' })).status).toBe(401);
    expect((await app.http('/api/bans/flappy', { method: 'DELETE', token: READ_TOKEN })).status).toBe(403);
    expect((await connectOnce(port, 'flappy')).reasonCode).toBe(RC.BANNED); // a refused DELETE changed nothing
    const lifted = await app.http('/api/bans/flappy', { method: 'DELETE', token: ADMIN_TOKEN });
    expect(lifted.status).toBe(200);
    expect(lifted.json()).toEqual({ lifted: 'flappy' });
    expect((await app.http('/api/bans/flappy', { method: 'DELETE', token: ADMIN_TOKEN })).status).toBe(404);
    expect(bansOf((await app.http('/api/bans', { token: ADMIN_TOKEN })).json()).map((x) => x.clientId)).toEqual(['flappy-311']);
    // Unbanned: connects again.
    expect((await connectOnce(port, 'flappy')).reasonCode).toBe(RC.SUCCESS);

    // Counted in the metrics.
    const metrics = await app.http('/metrics');
    expect(metrics.status).toBe(200);
    const m = /holdfast_limiter_refusals_total\{limiter="admission:banned"\} (\d+)/.exec(metrics.body);
    expect(Number(m?.[1])).toBe(4); // flappy x3 (flap, retry, after the refused DELETE) + flappy-311
  });

  it('a ban expires by itself after flapping.banMs: gone from GET /api/bans, and the client id connects again', async () => {
    const BAN_MS = 700;
    app = await startResilienceApp({ flapping: { enabled: true, maxConnects: MAX, windowMs: 60_000, banMs: BAN_MS } });
    const port = app.mqttPort;
    const t0 = Date.now();
    expect((await flap(port, 'short-ban')).reasonCode).toBe(RC.BANNED);
    const a = app;
    expect(bansOf((await a.http('/api/bans', { token: READ_TOKEN })).json()).map((x) => x.clientId)).toEqual(['short-ban']);
    await waitUntil(async () => bansOf((await a.http('/api/bans', { token: READ_TOKEN })).json()).length === 0, 'the ban to expire', BAN_MS + 5000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(BAN_MS - 50);
    expect((await connectOnce(port, 'short-ban')).reasonCode).toBe(RC.SUCCESS);
  });
});
