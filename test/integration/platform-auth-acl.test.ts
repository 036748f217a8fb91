/**
 * Issue 5, the device ACL over real sockets: built-in reserved-topic rules, templates with
 * {deviceId} and {type}, then the static rules of the config.
 *
 * Templates:  publish devices/{deviceId}/# allow; publish # deny;
 *             subscribe fleet/{type}/# allow; subscribe fleet/# deny
 * Static:     subscribe secret/# deny (everyone)
 * The observer is a non-device client (fallback allowEveryone) subscribed to everything.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientInfo } from '../../src/broker/hooks.js';
import { createStaticAcl } from '../../src/platform/acl/index.js';
import { createDeviceAcl } from '../../src/platform/device-acl/index.js';
import { allowEveryone, DeviceIdentities } from '../../src/platform/device-auth/index.js';
import { withTimeout } from '../helpers/transport-wait.js';
import { connectOk, deviceWithSecret, startPlatformBroker, type PlatformBroker } from './platform-devices-harness.js';

const templates = [
  { action: 'publish' as const, topic: 'devices/{deviceId}/#', allow: true },
  { action: 'publish' as const, topic: '#', allow: false },
  { action: 'subscribe' as const, topic: 'fleet/{type}/#', allow: true },
  { action: 'subscribe' as const, topic: 'fleet/#', allow: false },
];
/** The SUBACK code for one filter (MQTT.js rejects a SUBACK with a failure code, carrying the packet). */
async function grantedQos(c: MqttClient, filter: string): Promise<number> {
  try {
    return (await c.subscribeAsync(filter, { qos: 1 }))[0].qos;
  } catch (err) {
    const granted = (err as { packet?: { granted?: number[] } }).packet?.granted;
    if (granted === undefined) throw err;
    return granted[0];
  }
}

const staticRules = [{ action: 'subscribe' as const, topic: 'secret/#', allow: false }];

