/**
 * MQTT 5 PUBLISH properties as they pass through the broker: forwarded unaltered
 * (payload format, content type, response topic, correlation data, user properties in
 * order with repeats), Payload Format Indicator validation, and Message Expiry (remaining
 * lifetime forwarded, expired queued messages not sent). Expiry uses a broker clock moved
 * by hand (startClockedBroker) instead of waiting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RC } from '../../src/codec/mqtt/index.js';
import { startClockedBroker, stopBroker, type OffsetClock } from '../helpers/pubsub-broker.js';
import type { TestBroker } from '../helpers/broker.js';
import {
  collector,
  mqttJs,
  nextPublish,
  payloads,
  publish,
  rawConnect,
  receiveAcking,
  subscribe,
  sync,
  takePublishes,
  uid,
  waitUntil,
} from '../helpers/pubsub-clients.js';
import { RawClient } from '../helpers/raw-client.js';

let tb: TestBroker & { clock: OffsetClock };
beforeAll(async () => {
  tb = await startClockedBroker();
});
afterAll(() => stopBroker(tb));

const persistent = (clientId: string) => ({ clientId, clean: false, properties: { sessionExpiryInterval: 300 } });

async function reconnect(clientId: string): Promise<RawClient> {
  const c = await RawClient.open(tb.port, 5);
  c.send({ type: 1, protocolName: 'MQTT', protocolVersion: 5, keepalive: 60, ...persistent(clientId) });
  const ack = await c.next(2);
  expect(ack).toMatchObject({ sessionPresent: true, reasonCode: 0 });
  return c;
}

async function goOffline(c: RawClient, clientId: string): Promise<void> {
  c.send({ type: 14, reasonCode: 0 });
  await c.waitClosed();
  await waitUntil(() => tb.broker.sessions.get(clientId)?.online !== true, `session ${clientId} offline`);
}

describe('properties forwarded unaltered', () => {
  it('MQTT-3.3.2-4/15/16/17/18/20 payload format, content type, response topic, correlation data and user properties (order and repeats kept)', async () => {
    const topic = uid('props');
    const sub = await rawConnect(tb.port, 5);
    await subscribe(sub, topic, { qos: 1 });
    const pub = await rawConnect(tb.port, 5);
    const userProperties: [string, string][] = [
      ['b', '1'],
      ['a', '2'],
      ['b', '3'],
      ['a', '2'],
      ['ünï', 'çødé'],
    ];
    const correlationData = Buffer.from([0, 1, 2, 0xff, 0xfe]);
    await publish(pub, topic, 'héllo', {
      qos: 1,
      properties: {
        payloadFormatIndicator: 1,
        contentType: 'text/plain; charset=utf-8',
        responseTopic: 'reply/to/me',
        correlationData,
        userProperties,
      },
    });
    const p = await nextPublish(sub);
    expect(p.properties?.payloadFormatIndicator).toBe(1);
    expect(p.properties?.contentType).toBe('text/plain; charset=utf-8');
    expect(p.properties?.responseTopic).toBe('reply/to/me');
    expect(Buffer.compare(p.properties!.correlationData!, correlationData)).toBe(0);
    expect(p.properties?.userProperties).toEqual(userProperties);
    expect(p.properties?.messageExpiryInterval).toBeUndefined(); // none was set
    sub.close();
    pub.close();
  });

  it('MQTT-3.3.2-17 MQTT.js flow: user properties and correlation data reach an MQTT.js subscriber', async () => {
    const topic = uid('jsprops');
    const sub = await mqttJs(tb.port);
    const msgs = collector(sub);
    await sub.subscribeAsync(topic, { qos: 1 });
    const pub = await mqttJs(tb.port);
    await pub.publishAsync(topic, 'req', {
      qos: 1,
      properties: { userProperties: { k: ['v1', 'v2'], other: 'x' }, correlationData: Buffer.from('cid-1'), responseTopic: 'r/1' },
    });
    const [m] = await msgs.waitFor(1);
    expect(m.properties?.userProperties).toEqual({ k: ['v1', 'v2'], other: 'x' });
    expect((m.properties?.correlationData as Buffer).toString()).toBe('cid-1');
    expect(m.properties?.responseTopic).toBe('r/1');
    await sub.endAsync();
    await pub.endAsync();
  });

  it('MQTT5 3.3.4 a 3.1.1 subscriber gets a v5 message with properties as a plain 3.1.1 PUBLISH', async () => {
    const topic = uid('v4props');
    const sub = await rawConnect(tb.port, 4);
    await subscribe(sub, topic, { qos: 1 });
    const pub = await rawConnect(tb.port, 5);
    await publish(pub, topic, 'to-v4', {
      qos: 1,
      properties: { userProperties: [['a', 'b']], messageExpiryInterval: 60, contentType: 'text/plain' },
    });
    const [p] = await receiveAcking(sub, 1);
    expect(p).toMatchObject({ topic, qos: 1 });
    expect(p.payload.toString()).toBe('to-v4');
    expect(p.properties).toBeUndefined();
    expect(sub.decodeError).toBeUndefined();
    sub.close();
    pub.close();
  });

  it('MQTT5 3.3.2.3.2 payload format 1 with invalid UTF-8 at QoS 1 -> PUBACK 0x99 Payload format invalid; not delivered', async () => {
    const topic = uid('pfi');
    const sub = await rawConnect(tb.port, 5);
    await subscribe(sub, topic, { qos: 1 });
    const pub = await rawConnect(tb.port, 5);
    const ack = await publish(pub, topic, Buffer.from([0x68, 0xc3, 0x28, 0xff]), { qos: 1, properties: { payloadFormatIndicator: 1 } });
    expect(ack).toMatchObject({ type: 4, reasonCode: RC.PAYLOAD_FORMAT_INVALID });
    // The connection stays up and a valid message still goes through.
    await publish(pub, topic, 'valid', { qos: 1, properties: { payloadFormatIndicator: 1 } });
    const [p] = await receiveAcking(sub, 1);
    expect(p.payload.toString()).toBe('valid');
    await sync(sub);
    expect(takePublishes(sub)).toEqual([]);
    sub.close();
    pub.close();
  });
});

describe('Message Expiry Interval', () => {
  it('MQTT-3.3.2-6 live forwarding carries the Message Expiry Interval (nothing waited, so the full value)', async () => {
    const topic = uid('mei');
    const sub = await rawConnect(tb.port, 5);
    await subscribe(sub, topic, { qos: 1 });
    const pub = await rawConnect(tb.port, 5);
    await publish(pub, topic, 'x', { qos: 1, properties: { messageExpiryInterval: 120 } });
    const p = await nextPublish(sub);
    expect(p.properties?.messageExpiryInterval).toBeGreaterThanOrEqual(119);
    expect(p.properties?.messageExpiryInterval).toBeLessThanOrEqual(120);
    sub.close();
    pub.close();
  });

  it('MQTT-3.3.2-6 a message queued for an offline session is forwarded with the remaining lifetime', async () => {
    const topic = uid('remain');
    const clientId = uid('remain-sub');
    const sub = await RawClient.connected(tb.port, 5, persistent(clientId));
    await subscribe(sub, topic, { qos: 1 });
    await goOffline(sub, clientId);
    const pub = await rawConnect(tb.port, 5);
    await publish(pub, topic, 'later', { qos: 1, properties: { messageExpiryInterval: 100 } });
    tb.clock.advance(30_000); // the message waited 30 s
    const back = await reconnect(clientId);
    const p = await nextPublish(back);
    expect(p.payload.toString()).toBe('later');
    expect(p.properties?.messageExpiryInterval).toBeGreaterThanOrEqual(69);
    expect(p.properties?.messageExpiryInterval).toBeLessThanOrEqual(70);
    back.close();
    pub.close();
  });

  it('MQTT-3.3.2-5 an expired message queued for an offline session is not sent; unexpired ones are, in order', async () => {
    const topic = uid('expire');
    const clientId = uid('expire-sub');
    const sub = await RawClient.connected(tb.port, 5, persistent(clientId));
    await subscribe(sub, topic, { qos: 1 });
    await goOffline(sub, clientId);
    const dropsBefore = tb.broker.stats.dropped('expired');
    const pub = await rawConnect(tb.port, 5);
    await publish(pub, topic, 'keeps-1', { qos: 1 });
    await publish(pub, topic, 'expires', { qos: 1, properties: { messageExpiryInterval: 1 } });
    await publish(pub, topic, 'keeps-2', { qos: 1, properties: { messageExpiryInterval: 3600 } });
    tb.clock.advance(2_000); // past the 1 s expiry
    const back = await reconnect(clientId);
    const got = await receiveAcking(back, 2);
    expect(payloads(got)).toEqual(['keeps-1', 'keeps-2']);
    await sync(back);
    expect(takePublishes(back)).toEqual([]);
    expect(tb.broker.stats.dropped('expired')).toBe(dropsBefore + 1);
    back.close();
    pub.close();
  });
});
