/**
 * Issue 5, X.509 client certificates mapped to devices, over a real TLS listener that asks
 * for client certificates (fixtures in test/fixtures/tls: `client` is signed by the CA with
 * CN device-42, `selfsigned-client` is not, CN rogue-device).
 * - by fingerprint (any spelling of it, normalized), CA-signed or pinned self-signed;
 * - by subject CN, only for certificates the CA verified;
 * - the client id must be the device's id (0x87); disabled device 0x87.
 */
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { tlsFixtures } from '../helpers/transport-tls.js';
import { connectOk, startPlatformBroker, tryConnect, type PlatformBroker } from './platform-devices-harness.js';

let p: PlatformBroker | undefined;
const clients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await p?.stop();
  p = undefined;
});

const tlsOpts = (pair: { cert: string; key: string }, clientId: string, protocolVersion: 4 | 5 = 5) => ({
  clientId,
  protocolVersion,
  ca: tlsFixtures.ca,
  cert: pair.cert,
  key: pair.key,
  rejectUnauthorized: true,
});

describe('device certificates', () => {
  it('issue 5: a certificate mapped by fingerprint (pasted lower case without colons) authenticates its device, no password', async () => {
    p = await startPlatformBroker({ tls: true });
    await p.registry.create({ id: 'meter-fp', type: 'meter' });
    const cred = await p.credentials.addCertificate('meter-fp', { fingerprint256: tlsFixtures.client.fingerprint256.replaceAll(':', '').toLowerCase() });
    expect(cred.fingerprint256).toBe(tlsFixtures.client.fingerprint256);
    clients.push(await connectOk(p.tlsUrl, tlsOpts(tlsFixtures.client, 'meter-fp')));
    expect(p.tb.broker.connectedClient('meter-fp')?.username).toBe('meter-fp');
    clients.push(await connectOk(p.tlsUrl, tlsOpts(tlsFixtures.client, 'meter-fp', 4)));
  });

  it('issue 5: a CA-verified certificate mapped by subject CN authenticates its device', async () => {
    p = await startPlatformBroker({ tls: true });
    await p.registry.create({ id: 'device-42', type: 'meter' });
    await p.credentials.addCertificate('device-42', { subjectCN: 'device-42' });
    clients.push(await connectOk(p.tlsUrl, tlsOpts(tlsFixtures.client, 'device-42')));
  });

  it('issue 5: the client id must be the device the certificate maps to (0x87)', async () => {
    p = await startPlatformBroker({ tls: true });
    await p.registry.create({ id: 'device-42', type: 'meter' });
    await p.registry.create({ id: 'other', type: 'meter' });
    await p.credentials.addCertificate('device-42', { fingerprint256: tlsFixtures.client.fingerprint256 });
    expect(await tryConnect(p.tlsUrl, tlsOpts(tlsFixtures.client, 'other'))).toMatchObject({ ok: false, code: 0x87 });
    expect(await tryConnect(p.tlsUrl, tlsOpts(tlsFixtures.client, 'not-a-device'))).toMatchObject({ ok: false, code: 0x87 });
  });

  it('issue 5: a subject CN is not trusted from a certificate the CA did not sign; a pinned fingerprint is', async () => {
    p = await startPlatformBroker({ tls: true });
    await p.registry.create({ id: 'rogue-device', type: 'meter' });
    await p.credentials.addCertificate('rogue-device', { subjectCN: 'rogue-device' });
    // Self-signed with the right CN: the CN mapping does not apply, the device has no secret -> 0x86.
    expect(await tryConnect(p.tlsUrl, tlsOpts(tlsFixtures.selfSignedClient, 'rogue-device'))).toMatchObject({ ok: false, code: 0x86 });
    await p.registry.create({ id: 'pinned', type: 'meter' });
    await p.credentials.addCertificate('pinned', { fingerprint256: tlsFixtures.selfSignedClient.fingerprint256 });
    clients.push(await connectOk(p.tlsUrl, tlsOpts(tlsFixtures.selfSignedClient, 'pinned')));
  });

  it('issue 5: fingerprint and CN together must both match; revoking the mapping refuses the certificate', async () => {
    p = await startPlatformBroker({ tls: true });
    await p.registry.create({ id: 'device-42', type: 'meter' });
    const wrongCn = await p.credentials.addCertificate('device-42', { fingerprint256: tlsFixtures.client.fingerprint256, subjectCN: 'someone-else' });
    expect(await tryConnect(p.tlsUrl, tlsOpts(tlsFixtures.client, 'device-42'))).toMatchObject({ ok: false, code: 0x86 });
    await p.credentials.revoke('device-42', wrongCn.id);
    const both = await p.credentials.addCertificate('device-42', { fingerprint256: tlsFixtures.client.fingerprint256, subjectCN: 'device-42' });
    const c = await connectOk(p.tlsUrl, tlsOpts(tlsFixtures.client, 'device-42'));
    await c.endAsync(true);
    await p.credentials.revoke('device-42', both.id);
    expect(await tryConnect(p.tlsUrl, tlsOpts(tlsFixtures.client, 'device-42'))).toMatchObject({ ok: false, code: 0x86 });
  });

  it('issue 5: a disabled device is refused with 0x87 even with its certificate', async () => {
    p = await startPlatformBroker({ tls: true });
    await p.registry.create({ id: 'device-42', type: 'meter', enabled: false });
    await p.credentials.addCertificate('device-42', { subjectCN: 'device-42' });
    expect(await tryConnect(p.tlsUrl, tlsOpts(tlsFixtures.client, 'device-42'))).toMatchObject({ ok: false, code: 0x87 });
    expect(await tryConnect(p.tlsUrl, tlsOpts(tlsFixtures.client, 'device-42', 4))).toMatchObject({ ok: false, code: 5 });
  });

  it('issue 5: one certificate maps to one device only', async () => {
    p = await startPlatformBroker({ tls: true });
    await p.registry.create({ id: 'a', type: 'meter' });
    await p.registry.create({ id: 'b', type: 'meter' });
    await p.credentials.addCertificate('a', { fingerprint256: tlsFixtures.client.fingerprint256 });
    await expect(p.credentials.addCertificate('b', { fingerprint256: tlsFixtures.client.fingerprint256 })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    await expect(p.credentials.addCertificate('b', { fingerprint256: 'AB:CD' })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(p.credentials.addCertificate('b', {})).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });
});
