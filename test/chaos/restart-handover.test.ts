/**
 * Issue 8, "How it is checked": a zero-downtime restart (`holdfast restart`, i.e. SIGUSR2 to
 * the pid in the data dir) of the real CLI under the load of 500 connected clients
 * publishing QoS 1, while a client connects in a loop (raw TCP and MQTT): no connect is
 * refused (ECONNREFUSED) during the switch, the old process exits 0, v5 clients get
 * DISCONNECT 0x8B with the configured Server Reference, and every acknowledged message
 * reaches the persistent subscribers (which were offline: their queues went through the
 * store handover). Before that, a restart whose new process cannot start (the config file
 * was broken in between) fails and leaves the old process serving.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPidFile } from '../../src/app/lifecycle/pidfile.js';
import { ensureBuilt, runHoldfast, startDaemon, tempDir, type Daemon } from '../cli/helpers.js';
import { ConnectProbe, drainSubscriber, setUpOfflineSubscribers, SteadyLoad } from '../helpers/lifecycle-load.js';
import { waitUntil, withTimeout } from '../helpers/transport-wait.js';

const CLIENTS = 500;
const SERVER_REFERENCE = 'holdfast-next.example:1883';
const SUBSCRIBERS = [
  { clientId: 'restart-sub-v5', version: 5 as const },
  { clientId: 'restart-sub-v4', version: 4 as const },
];
const CONFIG = [
  'listeners:',
  '  warmupConnections: 0',
  'session:',
  '  maxQueuedMessages: 1000000',
  'store:',
  '  kind: sqlite',
  '  durability: commit',
  'shutdown:',
  '  timeoutMs: 15000',
  `  serverReference: "${SERVER_REFERENCE}"`,
  'restart:',
  '  readyTimeoutMs: 20000',
  'log:',
  '  format: json',
  '',
].join('\n');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('issue 8: zero-downtime restart under load (500 clients publishing QoS 1)', () => {
  const dir = tempDir('holdfast-restart-');
  const dataDir = join(dir, 'data');
  const configFile = join(dir, 'holdfast.yaml');
  let daemon: Daemon;
  let oldExit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  let url: string;
  let port: number;
  let load: SteadyLoad;
  let probe: ConnectProbe;

  beforeAll(ensureBuilt, 180_000);
  beforeAll(async () => {
    writeFileSync(configFile, CONFIG);
    daemon = startDaemon(['start', '--config', configFile, '--bind', '127.0.0.1', '--mqtt-port', '0', '--ws-port', 'off', '--http-port', '0', '--data-dir', dataDir], { cwd: dir });
    oldExit = new Promise((resolve) => daemon.child.once('exit', (code, signal) => resolve({ code, signal })));
    const listening = await daemon.waitForMsg('listening', 20_000);
    port = (listening.ports as { mqtt: number }).mqtt;
    url = `mqtt://127.0.0.1:${port}`;
    await setUpOfflineSubscribers(url, SUBSCRIBERS, 'load/#');
    load = new SteadyLoad(url, CLIENTS, { periodMs: 500, topicPrefix: 'load', idPrefix: 'lc' });
    await load.start();
    await waitUntil(() => load.acked() >= 1_000, 20_000, 'the load to be acknowledged', () => load.acked());
    probe = new ConnectProbe('127.0.0.1', port);
  }, 90_000);

  afterAll(async () => {
    await probe?.stop().catch(() => undefined);
    await load?.stop(5_000).catch(() => undefined);
    for (const pid of [daemon?.child.pid, readPidFile(dataDir)]) {
      if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGTERM');
    }
    await waitUntil(() => ![daemon?.child.pid, readPidFile(dataDir)].some((p) => p !== undefined && alive(p)), 20_000, 'holdfast to stop').catch(() => undefined);
  }, 60_000);

  it('a restart whose new process fails (config broken in between) is reported as failed; the old process keeps serving', async () => {
    writeFileSync(configFile, 'mqtt:\n  maxKeepAliveS: "not a number"\n');
    try {
      const r = await runHoldfast(['restart', '--data-dir', dataDir], { timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/failed.*keeps serving/);
    } finally {
      writeFileSync(configFile, CONFIG);
    }
    expect(readPidFile(dataDir)).toBe(daemon.child.pid);
    expect(alive(daemon.child.pid!)).toBe(true);
    const before = load.acked();
    await waitUntil(() => load.acked() >= before + 500, 20_000, 'acknowledgements from the old process after the failed restart', () => load.acked());
    expect(probe.refused()).toBe(0);
  }, 90_000);

  it('holdfast restart: no connect refused, the old process exits 0, v5 clients get 0x8B with the Server Reference, nothing acknowledged is lost', async () => {
    const oldPid = daemon.child.pid!;
    const ackedBefore = load.acked();
    const r = await runHoldfast(['restart', '--data-dir', dataDir], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`restarted: pid ${oldPid} -> \\d+`));
    const exit = await withTimeout(oldExit, 20_000, 'the old process to exit');
    expect(exit).toEqual({ code: 0, signal: null });
    const newPid = readPidFile(dataDir);
    expect(newPid).toBeDefined();
    expect(newPid).not.toBe(oldPid);
    expect(alive(newPid!)).toBe(true);

    // The clients come back (to the new process, same port) and the load goes on.
    await waitUntil(() => load.connected === CLIENTS, 30_000, 'every client to reconnect', () => load.connected);
    const ackedAfterSwitch = load.acked();
    await waitUntil(() => load.acked() >= ackedAfterSwitch + 1_000, 20_000, 'acknowledgements from the new process', () => load.acked());
    await probe.stop();
    await load.stop();
    // The switch as the logs tell it: from the hand-over of the sockets to the new process's "listening".
    const at = (pred: (r: Record<string, unknown>) => boolean): number => Date.parse(String(daemon.records.find(pred)?.time));
    const handedOver = at((x) => x.msg === 'restart: sockets handed over, draining this process');
    const newListening = at((x) => x.msg === 'listening' && x.pid === newPid);
    const oldStopped = daemon.records.find((x) => x.msg === 'broker stopped' && x.pid === oldPid);
    console.log(`[restart] no process accepting for ${newListening - handedOver} ms (connects queued meanwhile); old broker stopped ${JSON.stringify(oldStopped)}`);
    expect(oldStopped).toMatchObject({ cut: 0 });
    console.log(
      `[restart] acked before ${ackedBefore}, total ${load.acked()}; probes tcp ${JSON.stringify(probe.tcp)} mqtt ${JSON.stringify(probe.mqtt)}; ` +
        `disconnects seen ${load.disconnects.length}; publish errors ${JSON.stringify([...load.errors])}; restart: ${r.stdout.trim()}`,
    );
    expect(probe.refused(), 'connects refused (ECONNREFUSED) during the switch').toBe(0);
    // A connection the old process accepted at the last moment is answered (CONNACK 0x88), never left without an answer.
    expect(probe.mqtt.failures['connack timeout'] ?? 0, 'MQTT connects left without a CONNACK').toBe(0);
    expect(probe.tcp.ok).toBeGreaterThan(0);
    expect(probe.mqtt.ok).toBeGreaterThan(0);

    // MQTT5 3.14.2.1 0x8B Server shutting down, MQTT5 3.14.2.2.5 Server Reference.
    const v5 = load.disconnects;
    expect(v5.length, 'v5 clients that got a DISCONNECT').toBeGreaterThanOrEqual(CLIENTS / 2);
    expect(v5.filter((d) => d.reasonCode !== 0x8b || d.serverReference !== SERVER_REFERENCE)).toEqual([]);

    // MQTT-4.3.2-2 / MQTT-4.3.2-4: every acknowledged QoS 1 message reaches the persistent subscribers.
    for (const sub of SUBSCRIBERS) {
      const d = await drainSubscriber(url, sub, load.ledger, 'load/end', 30_000);
      console.log(`[restart] ${sub.clientId}: session present ${d.sessionPresent}, received ${d.inbox.total}, missing ${d.missing.length}`);
      expect(d.sessionPresent, `${sub.clientId}: session present after the restart`).toBe(true);
      expect(d.missing.slice(0, 10), `${sub.clientId}: acknowledged messages never delivered (${d.missing.length})`).toEqual([]);
    }
  }, 120_000);
});
