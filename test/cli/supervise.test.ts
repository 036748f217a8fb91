/**
 * Issue 8, supervision: `holdfast start --supervise` keeps a stable pid (DATA_DIR/holdfast.pid)
 * and runs the broker as a worker (DATA_DIR/holdfast.worker.pid). A worker killed with
 * SIGKILL comes back after a backoff that doubles per crash in a row and serves again; a
 * zero-downtime restart (`holdfast restart`) under supervision hands over to a new worker,
 * which the supervisor adopts; SIGTERM stops the worker and the supervisor exits 0. A second
 * holdfast on the same data dir is refused.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PID_FILE, readPidFile, WORKER_PID_FILE } from '../../src/app/lifecycle/pidfile.js';
import { waitUntil, withTimeout } from '../helpers/transport-wait.js';
import { ensureBuilt, runHoldfast, startDaemon, tempDir, type Daemon } from './helpers.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A publish round trip through the broker on `port`. */
async function roundTrip(port: number, text: string): Promise<void> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5_000, protocolVersion: 5 });
  try {
    const got = new Promise<string>((resolve) => c.on('message', (_t, p) => resolve(p.toString())));
    await c.subscribeAsync('sup/echo', { qos: 1 });
    await c.publishAsync('sup/echo', text, { qos: 1 });
    expect(await withTimeout(got, 5_000, 'the echo')).toBe(text);
  } finally {
    await c.endAsync();
  }
}

describe('issue 8: holdfast start --supervise', () => {
  const dir = tempDir('holdfast-supervise-');
  const dataDir = join(dir, 'data');
  const configFile = join(dir, 'holdfast.yaml');
  let daemon: Daemon;
  let exit: Promise<{ code: number | null; signal: string | null }>;
  const listening = (): Array<Record<string, unknown>> => daemon.records.filter((r) => r.msg === 'listening');
  const mqttPort = (r: Record<string, unknown>): number => (r.ports as { mqtt: number }).mqtt;

  beforeAll(ensureBuilt, 180_000);
  beforeAll(async () => {
    writeFileSync(
      configFile,
      ['listeners:', '  warmupConnections: 0', 'supervise:', '  initialBackoffMs: 200', '  maxBackoffMs: 5000', 'log:', '  format: json', ''].join('\n'),
    );
    daemon = startDaemon(['start', '--supervise', '--config', configFile, '--bind', '127.0.0.1', '--mqtt-port', '0', '--ws-port', 'off', '--http-port', 'off', '--data-dir', dataDir], { cwd: dir });
    exit = new Promise((r) => daemon.child.once('exit', (code, signal) => r({ code, signal })));
    await daemon.waitForMsg('listening', 20_000);
  }, 30_000);
  afterAll(async () => {
    for (const pid of [readPidFile(dataDir, WORKER_PID_FILE), daemon?.child.pid]) if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
  });

  it('the supervisor owns holdfast.pid, the worker holdfast.worker.pid', async () => {
    const worker = listening()[0].pid as number;
    expect(worker).not.toBe(daemon.child.pid);
    await waitUntil(() => readPidFile(dataDir, WORKER_PID_FILE) === worker, 5_000, 'the worker pid file');
    expect(readPidFile(dataDir)).toBe(daemon.child.pid);
    await roundTrip(mqttPort(listening()[0]), 'first');
  });

  it('a second holdfast on the same data dir is refused (two brokers would diverge on one store)', async () => {
    const r = await runHoldfast(['start', '--bind', '127.0.0.1', '--mqtt-port', '0', '--ws-port', 'off', '--http-port', 'off', '--data-dir', dataDir], { timeoutMs: 20_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`is in use by holdfast pid ${daemon.child.pid}`);
    expect(readPidFile(dataDir)).toBe(daemon.child.pid);
  }, 30_000);

  it('kill -9 of the worker: it comes back (backoff 200 ms, then 400 ms for a second crash in a row) and serves', async () => {
    for (const [i, backoff] of [[1, 200], [2, 400]] as const) {
      const before = listening()[i - 1];
      process.kill(before.pid as number, 'SIGKILL');
      await waitUntil(() => listening().length > i, 20_000, `worker ${i + 1} to listen`, () => listening().length);
      const died = daemon.records.filter((r) => r.msg === 'supervisor: the worker died; restarting it')[i - 1];
      expect(died).toMatchObject({ pid: expect.any(Number), signal: 'SIGKILL', restartInMs: backoff, crashesInARow: i });
      const after = listening()[i];
      expect(after.pid).not.toBe(before.pid);
      await roundTrip(mqttPort(after), `after crash ${i}`);
    }
  }, 60_000);

  it('holdfast restart under supervision: the new worker takes over and is adopted; the supervisor keeps its pid', async () => {
    const n = listening().length;
    const old = listening()[n - 1];
    const r = await runHoldfast(['restart', '--data-dir', dataDir], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    await daemon.waitForMsg('supervisor: the worker handed over (zero-downtime restart); watching the new one', 10_000);
    const adopted = readPidFile(dataDir, WORKER_PID_FILE)!;
    expect(adopted).not.toBe(old.pid);
    expect(readPidFile(dataDir)).toBe(daemon.child.pid);
    await roundTrip(mqttPort(old), 'after restart'); // same port: the socket was handed over
  }, 60_000);

  it('SIGTERM: the worker stops gracefully, the supervisor exits 0 and removes its pid file', async () => {
    const worker = readPidFile(dataDir, WORKER_PID_FILE)!;
    daemon.child.kill('SIGTERM');
    expect(await withTimeout(exit, 20_000, 'the supervisor to exit')).toEqual({ code: 0, signal: null });
    expect(alive(worker)).toBe(false);
    expect(existsSync(join(dataDir, PID_FILE))).toBe(false);
  }, 30_000);
});
