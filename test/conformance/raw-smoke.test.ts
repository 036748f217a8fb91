import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

let tb: TestBroker;
beforeAll(async () => {
  tb = await startTestBroker();
});
afterAll(async () => tb.stop());

describe('raw client', () => {
  it('MQTT-3.1.0-1 first packet not CONNECT closes the connection', async () => {
    const c = await RawClient.open(tb.port);
    c.send({ type: 12 });
    await c.waitClosed();
    expect(c.closed).toBe(true);
  });
  it('v5 CONNACK advertises the server capabilities', async () => {
    const c = await RawClient.open(tb.port, 5);
    c.send({ type: 1, protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: '' });
    const ack = await c.next(2);
    expect(ack).toMatchObject({ type: 2, reasonCode: 0, properties: { serverKeepAlive: 60, receiveMaximum: 1024, topicAliasMaximum: 64, retainAvailable: 1, wildcardSubscriptionAvailable: 1, subscriptionIdentifierAvailable: 1, sharedSubscriptionAvailable: 1 } });
    expect((ack as { properties: { assignedClientIdentifier: string } }).properties.assignedClientIdentifier).toMatch(/^hf-/);
    c.close();
  });
});
