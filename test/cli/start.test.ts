/**
 * `holdfast start` end to end: the real process, the real broker, ephemeral ports.
 * These need the broker core (src/broker/index.ts: Broker, startListeners).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startHoldfast, type RunningHoldfast } from '../../src/app/main.js';
import { silentLogger } from '../../src/observability/logger.js';
import { ensureBuilt, occupyPort, startDaemon, tempDir, type Daemon } from './helpers.js';

beforeAll(ensureBuilt, 180_000);

const EPHEMERAL = ['--bind', '127.0.0.1', '--mqtt-port', '0', '--ws-port', '0', '--http-port', '0'];
const daemons: Daemon[] = [];
afterEach(() => {
  for (const d of daemons.splice(0)) if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
});

function start(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Daemon {
  const d = startDaemon(['start', ...args], opts);
  daemons.push(d);
  return d;
}

interface Ports {
  mqtt: number | null;
  ws: number | null;
  tls: number | null;
  http: number | null;
}

describe('holdfast start (process)', () => {
  it('logs the bound ports, serves /livez /readyz /healthz and MQTT; SIGTERM stops it with exit 0', async () => {
    const cwd = tempDir();
    const d = start([...EPHEMERAL, '--data-dir', 'state'], { cwd });
    const listening = await d.waitForMsg('listening');
    const ports = listening.ports as Ports;
    expect(listening.bind).toBe('127.0.0.1');
    expect(ports.mqtt).toBeGreaterThan(0);
    expect(ports.ws).toBeGreaterThan(0);
    expect(ports.http).toBeGreaterThan(0);
    expect(ports.tls).toBeNull(); // no certificate configured
    expect(existsSync(join(cwd, 'state'))).toBe(true);

    const base = `http://127.0.0.1:${ports.http}`;
    expect((await fetch(`${base}/livez`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const health = await fetch(`${base}/healthz`);
    expect(health.headers.get('content-type')).toMatch(/^application\/health\+json/);
    expect(await health.json()).toMatchObject({ status: 'pass', checks: { 'broker:ready': [{ status: 'pass' }], 'listeners:open': [{ status: 'pass' }] } });

    const tcp = await connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`, { reconnectPeriod: 0, connectTimeout: 5_000 });
    await tcp.endAsync();
    const ws = await connectAsync(`ws://127.0.0.1:${ports.ws}/mqtt`, { reconnectPeriod: 0, connectTimeout: 5_000 });
    await ws.endAsync();

    d.child.kill('SIGTERM');
    const run = await d.exited;
    expect(run.code).toBe(0);
    expect(d.records.map((r) => r.msg)).toEqual(expect.arrayContaining(['stopping', 'stopped']));
  });

  it('SIGINT also stops gracefully with exit 0', async () => {
    const d = start(EPHEMERAL);
    await d.waitForMsg('listening');
    d.child.kill('SIGINT');
    expect((await d.exited).code).toBe(0);
  });

  it('a taken MQTT port: one line naming the port and --mqtt-port, exit 1', async () => {
    const taken = await occupyPort();
    try {
      const d = start(['--bind', '127.0.0.1', '--mqtt-port', String(taken.port), '--ws-port', '0', '--http-port', '0']);
      const run = await d.exited;
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(
        `holdfast: port ${taken.port} is already in use (MQTT listener); choose another with --mqtt-port or HOLDFAST_MQTT_PORT\n`,
      );
    } finally {
      await taken.release();
    }
  });

  it('a taken port set by HOLDFAST_HTTP_PORT: one line naming --http-port, exit 1', async () => {
    const taken = await occupyPort();
    try {
      const d = start(['--bind', '127.0.0.1', '--mqtt-port', '0', '--ws-port', '0'], { env: { HOLDFAST_HTTP_PORT: String(taken.port) } });
      const run = await d.exited;
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(
        `holdfast: port ${taken.port} is already in use (HTTP server); choose another with --http-port or HOLDFAST_HTTP_PORT\n`,
      );
    } finally {
      await taken.release();
    }
  });

  it('a taken WebSocket port names --ws-port', async () => {
    const taken = await occupyPort();
    try {
      const d = start(['--bind', '127.0.0.1', '--mqtt-port', '0', '--ws-port', String(taken.port), '--http-port', '0']);
      const run = await d.exited;
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(
        `holdfast: port ${taken.port} is already in use (WebSocket listener); choose another with --ws-port or HOLDFAST_WS_PORT\n`,
      );
    } finally {
      await taken.release();
    }
  });
});

describe('startHoldfast (in-process)', () => {
  let running: RunningHoldfast | undefined;
  afterEach(async () => {
    await running?.stop();
    running = undefined;
  });

  it('starts on port 0, reports the bound addresses, stops cleanly', async () => {
    running = await startHoldfast(
      { listeners: { bind: '127.0.0.1', mqtt: { port: 0 }, ws: { port: 0 } }, http: { port: 0 }, dataDir: tempDir() },
      { logger: silentLogger() },
    );
    const { mqtt, ws, http, tls } = running.addresses;
    expect(mqtt).toBeGreaterThan(0);
    expect(ws).toBeGreaterThan(0);
    expect(http).toBeGreaterThan(0);
    expect(tls).toBeNull();
    expect(running.isReady()).toBe(true);
    expect((await fetch(`http://127.0.0.1:${http}/readyz`)).status).toBe(200);
    await running.stop();
    expect(running.isReady()).toBe(false);
    await expect(fetch(`http://127.0.0.1:${http}/livez`)).rejects.toThrow();
  });

  it('ACL from config is enforced: a denied subscription gets SUBACK 0x87', async () => {
    running = await startHoldfast(
      {
        listeners: { bind: '127.0.0.1', mqtt: { port: 0 }, ws: { port: null } },
        http: { port: null },
        dataDir: tempDir(),
        acl: { rules: [{ action: 'subscribe', topic: 'test/nosubscribe', allow: false }] },
      },
      { logger: silentLogger() },
    );
    const client = await connectAsync(`mqtt://127.0.0.1:${running.addresses.mqtt}`, { protocolVersion: 5, reconnectPeriod: 0 });
    try {
      // MQTT.js rejects a SUBSCRIBE with any failure code; the SUBACK rides on the error.
      const err = await client.subscribeAsync(['test/nosubscribe', 'test/ok'], { qos: 1 }).catch((e: unknown) => e);
      expect((err as { packet?: { granted?: unknown } }).packet?.granted).toEqual([0x87, 1]);
      expect(await client.subscribeAsync('test/fine', { qos: 1 })).toMatchObject([{ topic: 'test/fine', qos: 1 }]);
    } finally {
      await client.endAsync();
    }
  });

  it('static users from config: a wrong password is refused with 0x86', async () => {
    const { hashPassword } = await import('../../src/platform/auth/index.js');
    running = await startHoldfast(
      {
        listeners: { bind: '127.0.0.1', mqtt: { port: 0 }, ws: { port: null } },
        http: { port: null },
        dataDir: tempDir(),
        auth: { users: [{ username: 'alice', passwordHash: await hashPassword('right', { N: 1024, r: 8, p: 1 }) }] },
      },
      { logger: silentLogger() },
    );
    const url = `mqtt://127.0.0.1:${running.addresses.mqtt}`;
    const ok = await connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, username: 'alice', password: 'right' });
    await ok.endAsync();
    const err = await connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, username: 'alice', password: 'wrong' }).catch((e: unknown) => e);
    expect((err as { code?: number }).code).toBe(0x86);
  });
});
