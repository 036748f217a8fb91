/**
 * The v5 CONNACK properties that advertise what the server supports (MQTT5 3.2.2.3), and that
 * they follow the configuration.
 */
import { describe, expect, it } from 'vitest';
import { encode, RC } from '../../src/codec/mqtt/index.js';
import { DEFAULT_BROKER_CONFIG } from '../../src/broker/config.js';
import { connectPacket, expectConnack, expectReasonString, nextPacket, useHarness } from '../helpers/connect-harness.js';

const h = useHarness();

describe('CONNACK properties', () => {
  it('MQTT5 3.2.2.3 default CONNACK advertises Receive Maximum, Maximum Packet Size, Topic Alias Maximum and the availability flags', async () => {
    const tb = await h.broker();
    const { ack } = await h.connect(tb.port, 5, { keepalive: 30 });
    expectConnack(ack, 0);
    const m = DEFAULT_BROKER_CONFIG.mqtt;
    expect(ack.properties).toMatchObject({
      receiveMaximum: m.receiveMaximum,
      maximumPacketSize: m.maxPacketSizeBytes,
      topicAliasMaximum: m.topicAliasMaximum,
      retainAvailable: 1,
      wildcardSubscriptionAvailable: 1,
      subscriptionIdentifierAvailable: 1,
      sharedSubscriptionAvailable: 1,
    });
    // MQTT5 3.2.2.3.4: Maximum QoS is absent when QoS 2 is supported (it may only be sent as 0 or 1).
    expect(ack.properties?.maximumQoS).toBeUndefined();
    // Nothing the client did not cause: no assigned id, no server keep alive, no session expiry override.
    expect(ack.properties?.assignedClientIdentifier).toBeUndefined();
    expect(ack.properties?.serverKeepAlive).toBeUndefined();
    expect(ack.properties?.sessionExpiryInterval).toBeUndefined();
    // MQTT-4.12.0-6: no Authentication Method when the CONNECT had none.
    expect(ack.properties?.authenticationMethod).toBeUndefined();
  });

  it('MQTT5 3.2.2.3 changing the configuration changes every advertised value', async () => {
    const tb = await h.broker({
      config: {
        mqtt: {
          receiveMaximum: 7,
          maxPacketSizeBytes: 4096,
          topicAliasMaximum: 0,
          retainAvailable: false,
          wildcardSubscriptionAvailable: false,
          subscriptionIdentifierAvailable: false,
          sharedSubscriptionAvailable: false,
          maximumQoS: 1,
        },
      },
    });
    const { ack } = await h.connect(tb.port, 5);
    expectConnack(ack, 0);
    const p = ack.properties!;
    expect(p.receiveMaximum).toBe(7);
    expect(p.maximumPacketSize).toBe(4096);
    // Topic Alias Maximum 0 and absent mean the same (MQTT5 3.2.2.3.8).
    expect(p.topicAliasMaximum ?? 0).toBe(0);
    expect(p.retainAvailable).toBe(0);
    expect(p.wildcardSubscriptionAvailable).toBe(0);
    expect(p.subscriptionIdentifierAvailable).toBe(0);
    expect(p.sharedSubscriptionAvailable).toBe(0);
    expect(p.maximumQoS).toBe(1);
  });

  it('MQTT-3.2.2-9 a server without QoS 1 and 2 advertises Maximum QoS 0', async () => {
    const tb = await h.broker({ config: { mqtt: { maximumQoS: 0 } } });
    const { ack } = await h.connect(tb.port, 5);
    expectConnack(ack, 0);
    expect(ack.properties?.maximumQoS).toBe(0);
  });

  it('MQTT-3.2.2-9 MQTT.js reads the advertised limits from the CONNACK', async () => {
    const tb = await h.broker({ config: { mqtt: { receiveMaximum: 12, maximumQoS: 1, topicAliasMaximum: 5 } } });
    const { error, connack } = await h.mqttAttempt(tb.port, { protocolVersion: 5 });
    expect(error).toBeUndefined();
    expect(connack?.properties).toMatchObject({ receiveMaximum: 12, maximumQoS: 1, topicAliasMaximum: 5 });
  });

  it('MQTT-3.1.2-24 / MQTT-3.1.4-5 a client with a small Maximum Packet Size (20) still gets a success CONNACK that fits in it', async () => {
    const tb = await h.broker();
    const c = await h.open(tb.port, 5);
    c.send(connectPacket(5, { properties: { maximumPacketSize: 20 } }));
    const ack = await nextPacket(c, 2, 3000);
    expectConnack(ack, 0);
    expect(encode(ack, 5).length).toBeLessThanOrEqual(20);
  });

  it('MQTT-3.2.2-12 a Will QoS above Maximum QoS is refused with CONNACK 0x9B and a Reason String', async () => {
    const tb = await h.broker({ config: { mqtt: { maximumQoS: 1 } } });
    const { c, ack } = await h.connect(tb.port, 5, { will: { topic: 'w/q2', payload: Buffer.from('x'), qos: 2, retain: false } });
    expectConnack(ack, RC.QOS_NOT_SUPPORTED);
    expectReasonString(ack);
    await c.waitClosed();
  });

  it('MQTT-3.2.2-13 a retained Will when Retain Available is 0 is refused with CONNACK 0x9A', async () => {
    const tb = await h.broker({ config: { mqtt: { retainAvailable: false } } });
    const { c, ack } = await h.connect(tb.port, 5, { will: { topic: 'w/r', payload: Buffer.from('x'), qos: 0, retain: true } });
    expectConnack(ack, RC.RETAIN_NOT_SUPPORTED);
    await c.waitClosed();
  });
});
