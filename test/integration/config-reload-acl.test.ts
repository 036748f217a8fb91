/**
 * Hot reload (issue 8) through POST /api/config/reload: a changed ACL is enforced on the
 * live connection of the same MQTT.js client (no reconnect); a bad file is refused with
 * every problem and the running revision kept; the same file twice is a no-op; a port
 * change is reported as pending a restart; users, tokens and log level change live.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { withTimeout } from '../helpers/transport-wait.js';
import { ADMIN, READ, baseConfig, startFromFile, type ReloadApp, type Rec } from './config-reload-helpers.js';

const apps: ReloadApp[] = [];
const clients: MqttClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.end(true);
  for (const a of apps.splice(0)) await a.stop();
});

// A well-formed scrypt hash (no known password): only its redaction is looked at.
const HASH = 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA$' + Buffer.alloc(32, 7).toString('base64url');

const allowAll = (dir: string): Rec => baseConfig(dir, { acl: { rules: [{ action: 'all', topic: '#', allow: true }] } });
const denyA = (dir: string): Rec =>
  baseConfig(dir, {
    acl: {
      rules: [
        { action: 'publish', topic: 'a/#', allow: false },
        { action: 'subscribe', topic: 'a/#', allow: false },
        { action: 'all', topic: '#', allow: true },
      ],
    },
  });

async function connect(url: string, clientId: string): Promise<MqttClient> {
  const c = await withTimeout(mqtt.connectAsync(url, { clientId, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5_000 }), 10_000, 'connect');
  clients.push(c);
  return c;
}

/** The PUBACK reason code of a QoS 1 publish (0 = success). */
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

/** The SUBACK reason code of one filter (MQTT.js rejects with the SUBACK packet when it is a failure). */
async function subackCode(c: MqttClient, filter: string): Promise<number> {
  try {
    const granted = await withTimeout(c.subscribeAsync(filter, { qos: 1 }), 10_000, `SUBACK for ${filter}`);
    return granted[0]!.qos;
  } catch (err) {
    const code = (err as { packet?: { granted?: number[] } }).packet?.granted?.[0];
    if (typeof code === 'number') return code;
    throw err;
  }
}

