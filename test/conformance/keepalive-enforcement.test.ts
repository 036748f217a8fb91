/**
 * Keep Alive (MQTT 3.1.1 3.1.2.10, MQTT 5.0 3.1.2.10 and 3.2.2.3.14): PINGREQ/PINGRESP, the
 * 1.5 x Keep Alive rule, and the v5 Server Keep Alive (mqtt.maxKeepAliveS).
 */
import { describe, expect, it } from 'vitest';
import { RC } from '../../src/codec/mqtt/index.js';
import type { RawClient } from '../helpers/raw-client.js';
import { expectConnack, expectDisconnectThenClose, nextPacket, useHarness } from '../helpers/connect-harness.js';

const h = useHarness();

async function ping(c: RawClient): Promise<void> {
  c.send({ type: 12 });
  expect((await nextPacket(c, 13)).type).toBe(13);
}

describe('PINGREQ (MQTT-3.12.4-1)', () => {
  for (const version of [3, 4, 5] as const) {
    it(`MQTT-3.12.4-1 protocol level ${version}: the server answers every PINGREQ with a PINGRESP`, async () => {
      const tb = await h.broker();
      const c = await h.connected(tb.port, version);
      for (let i = 0; i < 3; i++) await ping(c);
      expect(c.packets).toEqual([]);
    });
  }

  it('MQTT-3.12.4-1 MQTT.js (keepalive 1 s) gets PINGRESPs to its PINGREQs', async () => {
    const tb = await h.broker();
    const client = await h.mqtt(tb.port, { protocolVersion: 5, keepalive: 1 });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no PINGRESP within 5 s')), 5000);
      client.on('packetreceive', (p) => {
        if (p.cmd === 'pingresp') {
          clearTimeout(t);
          resolve();
        }
      });
    });
  });
});

describe('1.5 x Keep Alive (MQTT-3.1.2-24 in 3.1.1, MQTT-3.1.2-22 in 5.0)', () => {
  it('MQTT-3.1.2-24 3.1.1: an idle client with Keep Alive 1 s is closed after 1.5 s, not before, with no packet', async () => {
    const tb = await h.broker();
    const c = await h.connected(tb.port, 4, { keepalive: 1 });
    const connectedAt = Date.now();
    await c.waitClosed(5000);
    expect(Date.now() - connectedAt).toBeGreaterThanOrEqual(1400);
    expect(c.packets).toEqual([]);
    expect(tb.broker.stats.connectionsClosed.get('keepalive-timeout')).toBe(1);
  });

  it('MQTT-3.1.2-22 v5: an idle client gets DISCONNECT 0x8D (Keep Alive timeout) with a Reason String, then close', async () => {
    const tb = await h.broker();
    const c = await h.connected(tb.port, 5, { keepalive: 1 });
    const connectedAt = Date.now();
    await expectDisconnectThenClose(c, RC.KEEP_ALIVE_TIMEOUT, 5000);
    expect(Date.now() - connectedAt).toBeGreaterThanOrEqual(1400);
  });

  it('MQTT-3.1.2-22 v5: any control packet resets the timer: a client that pings every 400 ms outlives an idle one', async () => {
    const tb = await h.broker();
    const idle = await h.connected(tb.port, 5, { keepalive: 1 });
    const busy = await h.connected(tb.port, 5, { keepalive: 1 });
    let stop = false;
    const pinger = (async () => {
      while (!stop) {
        await ping(busy);
        await new Promise((r) => setTimeout(r, 400)); // pacing of the client's own pings, not a wait for the server
      }
    })();
    await expectDisconnectThenClose(idle, RC.KEEP_ALIVE_TIMEOUT, 5000);
    stop = true;
    await pinger;
    await ping(busy);
    expect(busy.closed).toBe(false);
  });

  it('MQTT-3.1.2-22 v5: a client that keeps pinging is not timed out while the server itself holds its input (slow re-authentication hook)', async () => {
    let calls = 0;
    const tb = await h.broker({
      hooks: {
        enhancedAuth: async () => {
          // The first call authenticates; the re-authentication takes 2.5 s (a slow auth backend).
          if (calls++ > 0) await new Promise((r) => setTimeout(r, 2500));
          return { status: 'success' };
        },
      },
    });
    const { c, ack } = await h.connect(tb.port, 5, { keepalive: 1, properties: { authenticationMethod: 'SLOW' } });
    expectConnack(ack, 0);
    c.send({ type: 15, reasonCode: RC.REAUTHENTICATE, properties: { authenticationMethod: 'SLOW' } });
    const sent = Date.now();
    // The client keeps sending PINGREQs every 400 ms (its own pacing) while the hook runs.
    while (Date.now() - sent < 2000) {
      c.send({ type: 12 });
      await new Promise((r) => setTimeout(r, 400));
    }
    let done = await nextPacket(c, undefined, 5000);
    while (done.type === 13) done = await nextPacket(c, undefined, 5000);
    expect(done.type, `expected the re-authentication AUTH, got ${JSON.stringify(done)}`).toBe(15);
    expect((done as { reasonCode?: number }).reasonCode ?? 0).toBe(0);
    await ping(c);
  });

  it('MQTT-3.1.2-24 Keep Alive 0 turns the mechanism off for a 3.1.1 client', async () => {
    const tb = await h.broker();
    const witness = await h.connected(tb.port, 4, { keepalive: 1 });
    const c = await h.connected(tb.port, 4, { keepalive: 0 });
    await witness.waitClosed(5000);
    await ping(c);
  });
});

