/**
 * The JetStream ingress composed by `holdfast start` (`bridges.ingress[]`, no sinks): a
 * message published to the stream on the machine's nats-server becomes an MQTT publish
 * that a subscriber receives; GET /api/bridges shows the ingress and its counters. (The
 * ingress's own guarantees, dedupe and poison messages, are ingress-*.test.ts.)
 */
import mqtt from 'mqtt';
import { headers, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BridgesStatusSchema } from '../../src/app/api/bridges-schemas.js';
import { SHARED_NATS_URL } from '../helpers/nats-server.js';
import { createStream, deleteStream, natsConnect, uniqueName } from '../helpers/nats-stream.js';
import { documented, startApiApp, type ApiApp } from './api-harness.js';
import { waitFor } from './bridges-helpers.js';

const stream = uniqueName('HF_INGRESS_APP');
const prefix = `hfin.${stream.toLowerCase()}`;
let nc: NatsConnection;
let api: ApiApp | undefined;
let sub: mqtt.MqttClient | undefined;

beforeAll(async () => {
  nc = await natsConnect(SHARED_NATS_URL);
  await createStream(nc, stream, [`${prefix}.>`], { storage: 'memory' });
  api = await startApiApp({
    platform: { enabled: false },
    bridges: { ingress: [{ name: 'north', servers: [SHARED_NATS_URL], stream, mapping: { subjectPrefix: prefix, topicPrefix: 'from-nats/' }, batchSize: 10 }] },
  });
}, 30_000);
afterAll(async () => {
  await sub?.endAsync(true);
  await api?.stop();
  await deleteStream(nc, stream);
  await nc.close();
});

describe('bridges: JetStream ingress through holdfast start', () => {
  it('stream messages become MQTT publishes, in order; the status shows the ingress', async () => {
    const got: Array<{ topic: string; payload: string }> = [];
    sub = await mqtt.connectAsync(api!.mqttUrl, { protocolVersion: 5, clientId: 'ingress-sub', reconnectPeriod: 0 });
    sub.on('message', (topic, payload) => got.push({ topic, payload: payload.toString() }));
    await sub.subscribeAsync('from-nats/#', { qos: 1 });
    const js = nc.jetstream();
    const h = headers();
    h.set('Nats-Msg-Id', 'order-1');
    await js.publish(`${prefix}.plant.line1`, Buffer.from('{"speed":3}'), { headers: h });
    await waitFor(() => got.length === 1, 'the publish from NATS', 20_000);
    expect(got[0]).toEqual({ topic: 'from-nats/plant/line1', payload: '{"speed":3}' });
    const h2 = headers();
    h2.set('Nats-Msg-Id', 'order-2');
    await js.publish(`${prefix}.plant.line2`, Buffer.from('x'), { headers: h2 });
    await waitFor(() => got.length === 2, 'the second publish', 20_000);
    const st = documented(BridgesStatusSchema, (await api!.call('GET', '/api/bridges')).body);
    expect(st.sinks).toEqual([]);
    expect(st.ingress).toHaveLength(1);
    expect(st.ingress[0]).toMatchObject({ name: 'north', stream, state: 'consuming', stats: { published: 2, deadLettered: 0 } });
    expect(got.map((m) => m.topic)).toEqual(['from-nats/plant/line1', 'from-nats/plant/line2']);
  });
});
