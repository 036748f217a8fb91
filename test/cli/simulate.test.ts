/**
 * Issue 5 simulator: `holdfast simulate --devices 20` (a process) against a real holdfast
 * (in this process, sqlite stores so that the registry survives a restart): the meters are
 * provisioned through the registry API, all connect with their own secrets, report
 * telemetry, answer a command (MQTT 5 and 3.1.1 meters: --protocol mixed) and a shadow
 * delta, and reconnect with exponential backoff and full jitter after a kick and after the
 * broker restarts. While the broker is down, a stand-in listener on its port reads each
 * CONNECT (client id, time) and closes the connection: that is where the backoff shows.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MqttDecoder } from '../../src/codec/mqtt/index.js';
import { waitUntil } from '../helpers/transport-wait.js';
import { ADMIN_TOKEN, eventually, startApiApp, type ApiApp } from '../integration/api-harness.js';
import { ensureBuilt, startDaemon, tempDir, type Daemon } from './helpers.js';

const N = 20;
let api: ApiApp;
let sim: Daemon;
let observer: MqttClient;
const telemetryFrom = new Set<string>();
const ids = Array.from({ length: N }, (_, i) => `sim-${String(i + 1).padStart(5, '0')}`);

interface Progress {
  kind: string;
  connected: number;
  connects: number;
  connectFailures: number;
  connectionsLost: number;
  telemetrySent: number;
  commandsAnswered: number;
  deltasApplied: number;
  failuresByReason: Record<string, number>;
}

/** Progress lines of the simulator (--json --report-s 1): one JSON object per line. */
const latest = (): Progress | undefined => sim.records.filter((r) => r.kind === 'progress' || r.kind === 'final').at(-1) as Progress | undefined;
const waitProgress = (ok: (p: Progress) => boolean, what: string, timeoutMs = 30_000): Promise<void> =>
  waitUntil(() => latest() !== undefined && ok(latest()!), timeoutMs, what, () => ({ last: latest(), stderr: sim.stderr().slice(-500) }));

beforeAll(async () => {
  await ensureBuilt();
  api = await startApiApp({ store: { kind: 'sqlite' }, platform: { presence: { graceMs: 0 } } });
  observer = await mqtt.connectAsync(api.mqttUrl, { clientId: 'telemetry-observer', reconnectPeriod: 0 });
  observer.on('message', (topic) => telemetryFrom.add(topic.split('/')[1]!));
  await observer.subscribeAsync('devices/+/telemetry', { qos: 0 });
  const dir = tempDir('holdfast-sim-');
  sim = startDaemon(
    [
      'simulate', '--devices', String(N), '--rate', '40', '--protocol', 'mixed', '--mqtt-port', String(api.mqttPort),
      '--secrets', join(dir, 'secrets.json'), '--json', '--report-s', '1', '--connect-rate', '1000',
      '--backoff-base-ms', '100', '--backoff-cap-ms', '2000',
    ],
    { env: { HOLDFAST_URL: api.base, HOLDFAST_TOKEN: ADMIN_TOKEN } },
  );
}, 180_000);

afterAll(async () => {
  if (sim !== undefined && sim.child.exitCode === null) {
    sim.child.kill('SIGKILL');
    await sim.exited;
  }
  await observer?.endAsync(true);
  await api?.stop();
});

