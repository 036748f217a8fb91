/**
 * Issue 8: a zero-downtime restart whose new process fails only after the old one released
 * the store (here: the edited config enables the HTTP server on a port that is taken, which
 * is found out when the new process binds it, after the store handover). The new process
 * is stopped, the old one opens the store again and serves in place (its persistent
 * sessions intact); `holdfast restart` reports the failure with exit 1.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPidFile, readRestartStatus } from '../../src/app/lifecycle/pidfile.js';
import { ensureBuilt, occupyPort, runHoldfast, startDaemon, tempDir, type Daemon } from '../cli/helpers.js';
import { connectPersistent } from '../helpers/crash-clients.js';
import { waitUntil, withTimeout } from '../helpers/transport-wait.js';

const BASE = ['listeners:', '  warmupConnections: 0', 'log:', '  format: json'];

describe('issue 8: restart that fails after the store handover', () => {
  const dir = tempDir('holdfast-rollback-');
  const dataDir = join(dir, 'data');
  const configFile = join(dir, 'holdfast.yaml');
  let daemon: Daemon;
  let taken: { port: number; release: () => Promise<void> };

  beforeAll(ensureBuilt, 180_000);
  beforeAll(async () => {
    taken = await occupyPort();
    writeFileSync(configFile, [...BASE, 'http:', '  port: null', ''].join('\n'));
    daemon = startDaemon(['start', '--config', configFile, '--bind', '127.0.0.1', '--mqtt-port', '0', '--ws-port', 'off', '--data-dir', dataDir], { cwd: dir });
    await daemon.waitForMsg('listening', 20_000);
  }, 30_000);
  afterAll(async () => {
    await taken?.release();
    if (daemon?.child.exitCode === null) {
      daemon.child.kill('SIGTERM');
      await withTimeout(new Promise((r) => daemon.child.once('exit', r)), 20_000, 'holdfast to stop').catch(() => daemon.child.kill('SIGKILL'));
    }
  });

  it('the new process is stopped; the old one opens the store again and serves, sessions intact', async () => {
    const port = (daemon.records.find((r) => r.msg === 'listening')!.ports as { mqtt: number }).mqtt;
    const sub = await connectPersistent({ url: `mqtt://127.0.0.1:${port}`, clientId: 'rollback-sub', version: 5 });
    await sub.client.subscribeAsync('rb/#', { qos: 1 });
    await sub.client.endAsync();

    // Valid config, but the HTTP port it enables is taken: the new process fails when it binds it.
    writeFileSync(configFile, [...BASE, 'http:', `  port: ${taken.port}`, ''].join('\n'));
    const r = await runHoldfast(['restart', '--data-dir', dataDir], { timeoutMs: 60_000 });
    expect(r.code, r.stdout).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`failed .*keeps serving`));
    expect(readRestartStatus(dataDir)).toMatchObject({ pid: daemon.child.pid, outcome: 'failed' });
    expect(daemon.records.some((x) => x.msg === 'restart failed after the store was released: the new process is stopped, this one starts again')).toBe(true);

    // The old process serves again (its config: mqtt port 0, so a new port) with the store it released.
    await waitUntil(() => daemon.records.filter((x) => x.msg === 'listening' && x.pid === daemon.child.pid).length === 2, 20_000, 'the old process to listen again');
    expect(readPidFile(dataDir)).toBe(daemon.child.pid);
    const again = daemon.records.filter((x) => x.msg === 'listening').at(-1)!;
    const url = `mqtt://127.0.0.1:${(again.ports as { mqtt: number }).mqtt}`;
    let received!: (p: string) => void;
    const got = new Promise<string>((resolve) => (received = resolve));
    const back = await connectPersistent({ url, clientId: 'rollback-sub', version: 5, onMessage: (_t, p) => received(p) });
    try {
      expect(back.sessionPresent).toBe(true);
      const pub = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
      await pub.publishAsync('rb/x', 'after rollback', { qos: 1 });
      await pub.endAsync();
      expect(await withTimeout(got, 10_000, 'a message on the session kept across the rollback')).toBe('after rollback');
    } finally {
      await back.client.endAsync();
    }
  }, 90_000);
});
