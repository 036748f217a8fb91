/**
 * SIGHUP reloads the config of a real `holdfast start` (issue 8): the rewritten ACL is
 * enforced on the live connection of the same MQTT.js client, which stays connected; a bad
 * file after that is refused with the problems logged and the process keeps serving.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { stringify } from 'yaml';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { withTimeout } from '../helpers/transport-wait.js';
import { ensureBuilt, startDaemon, tempDir, type Daemon } from './helpers.js';

beforeAll(ensureBuilt, 180_000);

const daemons: Daemon[] = [];
const clients: MqttClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.end(true);
  for (const d of daemons.splice(0)) if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
});

const config = (rules: unknown[]): string =>
  stringify({
    listeners: { bind: '127.0.0.1', warmupConnections: 0, mqtt: { port: 0 }, ws: { port: null } },
    http: { port: 0 },
    store: { kind: 'memory' },
    dataDir: 'state',
    config: { watch: false }, // only the signal reloads here
    overload: { enabled: false }, // a busy box must not get CONNECTs refused (0x89): not what this is about
    acl: { rules },
  });

/** Written next to the file and renamed over it, as editors do. */
function rewrite(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

function waitForRecord(d: Daemon, pred: (r: Record<string, unknown>) => boolean, what: string, timeoutMs = 15_000): Promise<Record<string, unknown>> {
  return withTimeout(
    new Promise((resolve) => {
      const check = (): void => {
        const r = d.records.find(pred);
        if (r !== undefined) resolve(r);
        else d.child.stdout.once('data', () => setImmediate(check));
      };
      check();
    }),
    timeoutMs,
    what,
  );
}

async function pubackCode(c: MqttClient, topic: string): Promise<number> {
  try {
    await withTimeout(c.publishAsync(topic, 'x', { qos: 1 }), 10_000, `PUBACK for ${topic}`);
    return 0;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    throw err;
  }
}

describe('holdfast start: SIGHUP reloads the config (issue 8)', () => {
  it('the new ACL holds for the live connection of the same client; a bad file is refused and the process keeps serving', async () => {
    const cwd = tempDir();
    const file = join(cwd, 'holdfast.yaml');
    writeFileSync(file, config([{ action: 'all', topic: '#', allow: true }]));
    const d = startDaemon(['start', '--config', file], { cwd });
    daemons.push(d);
    const ports = (await d.waitForMsg('listening')).ports as { mqtt: number };

    const c = await withTimeout(mqtt.connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`, { clientId: 'hup-1', protocolVersion: 5, reconnectPeriod: 0 }), 10_000, 'connect');
    clients.push(c);
    let closed = false;
    c.on('close', () => (closed = true));
    expect(await pubackCode(c, 'sensors/1')).toBe(0);

    rewrite(file, config([{ action: 'publish', topic: 'sensors/#', allow: false }]));
    d.child.kill('SIGHUP');
    const applied = await waitForRecord(d, (r) => r.event === 'config-reload' && r.result === 'applied', 'the reload after SIGHUP');
    expect(applied).toMatchObject({ trigger: 'signal', revision: 2, applied: ['acl.rules'] });

    expect(await pubackCode(c, 'sensors/1')).toBe(0x87);
    expect(await pubackCode(c, 'other/1')).toBe(0);
    expect(closed).toBe(false);

    rewrite(file, config([{ action: 'publish', topic: '#/nope', allow: false }]));
    d.child.kill('SIGHUP');
    const refused = await waitForRecord(d, (r) => r.event === 'config-reload' && r.result === 'invalid', 'the refusal of the bad file');
    expect(refused).toMatchObject({ trigger: 'signal', revision: 2 });
    expect(JSON.stringify(refused.problems)).toContain('acl.rules[0].topic');
    // Still the revision-2 rules, still the same connection, still running.
    expect(await pubackCode(c, 'sensors/1')).toBe(0x87);
    expect(closed).toBe(false);
    expect(d.child.exitCode).toBeNull();

    d.child.kill('SIGTERM');
    expect((await d.exited).code).toBe(0);
  });
});