describe('device ACL over real sockets', () => {
  let p: PlatformBroker;
  let observer: MqttClient;
  let devA: MqttClient;
  let devA3: MqttClient;
  const seen: string[] = [];

  beforeAll(async () => {
    p = await startPlatformBroker({ templates, staticRules, fallback: allowEveryone });
    const secretA = await deviceWithSecret(p, 'dev-a', 'meter');
    const secretC = await deviceWithSecret(p, 'dev-c', 'meter');
    observer = await connectOk(p.url, { clientId: 'observer', protocolVersion: 5 });
    // Not `#`: the static deny on secret/# refuses any subscription that overlaps it.
    await observer.subscribeAsync(['devices/#', 'elsewhere/#', 'sync/#', '$holdfast/#'], { qos: 1 });
    observer.on('message', (topic, payload) => seen.push(`${topic} ${payload.toString()}`));
    devA = await connectOk(p.url, { clientId: 'dev-a', username: 'dev-a', password: secretA, protocolVersion: 5 });
    devA3 = await connectOk(p.url, { clientId: 'dev-c', username: 'dev-c', password: secretC, protocolVersion: 4 });
  });

  afterAll(async () => {
    await Promise.all([observer, devA, devA3].map((c) => c?.endAsync(true)));
    await p.stop();
  });

  /** Publishes from the observer a marker and waits for it: everything published before has been routed. */
  let n = 0;
  async function barrier(): Promise<void> {
    const marker = `barrier-${++n}`;
    await observer.publishAsync('sync/barrier', marker, { qos: 1 });
    await withTimeout(
      new Promise<void>((resolve) => {
        const check = () => (seen.includes(`sync/barrier ${marker}`) ? resolve() : setImmediate(check));
        check();
      }),
      5_000,
      'barrier',
    );
  }

  const refused = (c: MqttClient, topic: string) => expect(c.publishAsync(topic, 'no', { qos: 1 })).rejects.toMatchObject({ code: 0x87 });

  it('issue 5 templates: a device publishes under devices/{deviceId}/# only (MQTT5 PUBACK 0x87 otherwise)', async () => {
    await devA.publishAsync('devices/dev-a/temp', '21', { qos: 1 });
    await refused(devA, 'devices/dev-b/temp');
    await refused(devA, 'elsewhere/temp');
    await barrier();
    expect(seen).toContain('devices/dev-a/temp 21');
    expect(seen.some((s) => s.startsWith('devices/dev-b/temp') || s.startsWith('elsewhere/temp'))).toBe(false);
  });

  it('issue 5 built-in: a device publishes only its own shadow/update, shadow/get and commands/response under $holdfast', async () => {
    for (const t of ['shadow/update', 'shadow/get', 'commands/response']) await devA.publishAsync(`$holdfast/devices/dev-a/${t}`, 'ok', { qos: 1 });
    for (const t of ['presence', 'shadow/delta', 'shadow/update/accepted', 'commands']) await refused(devA, `$holdfast/devices/dev-a/${t}`);
    await refused(devA, '$holdfast/devices/dev-b/shadow/update');
    await refused(devA, '$holdfast/other');
    await barrier();
    // (The server's own presence events are there too: published by the server, not a client.)
    const reserved = seen.filter((s) => s.startsWith('$holdfast/') && !s.includes('/presence '));
    expect(reserved.sort()).toEqual(
      ['$holdfast/devices/dev-a/commands/response ok', '$holdfast/devices/dev-a/shadow/get ok', '$holdfast/devices/dev-a/shadow/update ok'].sort(),
    );
  });

  it('issue 5 built-in: no client publishes the server\'s topics (presence, delta, commands)', async () => {
    await refused(observer, '$holdfast/devices/dev-a/presence');
    await refused(observer, '$holdfast/devices/dev-a/shadow/delta');
    await refused(observer, '$holdfast/devices/dev-a/commands');
    await observer.publishAsync('$holdfast/devices/dev-a/shadow/update', 'by-operator', { qos: 1 }); // not a server topic
  });

  it('issue 5 built-in + templates + static: subscriptions', async () => {
    const granted = (c: MqttClient, filter: string) => grantedQos(c, filter);
    expect(await granted(devA, '$holdfast/devices/dev-a/#')).toBe(1);
    expect(await granted(devA, '$holdfast/devices/dev-a/commands')).toBe(1);
    expect(await granted(devA, '$holdfast/devices/+/presence')).toBe(0x87);
    expect(await granted(devA, '$holdfast/#')).toBe(0x87);
    expect(await granted(devA, '$share/g/$holdfast/devices/dev-b/#')).toBe(0x87);
    expect(await granted(devA, 'fleet/meter/#')).toBe(1); // {type} = meter
    expect(await granted(devA, 'fleet/valve/#')).toBe(0x87);
    expect(await granted(devA, 'fleet/#')).toBe(0x87);
    expect(await granted(devA, 'secret/plans')).toBe(0x87); // no template matches: static deny
    expect(await granted(devA, 'misc/x')).toBe(1); // nothing matches: allowed
    expect(await granted(observer, 'fleet/valve/#')).toBe(1); // templates are for devices only
    expect(await granted(observer, 'secret/plans')).toBe(0x87);
  });

  it('issue 5: a 3.1.1 device: forbidden publishes are dropped, allowed ones delivered; SUBACK 0x80 for denied filters', async () => {
    await devA3.publishAsync('devices/dev-a/spoof', 'x', { qos: 1 }); // 3.1.1 has no PUBACK reason: acknowledged, dropped
    await devA3.publishAsync('devices/dev-c/temp', '19', { qos: 1 });
    await barrier();
    expect(seen).toContain('devices/dev-c/temp 19');
    expect(seen.some((s) => s.startsWith('devices/dev-a/spoof'))).toBe(false);
    expect(await grantedQos(devA3, '$holdfast/devices/dev-a/#')).toBe(128);
  });

  it('issue 5: a session takeover keeps the device rules on the new connection', async () => {
    const secret = (await p.credentials.issueSecret('dev-c', { overlapS: 60 })).secret;
    const again = await connectOk(p.url, { clientId: 'dev-c', username: 'dev-c', password: secret, protocolVersion: 5 });
    try {
      await refused(again, 'devices/dev-a/temp');
      await refused(again, '$holdfast/devices/dev-c/presence');
      await again.publishAsync('devices/dev-c/temp', '20', { qos: 1 });
    } finally {
      await again.endAsync(true);
    }
  });
});

