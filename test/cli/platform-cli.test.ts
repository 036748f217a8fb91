/**
 * Issue 5 CLI against a real server: `holdfast devices|shadow|cmd` as processes (bin/holdfast.js)
 * talking to a real holdfast (in this process: startHoldfast, real HTTP and MQTT on
 * ephemeral ports), checked against a device connected over MQTT (MQTT.js) with the
 * secret the CLI printed. URL and token from HOLDFAST_URL / HOLDFAST_TOKEN, the flags,
 * or HOLDFAST_HTTP_PORT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../helpers/transport-wait.js';
import { ADMIN_TOKEN, answer, commandOf, connectDevice, deviceOnline, READ_TOKEN, startApiApp, type ApiApp, type SimDevice } from '../integration/api-harness.js';
import { ensureBuilt, runHoldfast } from './helpers.js';

let api: ApiApp;
let env: Record<string, string>;
const devices: SimDevice[] = [];

beforeAll(async () => {
  await ensureBuilt();
  api = await startApiApp({ platform: { presence: { graceMs: 0 } } });
  env = { HOLDFAST_URL: api.base, HOLDFAST_TOKEN: ADMIN_TOKEN };
}, 180_000);

afterAll(async () => {
  await Promise.all(devices.map((d) => d.end()));
  await api?.stop();
});

const cli = (args: string[], extraEnv: Record<string, string> = env) => runHoldfast(args, { env: extraEnv, timeoutMs: 30_000 });

async function addDevice(id: string, ...flags: string[]): Promise<string> {
  const r = await cli(['devices', 'add', id, '--type', 'meter', ...flags, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { secret: string }).secret;
}

describe('issue 5 CLI against a real server: holdfast devices', () => {
  it('issue 5 devices add prints the secret once (text); the device connects with it; devices show has its presence', async () => {
    const r = await cli(['devices', 'add', 'cli-1', '--type', 'meter', '--label', 'site=north', '--metadata', '{"fw":"1.2"}']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('created device cli-1 (type meter)');
    const secret = r.stdout.trim().split('\n').at(-1)!;
    expect(secret).toMatch(/^\S{32,}$/);
    const dev = await deviceOnline(api.mqttUrl, 'cli-1', secret);
    devices.push(dev);

    let shown = await cli(['devices', 'show', 'cli-1']);
    for (const until = Date.now() + 10_000; !shown.stdout.includes('presence:  connected') && Date.now() < until; ) shown = await cli(['devices', 'show', 'cli-1']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('labels:    site=north');
    expect(shown.stdout).toContain('presence:  connected');
    expect(shown.stdout).toMatch(/MQTT 5\.0/);
    expect(shown.stdout).toMatch(/\s+\S+\s+secret\s+created/);
    expect(shown.stdout).not.toContain(secret);
  });

  it('issue 5 devices list: filters, --limit with the cursor on stderr, --all pages through everything', async () => {
    for (const i of [1, 2, 3, 4, 5]) await addDevice(`lst-${i}`, '--label', 'group=l', ...(i === 3 ? ['--disabled'] : []));
    const page = await cli(['devices', 'list', '--label', 'group=l', '--limit', '2']);
    expect(page.code, page.stderr).toBe(0);
    expect(page.stdout.trim().split('\n').slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['lst-1', 'lst-2']);
    expect(page.stderr).toContain('more devices: --cursor lst-2');
    const next = await cli(['devices', 'list', '--label', 'group=l', '--limit', '2', '--cursor', 'lst-2', '--json']);
    expect(JSON.parse(next.stdout).items.map((d: { id: string }) => d.id)).toEqual(['lst-3', 'lst-4']);
    const all = await cli(['devices', 'list', '--label', 'group=l', '--limit', '2', '--all', '--json']);
    expect(JSON.parse(all.stdout).items.map((d: { id: string }) => d.id)).toEqual(['lst-1', 'lst-2', 'lst-3', 'lst-4', 'lst-5']);
    const off = await cli(['devices', 'list', '--label', 'group=l', '--disabled', '--json']);
    expect(JSON.parse(off.stdout).items.map((d: { id: string }) => d.id)).toEqual(['lst-3']);
  });

  it('issue 5 devices disable kicks the connected device and its reconnect is refused; rotate-secret replaces the secret', async () => {
    const secret = await addDevice('cli-2');
    const dev = await deviceOnline(api.mqttUrl, 'cli-2', secret);
    const off = await cli(['devices', 'disable', 'cli-2']);
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toContain('device cli-2 disabled');
    await waitUntil(() => dev.closed, 10_000, 'cli-2 kicked');
    const refused = await connectDevice(api.mqttUrl, 'cli-2', secret);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect([0x86, 0x87]).toContain(refused.code);

    expect((await cli(['devices', 'enable', 'cli-2'])).code).toBe(0);
    const rotated = await cli(['devices', 'rotate-secret', 'cli-2']);
    expect(rotated.code, rotated.stderr).toBe(0);
    const fresh = rotated.stdout.trim().split('\n').at(-1)!;
    expect(fresh).not.toBe(secret);
    const old = await connectDevice(api.mqttUrl, 'cli-2', secret);
    expect(old.ok).toBe(false);
    await (await deviceOnline(api.mqttUrl, 'cli-2', fresh)).end();
  });

  it('issue 5 CLI auth and errors: --url/--token flags work without env; a read token exits 3 on a write; a 4xx exits 2 with its code', async () => {
    const flags = await cli(['devices', 'list', '--url', api.base, '--token', ADMIN_TOKEN, '--json'], {});
    expect(flags.code, flags.stderr).toBe(0);
    const viaPort = await cli(['devices', 'show', 'cli-1', '--json'], { HOLDFAST_HTTP_PORT: String(api.app.addresses.http), HOLDFAST_TOKEN: READ_TOKEN });
    expect(viaPort.code, viaPort.stderr).toBe(0);
    expect(JSON.parse(viaPort.stdout).id).toBe('cli-1');

    const ro = await cli(['devices', 'add', 'ro-1', '--type', 'meter'], { HOLDFAST_URL: api.base, HOLDFAST_TOKEN: READ_TOKEN });
    expect(ro.code).toBe(3);
    expect(ro.stderr).toContain('FORBIDDEN');
    const none = await cli(['devices', 'list'], { HOLDFAST_URL: api.base });
    expect(none.code).toBe(3);
    expect(none.stderr).toContain('UNAUTHORIZED');
    const missing = await cli(['devices', 'show', 'no-such-device']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('DEVICE_NOT_FOUND');
    const bad = await cli(['devices', 'add', 'bad id', '--type', 'meter']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/INVALID_INPUT[\s\S]*body\.id/);
  });
});

describe('issue 5 CLI against a real server: holdfast shadow and cmd', () => {
  it('issue 5 shadow set sends the delta to the device; shadow get shows what it reported', async () => {
    const dev = await deviceOnline(api.mqttUrl, 'cli-sh', await addDevice('cli-sh'));
    devices.push(dev);
    const set = await cli(['shadow', 'set', 'cli-sh', '{"interval": 30}']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/delta:\s+\{\s+"interval": 30/);
    const [delta] = await dev.waitFor('shadow/delta');
    expect(JSON.parse(delta!.payload.toString()).delta).toEqual({ interval: 30 });
    await dev.publishJson('shadow/update', { reported: { interval: 30 } });
    await dev.waitFor('shadow/update/accepted');
    const got = await cli(['shadow', 'get', 'cli-sh', '--json']);
    expect(got.code).toBe(0);
    expect(JSON.parse(got.stdout)).toMatchObject({ desired: { interval: 30 }, reported: { interval: 30 }, delta: {} });
    const text = await cli(['shadow', 'get', 'cli-sh']);
    expect(text.stdout).toContain('(in sync)');
    const stale = await cli(['shadow', 'set', 'cli-sh', '{"interval": 5}', '--version', '0']);
    expect(stale.code).toBe(2);
    expect(stale.stderr).toContain('SHADOW_VERSION_MISMATCH');
  });

  it('issue 5 cmd send <device> <name> [json] --wait: the device answers over MQTT -> exit 0 with the result; a failure -> exit 4', async () => {
    const dev = await deviceOnline(api.mqttUrl, 'cli-cmd', await addDevice('cli-cmd'), { version: 4 });
    devices.push(dev);
    dev.client.on('message', (topic, _payload, packet) => {
      if (topic !== '$holdfast/devices/cli-cmd/commands') return;
      const c = commandOf(packet);
      void answer(dev, packet, c.name === 'explode' ? { ok: false, error: 'refused by the meter' } : { ok: true, result: { rebooted: true, in: c.payload } });
    });
    const ok = await cli(['cmd', 'send', 'cli-cmd', 'reboot', '{"delayS": 1}', '--wait']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/command \S+ \(reboot to cli-cmd, #1\): acked after 1 attempt/);
    expect(ok.stdout).toContain('result: {"rebooted":true,"in":{"delayS":1}}');

    const failed = await cli(['cmd', 'send', 'cli-cmd', 'explode', '--wait', '--json']);
    expect(failed.code).toBe(4);
    expect(JSON.parse(failed.stdout)).toMatchObject({ state: 'failed', error: 'refused by the meter' });

    const list = await cli(['cmd', 'list', 'cli-cmd', '--state', 'acked', '--json']);
    expect(JSON.parse(list.stdout).items.map((c: { name: string }) => c.name)).toEqual(['reboot']);
  });

  it('issue 5 cmd send --wait to an offline device: not final when the wait ends -> exit 5; expired -> exit 4', async () => {
    await addDevice('cli-off');
    const pending = await cli(['cmd', 'send', 'cli-off', 'ping', '--wait-ms', '200', '--json']);
    expect(pending.code).toBe(5);
    expect(JSON.parse(pending.stdout).state).toBe('queued');
    const expiring = await cli(['cmd', 'send', 'cli-off', 'ping', '--timeout-ms', '100', '--wait-ms', '15000', '--json']);
    expect(expiring.code).toBe(4);
    expect(JSON.parse(expiring.stdout).state).toBe('expired');
  });
});
