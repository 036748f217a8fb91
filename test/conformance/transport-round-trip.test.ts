/**
 * Every transport carries MQTT 3.1.1 and 5.0 end to end with a real client (MQTT.js):
 * TCP, TLS (with client certificates reaching the auth hook) and WebSocket (MQTT5 6.0),
 * and a message crosses transports (published over TCP, received over WS and TLS).
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthRequest, ClientInfo } from '../../src/broker/hooks.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { connectClient, nextMessage, uniqueId } from '../helpers/transport-clients.js';
import { serverTlsOptions, tlsFixtures } from '../helpers/transport-tls.js';

type Transport = 'tcp' | 'tls' | 'ws';

let tb: TestBroker;
const seen = new Map<string, ClientInfo>();
/** Client ids whose CONNECT the auth hook refuses unless the certificate was verified. */
const REQUIRE_VERIFIED_CERT = 'needs-cert';

beforeAll(async () => {
  tb = await startTestBroker({
    tls: serverTlsOptions(true),
    hooks: {
      async authenticate(req: AuthRequest) {
        seen.set(req.client.clientId, req.client);
        if (req.client.clientId.startsWith(REQUIRE_VERIFIED_CERT) && req.client.certificate?.authorized !== true) {
          return { ok: false, reasonCode: 0x87, reason: 'A CA-signed client certificate is required' };
        }
        return { ok: true };
      },
    },
  });
  expect(tb.tlsPort).toBeTypeOf('number');
});
afterAll(async () => {
  await tb.stop();
});

function urlFor(t: Transport): string {
  if (t === 'tcp') return `mqtt://127.0.0.1:${tb.port}`;
  if (t === 'tls') return `mqtts://127.0.0.1:${tb.tlsPort}`;
  return `ws://127.0.0.1:${tb.wsPort}/mqtt`;
}

/** TLS options for MQTT.js: verify the server against the test CA, present `client` if given. */
function tlsClientOptions(client?: { cert: string; key: string }) {
  return { ca: tlsFixtures.ca, rejectUnauthorized: true, ...(client ?? {}) };
}

function connect(t: Transport, protocolVersion: 4 | 5, clientId: string, client = t === 'tls' ? tlsFixtures.client : undefined): Promise<MqttClient> {
  return connectClient(urlFor(t), { protocolVersion, clientId, ...(t === 'tls' ? tlsClientOptions(client) : {}) });
}

const LISTENER: Record<Transport, string> = { tcp: 'mqtt', tls: 'tls', ws: 'ws' };

describe('transports: publish/subscribe round trip with MQTT.js', () => {
  for (const t of ['tcp', 'tls', 'ws'] as const) {
    for (const v of [4, 5] as const) {
      it(`MQTT-4.2.0-1 MQTT5 6.0 [${t} v${v}] QoS 0/1 round trip over ${t}`, async () => {
        const subId = uniqueId(`sub-${t}-${v}`);
        const sub = await connect(t, v, subId);
        const pub = await connect(t, v, uniqueId(`pub-${t}-${v}`));
        const topic = `rt/${t}/${v}`;
        await sub.subscribeAsync(`rt/${t}/+`, { qos: 1 });
        for (const qos of [0, 1] as const) {
          const got = nextMessage(sub, topic, `hello-${qos}`);
          await pub.publishAsync(topic, `hello-${qos}`, { qos });
          expect(await got).toEqual({ topic, payload: `hello-${qos}` });
        }
        // The broker saw the client on the right listener with the right protocol level.
        expect(seen.get(subId)).toMatchObject({ listener: LISTENER[t], protocolVersion: v });
        await Promise.all([pub.endAsync(), sub.endAsync()]);
      });
    }
  }

  it('MQTT5 6.0 cross-transport: published over TCP, received over WebSocket (v5) and TLS (v4)', async () => {
    const wsSub = await connect('ws', 5, uniqueId('x-ws'));
    const tlsSub = await connect('tls', 4, uniqueId('x-tls'));
    const tcpPub = await connect('tcp', 5, uniqueId('x-tcp'));
    await wsSub.subscribeAsync('cross/#', { qos: 1 });
    await tlsSub.subscribeAsync('cross/+/x', { qos: 1 });
    const viaWs = nextMessage(wsSub, 'cross/a/x', 'from-tcp');
    const viaTls = nextMessage(tlsSub, 'cross/a/x', 'from-tcp');
    await tcpPub.publishAsync('cross/a/x', 'from-tcp', { qos: 1 });
    expect(await viaWs).toEqual({ topic: 'cross/a/x', payload: 'from-tcp' });
    expect(await viaTls).toEqual({ topic: 'cross/a/x', payload: 'from-tcp' });
    // And back: published over TLS, received over WebSocket.
    const back = nextMessage(wsSub, 'cross/b/x', 'from-tls');
    await tlsSub.publishAsync('cross/b/x', 'from-tls', { qos: 1 });
    expect(await back).toEqual({ topic: 'cross/b/x', payload: 'from-tls' });
    await Promise.all([wsSub.endAsync(), tlsSub.endAsync(), tcpPub.endAsync()]);
  });
});