describe('issue 5 simulator: holdfast simulate --devices 20 against a real server', () => {
  it('issue 5 simulate provisions its meters in the registry and connects every one with its own secret', async () => {
    await waitProgress((p) => p.connected === N, `all ${N} meters connected`);
    const listed = await api.call('GET', '/api/devices?label=simulator:holdfast&limit=100');
    expect(listed.body.items.map((d: { id: string }) => d.id)).toEqual(ids);
    const creds = await api.call('GET', `/api/devices/${ids[0]}/credentials`);
    expect(creds.body.items.map((c: { kind: string }) => c.kind)).toEqual(['secret']);
    const online = await eventually(async () => (await api.call('GET', '/api/devices?presence=connected&label=simulator:holdfast&limit=100')).body.items.length, (n: number) => n === N, 10_000, 'presence connected');
    expect(online).toBe(N);
    const clients = (await api.call('GET', '/api/clients?limit=100')).body.items;
    const versions = new Set(clients.filter((c: { clientId: string }) => c.clientId.startsWith('sim-')).map((c: { protocolVersion: number }) => c.protocolVersion));
    expect([...versions].sort()).toEqual([4, 5]);
  });

  it('issue 5 simulate publishes telemetry from the meters (seen by a subscriber)', async () => {
    await waitUntil(() => telemetryFrom.size >= 10, 20_000, 'telemetry from 10 meters', () => [...telemetryFrom]);
    for (const id of telemetryFrom) expect(ids).toContain(id);
    expect(latest()!.telemetrySent).toBeGreaterThan(0);
  });

  it('issue 5 simulate answers a command (MQTT 5 and 3.1.1 meters) and applies a shadow delta', async () => {
    for (const id of [ids[0]!, ids[1]!]) {
      const r = await api.call('POST', `/api/devices/${id}/commands?waitMs=15000`, { body: { name: 'echo', payload: { x: 1 } } });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({ state: 'acked', result: { name: 'echo', echo: { x: 1 } } });
    }
    const set = await api.call('PATCH', `/api/devices/${ids[2]}/shadow/desired`, { body: { desired: { interval: 15 } } });
    expect(set.body.delta).toEqual({ interval: 15 });
    const synced = await eventually(async () => (await api.call('GET', `/api/devices/${ids[2]}/shadow`)).body, (s) => s.reported.interval === 15, 15_000, 'the meter to report interval 15');
    expect(synced.delta).toEqual({});
    await waitProgress((p) => p.commandsAnswered >= 2 && p.deltasApplied >= 1, 'the answers in the summary');
  });

  it('issue 5 simulate reconnects a kicked meter (backoff) and keeps answering commands', async () => {
    const before = latest()!;
    expect((await api.call('DELETE', `/api/clients/${ids[4]}`)).status).toBe(204);
    await waitProgress((p) => p.connectionsLost > before.connectionsLost && p.connected === N && p.connects > before.connects, 'the kicked meter back');
    const r = await api.call('POST', `/api/devices/${ids[4]}/commands?waitMs=15000`, { body: { name: 'after-kick' } });
    expect(r.body.state).toBe('acked');
  });

  it('issue 5 simulate retries with exponential backoff and full jitter while the broker is down, and every meter is back after the restart', async () => {
    const before = latest()!;
    const attempts = new Map<string, number[]>();
    let standIn: Server | undefined;
    const sockets = new Set<Socket>();
    const outageMs = 4_000;
    let outageStart = 0;
    await api.restart(async () => {
      // The broker is gone: a stand-in on its port reads each CONNECT and hangs up.
      standIn = createServer((s) => {
        sockets.add(s);
        const decoder = new MqttDecoder();
        s.on('error', () => undefined);
        s.on('close', () => sockets.delete(s));
        s.on('data', (chunk) => {
          try {
            decoder.push(chunk, (p) => {
              if (p.type !== 1) return;
              attempts.set(p.clientId, [...(attempts.get(p.clientId) ?? []), Date.now()]);
              s.destroy();
            });
          } catch {
            s.destroy();
          }
        });
      });
      await new Promise<void>((resolve, reject) => {
        standIn!.once('error', reject);
        standIn!.listen(api.mqttPort, '127.0.0.1', resolve);
      });
      outageStart = Date.now();
      await waitUntil(() => attempts.size === N && Date.now() - outageStart >= outageMs, outageMs + 15_000, 'a CONNECT from every meter during the outage', () => [...attempts.keys()]);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => standIn!.close(() => resolve()));
    });
    // Backoff: within the outage each meter tried a few times, not every tick (base 100 ms, cap 2 s:
    // the expected number of attempts in 4 s is about 6; without backoff it would be ~80 at the 50 ms tick).
    const counts = ids.map((id) => (attempts.get(id) ?? []).filter((t) => t - outageStart <= outageMs).length);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...counts)).toBeLessThanOrEqual(20);
    const mean = counts.reduce((a, b) => a + b, 0) / N;
    expect(mean).toBeLessThan(15);
    // Exponential: across meters, later gaps are longer than the first ones.
    const gaps = ids.map((id) => (attempts.get(id) ?? []).map((t, i, a) => (i === 0 ? 0 : t - a[i - 1]!)).slice(1)).filter((g) => g.length >= 4);
    expect(gaps.length).toBeGreaterThan(N / 2);
    const firstGaps = gaps.map((g) => g[0]!);
    const laterGaps = gaps.map((g) => g.slice(-2)).flat();
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(avg(laterGaps)).toBeGreaterThan(avg(firstGaps));
    // Full jitter: the same retry of different meters waits different times. The third gap
    // during the outage is uniform in [0, 800 ms] (base 100 ms x 2^3); without jitter all 20
    // would be equal up to the fleet's 50 ms tick (connect pacing is out of the way at 1000/s).
    const third = gaps.map((g) => g[2]!);
    expect(Math.max(...third) - Math.min(...third)).toBeGreaterThan(200);

    await waitProgress((p) => p.connected === N && p.connects >= before.connects + N, `all ${N} meters back after the restart`, 60_000);
    const after = latest()!;
    expect(after.connectFailures).toBeGreaterThan(before.connectFailures);
    const online = await eventually(async () => (await api.call('GET', '/api/devices?presence=connected&label=simulator:holdfast&limit=100')).body.items.length, (n: number) => n === N, 15_000, 'presence connected after the restart');
    expect(online).toBe(N);
    const r = await api.call('POST', `/api/devices/${ids[7]}/commands?waitMs=15000`, { body: { name: 'after-restart' } });
    expect(r.body.state).toBe('acked');
  }, 120_000);

  it('issue 5 simulate stops on SIGINT with a final summary and exit 0', async () => {
    sim.child.kill('SIGINT');
    const r = await sim.exited;
    expect(r.code).toBe(0);
    const final = sim.records.find((x) => x.kind === 'final') as Progress | undefined;
    expect(final).toBeDefined();
    expect(final!.commandsAnswered).toBeGreaterThanOrEqual(4);
  });
});
