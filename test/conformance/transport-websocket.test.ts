/**
 * MQTT over WebSocket (MQTT5 6.0, MQTT 3.1.1 6): the upgrade path and subprotocol, binary
 * frames only (MQTT-6.0.0-1), and packets not aligned on frame boundaries (MQTT-6.0.0-2).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Packet, PublishPacket } from '../../src/codec/mqtt/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { Bystander } from '../helpers/transport-clients.js';
import { waitUntil } from '../helpers/transport-wait.js';
import { tryUpgrade, WsRawClient } from '../helpers/transport-ws.js';

let tb: TestBroker;
let bystander: Bystander;
let url: string;
beforeAll(async () => {
  tb = await startTestBroker();
  bystander = await Bystander.start(tb.port);
  url = `ws://127.0.0.1:${tb.wsPort}/mqtt`;
});
afterAll(async () => {
  await bystander.stop();
  await tb.stop();
});

const sub = (topic: string): Packet => ({
  type: 8,
  packetId: 11,
  subscriptions: [{ topic, qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
  properties: {},
});
const pub = (topic: string, payload: string): Packet => ({
  type: 3,
  topic,
  payload: Buffer.from(payload),
  qos: 1,
  retain: false,
  dup: false,
  packetId: 12,
  properties: {},
});

/** Splits `buf` at the given offsets. */
function splitAt(buf: Buffer, offsets: number[]): Buffer[] {
  const parts: Buffer[] = [];
  let prev = 0;
  for (const o of [...offsets, buf.length]) {
    parts.push(buf.subarray(prev, o));
    prev = o;
  }
  return parts;
}

function connectionsBack(n: number): Promise<void> {
  return waitUntil(() => tb.broker.connections.size === n, 5_000, `broker.connections to return to ${n}`, () => tb.broker.connections.size);
}

describe('WebSocket transport', () => {
  it('MQTT-6.0.0-4 the upgrade on the configured path selects the "mqtt" subprotocol', async () => {
    const before = tb.broker.connections.size;
    const r = await tryUpgrade(url, ['mqtt']);
    expect(r).toEqual({ opened: true, protocol: 'mqtt' });
    await connectionsBack(before); // the client hung up at once: nothing stays behind
  });

  it('MQTT5 6.0 an upgrade on another path is rejected (HTTP 400, no connection)', async () => {
    const before = tb.broker.connections.size;
    const r = await tryUpgrade(`ws://127.0.0.1:${tb.wsPort}/not-mqtt`);
    expect(r.opened).toBe(false);
    expect(r.status).toBe(400);
    expect(tb.broker.connections.size).toBe(before);
    await bystander.roundTrip();
  });

  it('MQTT-6.0.0-1 a text frame before CONNECT closes the connection', async () => {
    const before = tb.broker.connections.size;
    const c = await WsRawClient.open(url, 5);
    c.sendText('\u0010\u0000');
    const code = await c.waitClosed();
    expect(code).toBe(1003); // RFC 6455 7.4.1: unsupported data
    expect(c.packets).toEqual([]);
    await connectionsBack(before);
    await bystander.roundTrip();
  });

  for (const v of [4, 5] as const) {
    it(`MQTT-6.0.0-1 [v${v}] a text frame after CONNECT closes the connection (and the will is published)`, async () => {
      const before = tb.broker.connections.size;
      const watcher = await WsRawClient.connected(url, 5);
      watcher.sendFrame(watcher.encode(sub(`ws/will/${v}`)));
      await watcher.next(9);
      const c = await WsRawClient.open(url, v);
      c.sendFrame(
        c.encode({
          type: 1, protocolName: 'MQTT', protocolVersion: v, clean: true, keepalive: 60, clientId: `ws-text-${v}`,
          will: { topic: `ws/will/${v}`, payload: Buffer.from('text frame'), qos: 1, retain: false, properties: v === 5 ? {} : undefined },
        }),
      );
      expect(await c.next(2)).toMatchObject({ reasonCode: 0 });
      c.sendText('PINGREQ please');
      await c.waitClosed();
      expect(c.packets).toEqual([]); // no PINGRESP, nothing: the text frame was not taken as MQTT
      // Closed by the server, not by a normal DISCONNECT: the will goes out (MQTT-3.1.2-8).
      const will = (await watcher.next(3)) as PublishPacket;
      expect(will.payload.toString()).toBe('text frame');
      watcher.close();
      await connectionsBack(before);
      await bystander.roundTrip();
    });
  }

  for (const v of [4, 5] as const) {
    it(`MQTT-6.0.0-2 [v${v}] a CONNECT split over one WebSocket message per byte`, async () => {
      const c = await WsRawClient.open(url, v);
      const connect = c.encode({ type: 1, protocolName: 'MQTT', protocolVersion: v, clean: true, keepalive: 60, clientId: `ws-split-${v}` });
      for (const b of connect) c.sendFrame(Buffer.from([b]));
      expect(await c.next(2)).toMatchObject({ type: 2, reasonCode: 0 });
      c.close();
    });

    it(`MQTT-6.0.0-2 [v${v}] SUBSCRIBE + PUBLISH + PINGREQ in one WebSocket message`, async () => {
      const c = await WsRawClient.connected(url, v);
      const topic = `ws/batch/${v}`;
      c.sendFrame(Buffer.concat([c.encode(sub(topic)), c.encode(pub(topic, 'batched')), c.encode({ type: 12 })]));
      expect(await c.next(9)).toMatchObject({ packetId: 11, reasonCodes: [1] });
      expect(await c.next(4)).toMatchObject({ packetId: 12 });
      expect(((await c.next(3)) as PublishPacket).payload.toString()).toBe('batched');
      expect((await c.next(13)).type).toBe(13);
      c.close();
    });

    it(`MQTT-6.0.0-2 [v${v}] packets straddling message boundaries (split mid-header and mid-payload)`, async () => {
      const c = await WsRawClient.connected(url, v);
      const topic = `ws/straddle/${v}`;
      const s = c.encode(sub(topic));
      const p = c.encode(pub(topic, 'x'.repeat(300)));
      const all = Buffer.concat([s, p, c.encode({ type: 12 })]);
      // Cut inside SUBSCRIBE's fixed header, across the SUBSCRIBE/PUBLISH border, inside the payload.
      for (const part of splitAt(all, [1, s.length + 2, s.length + 150, all.length - 1])) c.sendFrame(part);
      expect(await c.next(9)).toMatchObject({ reasonCodes: [1] });
      expect(await c.next(4)).toMatchObject({ packetId: 12 });
      expect(((await c.next(3)) as PublishPacket).payload.toString()).toBe('x'.repeat(300));
      expect((await c.next(13)).type).toBe(13);
      c.close();
    });
  }

  it('MQTT-6.0.0-2 one MQTT packet sent as a fragmented WebSocket message (continuation frames)', async () => {
    const c = await WsRawClient.connected(url, 5);
    const topic = 'ws/fragmented';
    c.sendFrame(c.encode(sub(topic)));
    await c.next(9);
    const p = c.encode(pub(topic, 'fragments'));
    c.sendFrame(p.subarray(0, 3), { fin: false });
    c.sendFrame(p.subarray(3, 10), { fin: false });
    c.sendFrame(p.subarray(10), { fin: true });
    expect(((await c.next(3)) as PublishPacket).payload.toString()).toBe('fragments');
    expect(c.textFrameReceived).toBe(false); // MQTT-6.0.0-1 applies to the server too
    c.close();
  });
});