describe('TLS client certificates reach the auth hook (ClientInfo.certificate)', () => {
  for (const v of [4, 5] as const) {
    it(`[tls v${v}] a CA-signed client certificate: subject CN, SHA-256 fingerprint, authorized`, async () => {
      const id = uniqueId(`cert-ok-${v}`);
      const c = await connect('tls', v, id, tlsFixtures.client);
      expect(seen.get(id)?.certificate).toEqual({
        subjectCN: 'device-42',
        fingerprint256: tlsFixtures.client.fingerprint256,
        authorized: true,
      });
      await c.endAsync();
    });

    it(`[tls v${v}] a self-signed client certificate: passed on with authorized = false`, async () => {
      const id = uniqueId(`cert-rogue-${v}`);
      const c = await connect('tls', v, id, tlsFixtures.selfSignedClient);
      expect(seen.get(id)?.certificate).toEqual({
        subjectCN: 'rogue-device',
        fingerprint256: tlsFixtures.selfSignedClient.fingerprint256,
        authorized: false,
      });
      expect(tlsFixtures.selfSignedClient.fingerprint256).not.toBe(tlsFixtures.client.fingerprint256);
      await c.endAsync();
    });
  }

  it('[tls] no client certificate: certificate is undefined; plain TCP and WS never have one', async () => {
    const ids = { tls: uniqueId('nocert-tls'), tcp: uniqueId('nocert-tcp'), ws: uniqueId('nocert-ws') };
    const a = await connectClient(urlFor('tls'), { protocolVersion: 5, clientId: ids.tls, ...tlsClientOptions() });
    const b = await connect('tcp', 5, ids.tcp);
    const c = await connect('ws', 5, ids.ws);
    expect(seen.get(ids.tls)).toMatchObject({ listener: 'tls' });
    expect(seen.get(ids.tls)?.certificate).toBeUndefined();
    expect(seen.get(ids.tcp)?.certificate).toBeUndefined();
    expect(seen.get(ids.ws)?.certificate).toBeUndefined();
    await Promise.all([a.endAsync(), b.endAsync(), c.endAsync()]);
  });

  it('MQTT5 3.2.2.2 [tls v5] the auth hook can refuse an unverified certificate: CONNACK 0x87', async () => {
    const err = await connect('tls', 5, uniqueId(REQUIRE_VERIFIED_CERT), tlsFixtures.selfSignedClient).then(
      () => undefined,
      (e: unknown) => e as { code?: number },
    );
    expect(err?.code).toBe(0x87);
    // The CA-signed certificate passes the same hook.
    const ok = await connect('tls', 5, uniqueId(REQUIRE_VERIFIED_CERT), tlsFixtures.client);
    expect(ok.connected).toBe(true);
    await ok.endAsync();
  });

  it('MQTT-3.2.2-5 [tls v4] the same refusal for 3.1.1 is return code 5 (not authorized)', async () => {
    const err = await connect('tls', 4, uniqueId(REQUIRE_VERIFIED_CERT), tlsFixtures.selfSignedClient).then(
      () => undefined,
      (e: unknown) => e as { code?: number },
    );
    expect(err?.code).toBe(5);
  });
});