describe('hot reload: ACL and the API (issue 8)', () => {
  it('a changed ACL is enforced on the live connection of the same client, which stays connected', async () => {
    const a = await startFromFile(allowAll);
    apps.push(a);
    const c = await connect(a.mqttUrl, 'live-1');
    let closed = false;
    c.on('close', () => (closed = true));
    expect(await subackCode(c, 'a/before')).toBe(1);
    expect(await pubackCode(c, 'a/b')).toBe(0);

    a.write(denyA(a.dir));
    const r = await a.call('POST', '/api/config/reload');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ result: 'applied', revision: 2, pendingRestart: [] });
    expect(r.body.applied).toContain('acl.rules');

    // The same client, the same connection: now denied.
    expect(await pubackCode(c, 'a/b')).toBe(0x87);
    expect(await subackCode(c, 'a/after')).toBe(0x87);
    expect(await pubackCode(c, 'other/topic')).toBe(0); // what the new rules allow still passes
    expect(closed).toBe(false);
    expect(c.connected).toBe(true);

    // And back: allowed again, still the same connection.
    a.write(allowAll(a.dir));
    expect((await a.call('POST', '/api/config/reload')).body).toMatchObject({ result: 'applied', revision: 3 });
    expect(await pubackCode(c, 'a/b')).toBe(0);
    expect(closed).toBe(false);
  });

  it('without the device platform: from no rules (no ACL hook at all) to a deny rule, on the live connection', async () => {
    const off = (dir: string, extra: Rec = {}): Rec => baseConfig(dir, { platform: { enabled: false }, ...extra });
    const a = await startFromFile((dir) => off(dir));
    apps.push(a);
    expect(a.app.broker.hooks.authorizePublish).toBeUndefined(); // nothing to check: the broker skips the ACL
    const c = await connect(a.mqttUrl, 'no-platform');
    expect(await pubackCode(c, 'a/b')).toBe(0);
    a.write(off(a.dir, denyA(a.dir)));
    expect((await a.call('POST', '/api/config/reload')).body).toMatchObject({ result: 'applied', revision: 2 });
    expect(await pubackCode(c, 'a/b')).toBe(0x87);
    expect(await subackCode(c, 'a/#')).toBe(0x87);
    expect(c.connected).toBe(true);
    a.write(off(a.dir));
    expect((await a.call('POST', '/api/config/reload')).body).toMatchObject({ result: 'applied', revision: 3 });
    expect(a.app.broker.hooks.authorizePublish).toBeUndefined();
    expect(await pubackCode(c, 'a/b')).toBe(0);
  });

  it('a bad file is refused with every problem and its path; the running config and revision stay', async () => {
    const a = await startFromFile(denyA);
    apps.push(a);
    const before = (await a.call('GET', '/api/config')).body;
    expect(before.revision).toBe(1);

    const bad = denyA(a.dir);
    (bad.acl as Rec).rules = [{ action: 'publish', topic: 'a/#/b', allow: true }];
    bad.mqtt = { maxKeepAliveS: 'soon' };
    a.write(bad);
    const r = await a.call('POST', '/api/config/reload');
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({ error: 'CONFIG_INVALID', result: 'invalid', revision: 1, hash: before.hash });
    const paths = (r.body.details as Array<{ path: string }>).map((d) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['acl.rules[0].topic', 'mqtt.maxKeepAliveS']));
    expect(r.body.problems.length).toBe(2);
    expect(a.log.records.some((x) => x.event === 'config-reload' && x.result === 'invalid' && x.level === 'error')).toBe(true);

    const after = (await a.call('GET', '/api/config')).body;
    expect(after).toMatchObject({ revision: 1, hash: before.hash, appliedAt: before.appliedAt });
    // The old ACL still holds.
    const c = await connect(a.mqttUrl, 'still-denied');
    expect(await pubackCode(c, 'a/b')).toBe(0x87);

    // A file that is not YAML at all.
    a.write('acl: [unclosed\n');
    const y = await a.call('POST', '/api/config/reload');
    expect(y.status).toBe(422);
    expect(y.body.problems[0]).toMatch(/YAML/);

    const metrics = await (await fetch(`${a.base}/metrics`)).text();
    expect(metrics).toMatch(/holdfast_config_reload_total\{result="invalid"\} 2/);
    expect(metrics).toMatch(/holdfast_config_revision 1/);
  });

  it('the same config twice is a no-op: no new revision', async () => {
    const a = await startFromFile(allowAll);
    apps.push(a);
    const r1 = await a.call('POST', '/api/config/reload');
    expect(r1.status).toBe(200);
    expect(r1.body).toMatchObject({ result: 'unchanged', revision: 1 });
    a.write(denyA(a.dir));
    const r2 = await a.call('POST', '/api/config/reload');
    expect(r2.body).toMatchObject({ result: 'applied', revision: 2 });
    // Rewritten with the same content (a new inode, same settings): still revision 2.
    a.write(denyA(a.dir));
    const r3 = await a.call('POST', '/api/config/reload');
    expect(r3.body).toMatchObject({ result: 'unchanged', revision: 2, hash: r2.body.hash });
    const view = (await a.call('GET', '/api/config', READ)).body;
    expect(view).toMatchObject({ revision: 2, hash: r2.body.hash });
    const metrics = await (await fetch(`${a.base}/metrics`)).text();
    expect(metrics).toMatch(/holdfast_config_reload_total\{result="unchanged"\} 2/);
    expect(metrics).toMatch(/holdfast_config_reload_total\{result="applied"\} 1/);
  });

  it('a port change is pending a restart (the port stays bound); live settings in the same file apply', async () => {
    const a = await startFromFile(allowAll);
    apps.push(a);
    const next = allowAll(a.dir);
    next.listeners = { ...(next.listeners as Rec), mqtt: { port: 18_999 } };
    next.dataDir = `${a.dir}/elsewhere`;
    next.mqtt = { maxKeepAliveS: 30 };
    a.write(next);
    const r = await a.call('POST', '/api/config/reload');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ result: 'applied', revision: 2 });
    expect(r.body.pendingRestart).toEqual(expect.arrayContaining(['listeners.mqtt.port', 'dataDir']));
    expect(r.body.applied).toEqual(['mqtt.maxKeepAliveS']);
    expect(a.app.broker.config.mqtt.maxKeepAliveS).toBe(30);
    // Still served on the old port.
    const c = await connect(a.mqttUrl, 'old-port');
    expect(await pubackCode(c, 'x/y')).toBe(0);
    const view = (await a.call('GET', '/api/config')).body;
    expect(view.pendingRestart).toEqual(expect.arrayContaining(['listeners.mqtt.port', 'dataDir']));
    expect(view.config.listeners.mqtt.port).toBe(18_999);
    expect(a.log.records.some((x) => x.event === 'config-pending-restart')).toBe(true);
  });

  it('log level, users and tokens change live; GET /api/config redacts secrets; read token -> 403, none -> 401', async () => {
    const a = await startFromFile(allowAll);
    apps.push(a);
    const child = a.app.logger.child({ component: 'made-before-the-reload' });
    expect(child.isLevelEnabled('debug')).toBe(false);
    expect((await a.call('POST', '/api/config/reload', READ)).status).toBe(403);
    expect((await a.call('POST', '/api/config/reload', null)).status).toBe(401);
    expect((await a.call('GET', '/api/config', null)).status).toBe(401);

    const NEW_TOKEN = 'reload-test-new-admin-token-987654321';
    const next = allowAll(a.dir);
    next.log = { level: 'debug' };
    next.auth = { allowAnonymous: true, users: [{ username: 'alice', passwordHash: HASH }] };
    next.http = { port: 0, tokens: [{ token: NEW_TOKEN, role: 'admin' }, { token: READ, role: 'read' }] };
    a.write(next);
    const r = await a.call('POST', '/api/config/reload');
    expect(r.body).toMatchObject({ result: 'applied', pendingRestart: [] });
    expect(r.body.applied).toEqual(expect.arrayContaining(['log.level', 'auth.users', 'http.tokens']));
    expect(a.app.logger.level).toBe('debug');
    expect(child.isLevelEnabled('debug')).toBe(true);

    // The old admin token is gone, the new one works.
    expect((await a.call('GET', '/api/config', ADMIN)).status).toBe(401);
    const view = await a.call('GET', '/api/config', NEW_TOKEN);
    expect(view.status).toBe(200);
    expect(view.body.config.auth.users).toEqual([{ username: 'alice', passwordHash: '[redacted]' }]);
    expect(view.body.config.http.tokens.every((t: { token: string }) => t.token === '[redacted]')).toBe(true);
    expect(JSON.stringify(view.body)).not.toContain(HASH);
    expect(JSON.stringify(view.body)).not.toContain(NEW_TOKEN);

    // alice exists now: a wrong password is refused (0x86) on a new connection.
    const refused = await mqtt
      .connectAsync(a.mqttUrl, { clientId: 'alice-1', username: 'alice', password: 'wrong', protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5_000 })
      .then(
        (c) => {
          c.end(true);
          return 0;
        },
        (err: { code?: number }) => err.code,
      );
    expect(refused).toBe(0x86);
  });
});
