/**
 * Bridge routes with device conditions through `holdfast start` with the device platform:
 * a route with `deviceType: meter` and `labels: { site: north }` forwards only the
 * messages of registered devices of that type and label (facts read from the registry
 * when the device connects), nothing of other devices or of plain clients.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBridgesConfig } from '../../src/platform/bridges/index.js';
import { startApiApp, type ApiApp } from './api-harness.js';
import { batchItems, waitFor, WebhookServer } from './bridges-helpers.js';

const hook = new WebhookServer();
let api: ApiApp;
const clients: mqtt.MqttClient[] = [];

beforeAll(async () => {
  await hook.listen(0);
  api = await startApiApp({
    bridges: {
      sinks: [{ name: 'meters', kind: 'http', http: { url: hook.url }, batchLingerMs: 0 }],
      routes: [{ filter: 'telemetry/+', sink: 'meters', deviceType: 'meter', labels: { site: 'north' } }],
    },
  });
}, 30_000);
afterAll(async () => {
  for (const c of clients) await c.endAsync(true);
  await api?.stop();
  await hook.close();
});

async function device(id: string, type: string, site: string): Promise<mqtt.MqttClient> {
  expect((await api.call('POST', '/api/devices', { body: { id, type, labels: { site } } })).status).toBe(201);
  const secret = (await api.call('POST', `/api/devices/${id}/secrets`, { body: {} })).body.secret as string;
  const c = await mqtt.connectAsync(api.mqttUrl, { protocolVersion: 5, clientId: id, username: id, password: secret, reconnectPeriod: 0 });
  clients.push(c);
  return c;
}

describe('bridges: routes by device type and labels (platform on)', () => {
  it('forwards the messages of north meters only', async () => {
    const north = await device('meter-n', 'meter', 'north');
    const south = await device('meter-s', 'meter', 'south');
    const pump = await device('pump-n', 'pump', 'north');
    const plain = await mqtt.connectAsync(api.mqttUrl, { protocolVersion: 5, clientId: 'plain-app', reconnectPeriod: 0 });
    clients.push(plain);
    for (const [c, id] of [[south, 'meter-s'], [pump, 'pump-n'], [plain, 'plain-app'], [north, 'meter-n']] as const) {
      await c.publishAsync(`telemetry/${id}`, JSON.stringify({ from: id }), { qos: 1 });
    }
    await waitFor(() => hook.requests.length > 0, 'the north meter at the webhook');
    // Everything before the north meter's message was routed (or not) already: give the dispatcher one more round.
    await waitFor(() => api.app.bridges!.status().sinks[0]!.outbox.messages === 0, 'outbox empty');
    const items = hook.requests.flatMap(batchItems);
    expect(items.map((m) => m.clientId)).toEqual(['meter-n']);
    expect(items[0]!.payload).toEqual({ from: 'meter-n' });
  });

  it('reconfigure (hot reload of the bridges section): the new routes apply at once, without a restart', async () => {
    const before = hook.requests.length;
    const r = await api.app.bridges!.reconfigure(
      parseBridgesConfig({
        sinks: [{ name: 'meters', kind: 'http', http: { url: hook.url }, batchLingerMs: 0 }],
        routes: [{ filter: 'telemetry/+', sink: 'meters', deviceType: 'meter' }],
      }),
    );
    expect(r).toEqual({ restartRequired: [] });
    expect(api.app.bridges!.status().routes).toBe(1);
    const south = clients[1]!;
    await south.publishAsync('telemetry/meter-s', JSON.stringify({ again: true }), { qos: 1 });
    await waitFor(() => hook.requests.length > before, 'the south meter at the webhook');
    expect(hook.requests.slice(before).flatMap(batchItems).map((m) => m.clientId)).toEqual(['meter-s']);
  });
});