describe('Server Keep Alive (MQTT5 3.2.2.3.14, mqtt.maxKeepAliveS)', () => {
  it('MQTT-3.2.2-21 v5: asking more than mqtt.maxKeepAliveS gets Server Keep Alive = max, and the client is held to it', async () => {
    const tb = await h.broker({ config: { mqtt: { maxKeepAliveS: 1 } } });
    const { c, ack } = await h.connect(tb.port, 5, { keepalive: 120 });
    expectConnack(ack, 0);
    expect(ack.properties?.serverKeepAlive).toBe(1);
    const connectedAt = Date.now();
    await expectDisconnectThenClose(c, RC.KEEP_ALIVE_TIMEOUT, 5000);
    expect(Date.now() - connectedAt).toBeGreaterThanOrEqual(1400);
  });

  it('MQTT-3.2.2-21 v5: asking for Keep Alive 0 gets Server Keep Alive = max, and the client is held to it', async () => {
    const tb = await h.broker({ config: { mqtt: { maxKeepAliveS: 1 } } });
    const { c, ack } = await h.connect(tb.port, 5, { keepalive: 0 });
    expect(ack.properties?.serverKeepAlive).toBe(1);
    await expectDisconnectThenClose(c, RC.KEEP_ALIVE_TIMEOUT, 5000);
  });

  it('MQTT-3.2.2-22 v5: asking no more than the max gets no Server Keep Alive, and the client value is used', async () => {
    const tb = await h.broker({ config: { mqtt: { maxKeepAliveS: 60 } } });
    const { c, ack } = await h.connect(tb.port, 5, { keepalive: 1 });
    expectConnack(ack, 0);
    expect(ack.properties?.serverKeepAlive).toBeUndefined();
    await expectDisconnectThenClose(c, RC.KEEP_ALIVE_TIMEOUT, 5000);
  });

  it('MQTT-3.2.2-21 MQTT.js adopts the Server Keep Alive and stays connected past 1.5 x max', async () => {
    const tb = await h.broker({ config: { mqtt: { maxKeepAliveS: 1 } } });
    const witness = await h.connected(tb.port, 5, { keepalive: 1 });
    const { client, connack } = await h.mqttAttempt(tb.port, { protocolVersion: 5, keepalive: 60 });
    expect(connack?.properties?.serverKeepAlive).toBe(1);
    let offline = false;
    client.on('close', () => (offline = true));
    await witness.waitClosed(5000);
    // The idle witness (same limit, connected first) is gone; MQTT.js pinged and is still here.
    await Promise.race([
      client.publishAsync('ka/alive', 'x', { qos: 1 }),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no PUBACK within 3 s: MQTT.js was disconnected')), 3000)),
    ]);
    expect(offline).toBe(false);
    expect(client.connected).toBe(true);
  });
});
