/**
 * Hot reload (issue 8): a TLS certificate renewed in place is served to new connections
 * while an old connection stays up with the old one; a key that does not fit is refused;
 * a change of the config file (renamed over, as editors and ConfigMaps do) reloads by
 * itself, an empty file (a write in progress) does not.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { withTimeout } from '../helpers/transport-wait.js';
import { baseConfig, startFromFile, type ReloadApp, type Rec } from './config-reload-helpers.js';

const TLS = join(import.meta.dirname, '../fixtures/tls');
const apps: ReloadApp[] = [];
const clients: MqttClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.end(true);
  for (const a of apps.splice(0)) await a.stop();
});

/** The certificate's subject CN seen by a new TLS handshake. */
function servedCn(port: number): Promise<string | undefined> {
  return withTimeout(
    new Promise<string | undefined>((resolve, reject) => {
      const s: TLSSocket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
        const cn = s.getPeerCertificate().subject?.CN;
        s.destroy();
        resolve(typeof cn === 'string' ? cn : undefined);
      });
      s.once('error', reject);
    }),
    10_000,
    'a TLS handshake',
  );
}

describe('hot reload: TLS certificates and the file watch (issue 8)', () => {
  it('a certificate renewed in place reaches new connections; an old connection stays up with the old one', async () => {
    const a = await startFromFile((dir) => {
      copyFileSync(join(TLS, 'server.crt'), join(dir, 'tls.crt'));
      copyFileSync(join(TLS, 'server.key'), join(dir, 'tls.key'));
      return baseConfig(dir, { listeners: { bind: '127.0.0.1', warmupConnections: 0, mqtt: { port: 0 }, ws: { port: null }, tls: { port: 0, certFile: 'tls.crt', keyFile: 'tls.key' } } });
    });
    apps.push(a);
    const port = a.app.addresses.tls!;
    expect(await servedCn(port)).toBe('localhost');
    const old = await withTimeout(mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, { clientId: 'tls-old', rejectUnauthorized: false, reconnectPeriod: 0, protocolVersion: 5 }), 10_000, 'TLS connect');
    clients.push(old);
    let closed = false;
    old.on('close', () => (closed = true));
    const oldCn = (old.stream as TLSSocket).getPeerCertificate().subject?.CN;
    expect(oldCn).toBe('localhost');

    // A key that does not fit the certificate: refused, the old certificate is still served.
    copyFileSync(join(TLS, 'selfsigned-client.key'), join(a.dir, 'tls.key'));
    const bad = await a.call('POST', '/api/config/reload');
    expect(bad.status).toBe(422);
    expect(bad.body.details[0].path).toBe('listeners.tls');
    expect(await servedCn(port)).toBe('localhost');

    // The renewed pair, same file names: a change although no setting changed.
    copyFileSync(join(TLS, 'selfsigned-client.crt'), join(a.dir, 'tls.crt'));
    const r = await a.call('POST', '/api/config/reload');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ result: 'applied', revision: 2, applied: ['listeners.tls.files'], pendingRestart: [] });
    expect(await servedCn(port)).toBe('rogue-device');

    // The old connection: still up, still on its old certificate, still working.
    expect((old.stream as TLSSocket).getPeerCertificate().subject?.CN).toBe('localhost');
    await withTimeout(old.publishAsync('t/x', 'still here', { qos: 1 }), 10_000, 'PUBACK on the old TLS connection');
    expect(closed).toBe(false);
  });

  it('a change of the config file reloads it (debounced); an empty file is ignored', async () => {
    const watched = (dir: string, rules: Rec[]): Rec => baseConfig(dir, { config: { watch: true, watchDebounceMs: 50 }, acl: { rules } });
    const a = await startFromFile((dir) => watched(dir, []), { level: 'debug' });
    apps.push(a);
    const applied = (revision: number) => (x: Rec) => x.event === 'config-reload' && x.result === 'applied' && x.revision === revision;

    a.write(watched(a.dir, [{ action: 'publish', topic: 'a/#', allow: false }]));
    const rec = await a.log.waitFor(applied(2), 10_000, 'the reload after the file change');
    expect(rec.trigger).toBe('file');
    expect(a.app.broker.config.acl.rules).toHaveLength(1);

    // Truncated (a write in progress): nothing is applied, then the completed file is.
    writeFileSync(a.file, '');
    await a.log.waitFor((x) => typeof x.msg === 'string' && x.msg.startsWith('config file is empty'), 10_000, 'the empty file being seen');
    a.write(watched(a.dir, [{ action: 'publish', topic: 'b/#', allow: false }, { action: 'publish', topic: 'c/#', allow: false }]));
    await a.log.waitFor(applied(3), 10_000, 'the reload after the second change');
    expect(a.app.broker.config.acl.rules.map((x) => x.topic)).toEqual(['b/#', 'c/#']);
    expect(a.log.records.filter((x) => x.event === 'config-reload' && x.result === 'invalid')).toEqual([]);
    expect(readFileSync(a.file, 'utf8')).toContain('c/#');
  });
});
