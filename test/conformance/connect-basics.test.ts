/**
 * CONNECT basics (MQTT 3.1.1 section 3.1, MQTT 5.0 section 3.1): the first packet, a second
 * CONNECT, the connect timeout, protocol levels, the reserved flag, MQTT 3.1 (MQIsdp).
 */
import { describe, expect, it } from 'vitest';
import { RC } from '../../src/codec/mqtt/index.js';
import {
  connectPacket,
  expectConnack,
  expectDisconnectThenClose,
  expectServerDisconnect,
  nextPacket,
  nextPublish,
  publish,
  rawConnect,
  subscribe,
  uid,
  useHarness,
  MessageLog,
} from '../helpers/connect-harness.js';

const h = useHarness();

describe('first packet (MQTT-3.1.0-1)', () => {
  it('MQTT-3.1.0-1 a PUBLISH before CONNECT closes the connection without a reply', async () => {
    const tb = await h.broker();
    const c = await h.open(tb.port, 5);
    c.send({ type: 3, topic: 'a/b', payload: Buffer.from('x'), qos: 0, retain: false, dup: false });
    await c.waitClosed();
    expect(c.packets).toEqual([]);
    expect(tb.broker.stats.connectionsAccepted).toBe(0);
  });

  it('MQTT-3.1.0-1 a PINGREQ before CONNECT closes the connection without a PINGRESP', async () => {
    const tb = await h.broker();
    const c = await h.open(tb.port, 4);
    c.send({ type: 12 });
    await c.waitClosed();
    expect(c.packets).toEqual([]);
  });
});

describe('second CONNECT (MQTT-3.1.0-2)', () => {
  it('MQTT-3.1.0-2 v5: a second CONNECT is a Protocol Error: DISCONNECT 0x82 with a Reason String, then close', async () => {
    const tb = await h.broker();
    const id = uid();
    const c = await h.connected(tb.port, 5, { clientId: id });
    c.send(connectPacket(5, { clientId: id }));
    await expectDisconnectThenClose(c, RC.PROTOCOL_ERROR);
    // MQTT-3.2.0-2: never a second CONNACK on one connection.
    expect(c.packets.filter((p) => p.type === 2)).toEqual([]);
  });

  it('MQTT-3.1.0-2 3.1.1: a second CONNECT closes the connection with no packet', async () => {
    const tb = await h.broker();
    const c = await h.connected(tb.port, 4);
    c.send(connectPacket(4));
    await c.waitClosed();
    expect(c.packets).toEqual([]);
  });
});