describe('device identities (which connection is a device)', () => {
  const info = (clientId: string, username: string | undefined): ClientInfo => ({
    clientId,
    username,
    protocolVersion: 5,
    remoteAddress: '127.0.0.1:1',
    listener: 'mqtt',
    certificate: undefined,
  });

  it('binds a pending device identity to the connection whose username is the device id, once', () => {
    const ids = new DeviceIdentities();
    ids.authenticated({ deviceId: 'd1', type: 'meter', registered: true, via: 'secret' });
    const spoof = info('d1', 'someone');
    expect(ids.identityOf(spoof)).toBeUndefined(); // not what the auth hook returned for d1
    const conn = info('d1', 'd1');
    expect(ids.identityOf(conn)).toMatchObject({ deviceId: 'd1', type: 'meter' });
    expect(ids.identityOf(conn)).toMatchObject({ deviceId: 'd1' }); // bound to the connection
    expect(ids.pendingCount).toBe(0);
    expect(ids.identityOf(info('d1', 'd1'))).toBeUndefined(); // a later connection needs its own authentication
  });

  it('a non-device authentication drops a stale pending identity; the pending table is bounded', () => {
    const ids = new DeviceIdentities({ maxPending: 2 });
    ids.authenticated({ deviceId: 'x', type: 't', registered: true, via: 'secret' });
    ids.notDevice('x');
    expect(ids.identityOf(info('x', 'x'))).toBeUndefined();
    for (const id of ['a', 'b', 'c']) ids.authenticated({ deviceId: id, type: 't', registered: true, via: 'secret' });
    expect(ids.pendingCount).toBe(2);
    expect(ids.evicted).toBe(1);
    expect(ids.identityOf(info('a', 'a'))).toBeUndefined();
    expect(ids.identityOf(info('c', 'c'))).toBeDefined();
  });

  it('templates with {type} are skipped for a device of unknown type; static rules still apply', () => {
    const ids = new DeviceIdentities();
    const acl = createDeviceAcl({
      templates: [
        { action: 'publish', topic: 'types/{type}/#', allow: true },
        { action: 'publish', topic: 'devices/{deviceId}/#', allow: true },
        { action: 'publish', topic: 'types/#', allow: false },
      ],
      staticAcl: createStaticAcl([{ action: 'publish', topic: 'blocked/#', allow: false }]),
      identities: ids,
    });
    ids.authenticated({ deviceId: 'jwt-1', type: undefined, registered: false, via: 'jwt' });
    const c = info('jwt-1', 'jwt-1');
    expect(acl.authorizePublish(c, 'types/meter/x', 0, false)).toBe(false);
    expect(acl.authorizePublish(c, 'devices/jwt-1/x', 0, false)).toBe(true);
    expect(acl.authorizePublish(c, 'blocked/x', 0, false)).toBe(false);
    expect(acl.authorizePublish(c, 'free/x', 0, false)).toBe(true);
    expect(() => createDeviceAcl({ templates: [{ action: 'all', topic: 'a/{nope}', allow: true }], staticAcl: {}, identities: ids })).toThrow(/placeholder/);
    expect(() => createDeviceAcl({ templates: [{ action: 'all', topic: 'a/#/b', allow: true }], staticAcl: {}, identities: ids })).toThrow(/valid topic filter/);
  });
});
