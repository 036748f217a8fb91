/**
 * Issue 8, "How it is checked": SIGTERM to the real CLI under a steady QoS 1 load (200
 * clients, 3.1.1 and 5.0): the process exits 0 well within shutdown.timeoutMs, every v5
 * client gets DISCONNECT 0x8B with the configured Server Reference, and after a start on
 * the same data dir every acknowledged message reaches the persistent subscribers.
 * (test/chaos/crash-sigterm.test.ts covers QoS 2 and retained messages across SIGTERM.)
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, startDaemon, tempDir, type Daemon } from '../cli/helpers.js';
import { drainSubscriber, setUpOfflineSubscribers, SteadyLoad } from '../helpers/lifecycle-load.js';
import { waitUntil, withTimeout } from '../helpers/transport-wait.js';

const CLIENTS = 200;
const TIMEOUT_MS = 10_000;
const SERVER_REFERENCE = 'mqtt-2.example.com:1883';
const SUBSCRIBERS = [
  { clientId: 'sigterm-sub-v5', version: 5 as const },
  { clientId: 'sigterm-sub-v4', version: 4 as const },
];

describe('issue 8: SIGTERM under a steady QoS 1 load', () => {
  const dir = tempDir('holdfast-sigterm-');
  const dataDir = join(dir, 'data');
  const configFile = join(dir, 'holdfast.yaml');
  const daemons: Daemon[] = [];
  const start = async (): Promise<{ daemon: Daemon; url: string; exit: Promise<{ code: number | null; signal: string | null }> }> => {
    const daemon = startDaemon(['start', '--config', configFile, '--bind', '127.0.0.1', '--mqtt-port', '0', '--ws-port', 'off', '--http-port', 'off', '--data-dir', dataDir], { cwd: dir });
    daemons.push(daemon);
    const exit = new Promise<{ code: number | null; signal: string | null }>((r) => daemon.child.once('exit', (code, signal) => r({ code, signal })));
    const listening = await daemon.waitForMsg('listening', 20_000);
    return { daemon, url: `mqtt://127.0.0.1:${(listening.ports as { mqtt: number }).mqtt}`, exit };
  };

  beforeAll(ensureBuilt, 180_000);
  beforeAll(() => {
    writeFileSync(
      configFile,
      ['listeners:', '  warmupConnections: 0', 'session:', '  maxQueuedMessages: 1000000', 'shutdown:', `  timeoutMs: ${TIMEOUT_MS}`, `  serverReference: "${SERVER_REFERENCE}"`, 'log:', '  format: json', ''].join('\n'),
    );
  });
  afterAll(async () => {
    for (const d of daemons) if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
  });

  it('exits 0 within shutdown.timeoutMs; v5 clients get 0x8B with the Server Reference; no acknowledged message is lost', async () => {
    const first = await start();
    await setUpOfflineSubscribers(first.url, SUBSCRIBERS, 'st/#');
    const load = new SteadyLoad(first.url, CLIENTS, { periodMs: 100, topicPrefix: 'st', idPrefix: 'st' });
    await load.start();
    await waitUntil(() => load.acked() >= 2_000, 20_000, 'the load to be acknowledged', () => load.acked());

    const signalledAt = Date.now();
    first.daemon.child.kill('SIGTERM');
    const exit = await withTimeout(first.exit, TIMEOUT_MS + 5_000, 'the broker to exit after SIGTERM');
    const stopMs = Date.now() - signalledAt;
    const stopped = first.daemon.records.find((r) => r.msg === 'broker stopped');
    console.log(`[sigterm] exit ${JSON.stringify(exit)} after ${stopMs} ms; acked ${load.acked()}; broker stopped ${JSON.stringify(stopped)}`);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(stopMs).toBeLessThan(TIMEOUT_MS);
    expect(stopped, 'the "broker stopped" line with the drain report').toMatchObject({ connections: expect.any(Number), cut: 0 });

    // Every v5 client was connected at the signal: each got MQTT5 3.14.2.1 0x8B with 3.14.2.2.5 Server Reference.
    await waitUntil(() => load.disconnects.length >= CLIENTS / 2, 5_000, 'the DISCONNECTs to be seen', () => load.disconnects.length);
    expect(new Set(load.disconnects.map((d) => d.clientId)).size).toBe(CLIENTS / 2);
    expect(load.disconnects.filter((d) => d.reasonCode !== 0x8b || d.serverReference !== SERVER_REFERENCE)).toEqual([]);
    await load.stop(2_000);

    // MQTT-4.3.2-2 / MQTT-4.3.2-4: across the stop, every acknowledged QoS 1 message reaches the persistent subscribers.
    const second = await start();
    for (const sub of SUBSCRIBERS) {
      const d = await drainSubscriber(second.url, sub, load.ledger, 'st/end', 30_000);
      console.log(`[sigterm] ${sub.clientId}: session present ${d.sessionPresent}, received ${d.inbox.total}, missing ${d.missing.length}`);
      expect(d.sessionPresent).toBe(true);
      expect(d.missing.slice(0, 10), `${sub.clientId}: acknowledged messages never delivered (${d.missing.length})`).toEqual([]);
    }
    second.daemon.child.kill('SIGTERM');
    expect(await withTimeout(second.exit, TIMEOUT_MS + 5_000, 'the second broker to exit')).toEqual({ code: 0, signal: null });
  }, 120_000);
});