describe('connect timeout (mqtt.connectTimeoutMs; MQTT 3.1 section 3.1.3: SHOULD close a connection without CONNECT)', () => {
  it('MQTT-3.1.0-1 connect timeout: an idle socket that never sends CONNECT is closed after the connect timeout', async () => {
    const tb = await h.broker({ config: { mqtt: { connectTimeoutMs: 300 } } });
    const started = Date.now();
    const c = await h.open(tb.port, 5);
    await c.waitClosed(5000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(c.packets).toEqual([]);
  });

  it('MQTT-3.1.0-1 connect timeout: a CONNECT that never completes (half the bytes) is closed after the connect timeout', async () => {
    const tb = await h.broker({ config: { mqtt: { connectTimeoutMs: 300 } } });
    const c = await h.open(tb.port, 4);
    const bytes = rawConnect({ level: 4 });
    c.send(bytes.subarray(0, bytes.length >> 1));
    await c.waitClosed(5000);
    expect(c.packets).toEqual([]);
  });

  it('MQTT-3.1.0-1 connect timeout: a client that completed CONNECT in time is not closed by the connect timeout', async () => {
    const tb = await h.broker({ config: { mqtt: { connectTimeoutMs: 300 } } });
    const witness = await h.open(tb.port, 4);
    const c = await h.connected(tb.port, 4, { keepalive: 0 });
    // The idle witness opened before `c` connected: once it is closed, `c` has outlived the timeout.
    await witness.waitClosed(5000);
    c.send({ type: 12 });
    expect((await nextPacket(c, 13)).type).toBe(13);
    expect(c.closed).toBe(false);
  });
});

describe('protocol name and level (MQTT-3.1.2-1, MQTT-3.1.2-2)', () => {
  it('MQTT-3.1.2-2 3.1.1: protocol "MQTT" level 3 is refused with CONNACK 0x01, then close', async () => {
    const tb = await h.broker();
    const c = await h.open(tb.port, 4);
    c.send(rawConnect({ name: 'MQTT', level: 3 }));
    expectConnack(await nextPacket(c, 2), 0x01);
    await c.waitClosed();
  });

  it('MQTT-3.1.2-2 v5: unsupported protocol level 6 is refused with CONNACK 0x84, then close', async () => {
    const tb = await h.broker();
    const c = await h.open(tb.port, 5);
    c.send(rawConnect({ name: 'MQTT', level: 6, v5props: [0] }));
    expectConnack(await nextPacket(c, 2), RC.UNSUPPORTED_PROTOCOL_VERSION);
    await c.waitClosed();
  });

  it('MQTT-3.1.2-2 the refused connection is not counted as accepted and leaves no session', async () => {
    const tb = await h.broker();
    const c = await h.open(tb.port, 5);
    c.send(rawConnect({ name: 'MQTT', level: 7, clientId: 'lvl7' }));
    await nextPacket(c, 2);
    await c.waitClosed();
    expect(tb.broker.stats.connectionsAccepted).toBe(0);
    expect(tb.broker.sessions.has('lvl7')).toBe(false);
  });
});

describe('reserved flag (MQTT-3.1.2-3)', () => {
  for (const level of [4, 5] as const) {
    it(`MQTT-3.1.2-3 v${level}: the reserved connect flag set is a Malformed Packet: no success CONNACK, connection closed`, async () => {
      const tb = await h.broker();
      const c = await h.open(tb.port, level);
      c.send(rawConnect({ level, flags: 0x03, v5props: level === 5 ? [0] : undefined }));
      await c.waitClosed();
      // v5 MAY answer CONNACK 0x81 first (MQTT5 4.13.1); a success CONNACK is never allowed.
      for (const p of c.packets) expectConnack(p, RC.MALFORMED_PACKET);
      expect(tb.broker.stats.connectionsAccepted).toBe(0);
    });
  }
});

describe('MQTT 3.1 (protocol "MQIsdp", level 3)', () => {
  it('MQTT 3.1 raw client connects, subscribes and receives its own QoS 1 message', async () => {
    const tb = await h.broker();
    const c = await h.connected(tb.port, 3, { clientId: uid('v31') });
    expect(await subscribe(c, 'v31/t', 1)).toEqual([1]);
    await publish(c, 'v31/t', 'hello', 1, 7);
    const p = await nextPublish(c);
    expect(p.topic).toBe('v31/t');
    expect(p.payload.toString()).toBe('hello');
    expect(p.qos).toBe(1);
  });

  it('MQTT 3.1 MQTT.js client (protocolId MQIsdp, version 3) exchanges messages with a 3.1.1 client', async () => {
    const tb = await h.broker();
    const old = await h.mqtt(tb.port, { protocolId: 'MQIsdp', protocolVersion: 3, clientId: uid('js31') });
    const log = new MessageLog(old);
    await old.subscribeAsync('v31/js', { qos: 1 });
    const modern = await h.mqtt(tb.port, { protocolVersion: 4, clientId: uid('js4') });
    await modern.publishAsync('v31/js', 'from 3.1.1', { qos: 1 });
    await log.waitFor(1);
    expect(log.messages[0]).toMatchObject({ topic: 'v31/js', payload: 'from 3.1.1', qos: 1 });
  });

  it('MQTT 3.1 requires a client identifier: an empty one gets CONNACK 0x02', async () => {
    const tb = await h.broker();
    const { c, ack } = await h.connect(tb.port, 3, { clientId: '' });
    expectConnack(ack, 0x02);
    await c.waitClosed();
  });
});

describe('server shutdown', () => {
  it('MQTT5 3.14.2.1 v5: shutting the server down sends DISCONNECT 0x8B with a Reason String (and the Server Reference)', async () => {
    const tb = await h.broker();
    const c = await h.connected(tb.port, 5);
    const old = await h.connected(tb.port, 4);
    const closing = tb.broker.close({ serverReference: 'other.example:1883' });
    const d = await nextPacket(c, 14);
    expectServerDisconnect(d, RC.SERVER_SHUTTING_DOWN);
    expect((d as { properties?: { serverReference?: string } }).properties?.serverReference).toBe('other.example:1883');
    await c.waitClosed();
    await old.waitClosed(); // 3.1.1: closed without a packet
    expect(old.packets).toEqual([]);
    await closing;
  });
});

describe('MQTT.js connects (3.1.1 and 5.0)', () => {
  for (const protocolVersion of [4, 5] as const) {
    it(`MQTT-3.2.0-1 v${protocolVersion}: MQTT.js gets a success CONNACK`, async () => {
      const tb = await h.broker();
      const { client, error, connack } = await h.mqttAttempt(tb.port, { protocolVersion, clientId: uid('js') });
      expect(error).toBeUndefined();
      expect(client.connected).toBe(true);
      expect(protocolVersion === 5 ? connack?.reasonCode : connack?.returnCode).toBe(0);
    });
  }
});
