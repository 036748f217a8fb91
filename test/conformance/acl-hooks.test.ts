/**
 * Authorization through the broker hooks (authorizePublish / authorizeSubscribe): denied
 * subscriptions in the SUBACK (0x87 v5, 0x80 v3.1.1, 0x80 v5 when configured), denied
 * publishes dropped and refused in the v5 PUBACK / PUBREC, and $SYS closed to clients.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AckPacket, ProtocolVersion, QoS } from '../../src/codec/mqtt/index.js';
import { RC } from '../../src/codec/mqtt/index.js';
import type { ClientInfo, Hooks } from '../../src/broker/hooks.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { stopBroker } from '../helpers/pubsub-broker.js';
import { payloads, publish, rawConnect, receiveAcking, subscribe, sync, takePublishes, uid } from '../helpers/pubsub-clients.js';
import type { RawClient } from '../helpers/raw-client.js';

interface PublishCall {
  clientId: string;
  topic: string;
  qos: QoS;
  retain: boolean;
}

const publishCalls: PublishCall[] = [];
const subscribeCalls: { clientId: string; filter: string; qos: QoS }[] = [];

/** Denies every topic or filter with a level named "denied"; records every call. */
const hooks: Hooks = {
  authorizePublish(client: ClientInfo, topic: string, qos: QoS, retain: boolean) {
    publishCalls.push({ clientId: client.clientId, topic, qos, retain });
    return !topic.split('/').includes('denied');
  },
  authorizeSubscribe(client: ClientInfo, filter: string, qos: QoS) {
    subscribeCalls.push({ clientId: client.clientId, filter, qos });
    return !filter.split('/').includes('denied');
  },
};

let tb: TestBroker;
let watcher: RawClient;
beforeAll(async () => {
  tb = await startTestBroker({ hooks });
  // Sees everything that gets routed, except $ topics.
  watcher = await rawConnect(tb.port, 5);
  await subscribe(watcher, '#', { qos: 0 });
});
afterAll(async () => {
  watcher.close();
  await stopBroker(tb);
});

describe('authorizeSubscribe', () => {
  it('MQTT5 3.9.3 a denied subscription -> SUBACK 0x87 Not authorized; allowed filters in the same SUBSCRIBE are granted', async () => {
    const b = uid('acl');
    const clientId = uid('subber');
    const c = await rawConnect(tb.port, 5, { clientId });
    const codes = await subscribe(c, [`${b}/ok`, `${b}/denied/x`, `${b}/+`], { qos: 1 });
    expect(codes).toEqual([1, RC.NOT_AUTHORIZED, 1]);
    expect(subscribeCalls.filter((s) => s.clientId === clientId).map((s) => s.filter)).toEqual([`${b}/ok`, `${b}/denied/x`, `${b}/+`]);
    // The denied filter did not become a subscription.
    expect([...tb.broker.sessions.get(clientId)!.subscriptions.keys()].sort()).toEqual([`${b}/+`, `${b}/ok`].sort());
    c.close();
  });

  it('MQTT-3.9.3-1 (3.1.1) a denied subscription -> SUBACK 0x80 Failure', async () => {
    const c = await rawConnect(tb.port, 4);
    expect(await subscribe(c, [`denied/${uid()}`, uid('fine')], { qos: 2 })).toEqual([0x80, 2]);
    c.close();
  });

  it('holdfast acl.deniedSubscribeReasonCode = 0x80: v5 clients get 0x80 Unspecified error instead of 0x87', async () => {
    const t = await startTestBroker({ hooks, config: { acl: { rules: [], deniedSubscribeReasonCode: 0x80 } } });
    try {
      const c = await rawConnect(t.port, 5);
      expect(await subscribe(c, [`x/denied`, 'x/ok'], { qos: 1 })).toEqual([0x80, 1]);
      c.close();
    } finally {
      await stopBroker(t);
    }
  });

  it('MQTT5 5.4.2 a denied subscription receives nothing for that filter', async () => {
    const topic = `${uid('nd')}/denied`;
    const c = await rawConnect(tb.port, 5);
    expect(await subscribe(c, topic, { qos: 1 })).toEqual([RC.NOT_AUTHORIZED]);
    const p = await rawConnect(tb.port, 5);
    await publish(p, topic, 'x', { qos: 0 }); // publishing there is denied too, but the point is the subscriber
    await sync(c);
    expect(takePublishes(c)).toEqual([]);
    c.close();
    p.close();
  });
});

describe('authorizePublish', () => {
  for (const v of [4, 5] as ProtocolVersion[]) {
    it(`MQTT-3.3.5-2 v${v} a denied QoS 0 PUBLISH is dropped silently; the connection stays`, async () => {
      const topic = `${uid('dp0')}/denied`;
      const drops = tb.broker.stats.dropped('acl-denied');
      const c = await rawConnect(tb.port, v);
      await publish(c, topic, 'secret', { qos: 0 }); // includes a PINGREQ barrier
      await sync(watcher);
      expect(takePublishes(watcher).filter((p) => p.topic === topic)).toEqual([]);
      expect(tb.broker.stats.dropped('acl-denied')).toBe(drops + 1);
      expect(c.closed).toBe(false);
      c.close();
    });
  }

  it('MQTT5 3.4.2.1 a denied QoS 1 PUBLISH -> PUBACK 0x87 Not authorized, not delivered', async () => {
    const topic = `${uid('dp1')}/denied`;
    const c = await rawConnect(tb.port, 5);
    const ack = await publish(c, topic, 'secret', { qos: 1 });
    expect(ack).toMatchObject({ type: 4, reasonCode: RC.NOT_AUTHORIZED });
    await sync(watcher);
    expect(takePublishes(watcher).filter((p) => p.topic === topic)).toEqual([]);
    c.close();
  });

  it('MQTT5 3.5.2.1 a denied QoS 2 PUBLISH -> PUBREC 0x87; the exchange ends there (MQTT-4.3.3-9: the id is free again)', async () => {
    const topic = `${uid('dp2')}/denied`;
    const allowed = uid('allowed');
    const c = await rawConnect(tb.port, 5);
    const rec = (await publish(c, topic, 'secret', { qos: 2, packetId: 12 })) as AckPacket;
    expect(rec).toMatchObject({ type: 5, packetId: 12, reasonCode: RC.NOT_AUTHORIZED });
    // The same packet id is immediately usable for a new, allowed message.
    const again = (await publish(c, allowed, 'fine', { qos: 2, packetId: 12 })) as AckPacket;
    expect(again.reasonCode ?? 0).toBe(0);
    await sync(watcher);
    expect(payloads(takePublishes(watcher).filter((p) => p.topic === topic || p.topic === allowed))).toEqual(['fine']);
    c.close();
  });

  it('MQTT5 3.4.2.2.2 the refusing PUBACK carries a Reason String by default', async () => {
    const c = await rawConnect(tb.port, 5);
    const ack = await publish(c, `${uid('rs')}/denied`, 'x', { qos: 1 });
    expect(ack?.reasonCode).toBe(RC.NOT_AUTHORIZED);
    expect(typeof ack?.properties?.reasonString).toBe('string');
    c.close();
  });

  it('MQTT-3.1.2-29 with Request Problem Information 0 the refusing PUBACK / PUBREC carry no Reason String or User Property', async () => {
    const c = await rawConnect(tb.port, 5, { properties: { requestProblemInformation: 0 } });
    const ack = await publish(c, `${uid('rpi')}/denied`, 'x', { qos: 1 });
    expect(ack?.reasonCode).toBe(RC.NOT_AUTHORIZED);
    expect(ack?.properties?.reasonString).toBeUndefined();
    expect(ack?.properties?.userProperties).toBeUndefined();
    const rec = await publish(c, `${uid('rpi')}/denied`, 'x', { qos: 2 });
    expect(rec?.reasonCode).toBe(RC.NOT_AUTHORIZED);
    expect(rec?.properties?.reasonString).toBeUndefined();
    c.close();
  });

  it('MQTT-3.3.5-2 (3.1.1) a denied QoS 1 PUBLISH gets a plain PUBACK (3.1.1 cannot refuse) and is not delivered', async () => {
    const topic = `${uid('dp4')}/denied`;
    const c = await rawConnect(tb.port, 4);
    const ack = await publish(c, topic, 'secret', { qos: 1, packetId: 3 });
    expect(ack).toMatchObject({ type: 4, packetId: 3 });
    expect(ack!.reasonCode ?? 0).toBe(0);
    await sync(watcher);
    expect(takePublishes(watcher).filter((p) => p.topic === topic)).toEqual([]);
    c.close();
  });

  it('MQTT5 5.4.2 the authorizePublish hook sees the client id, topic, QoS and retain flag of each PUBLISH', async () => {
    const clientId = uid('args');
    const topic = uid('argtopic');
    const c = await rawConnect(tb.port, 5, { clientId });
    await publish(c, topic, 'x', { qos: 2, retain: true });
    await publish(c, topic, 'y', { qos: 1 });
    expect(publishCalls.filter((p) => p.clientId === clientId)).toEqual([
      { clientId, topic, qos: 2, retain: true },
      { clientId, topic, qos: 1, retain: false },
    ]);
    c.close();
  });

  it('MQTT5 5.4.2 / MQTT-3.3.1-5 a denied retained PUBLISH does not become (or replace) the retained message', async () => {
    const topic = `${uid('dr')}/denied`;
    const c = await rawConnect(tb.port, 5);
    await publish(c, topic, 'nope', { qos: 1, retain: true });
    expect(tb.broker.router.retained.has(topic)).toBe(false);
    c.close();
  });
});

describe('$SYS', () => {
  it('MQTT-4.7.2-1 / MQTT5 4.7.2 a client PUBLISH to $SYS is refused (PUBACK 0x87) and not delivered to $SYS subscribers', async () => {
    const topic = `$SYS/${uid('fake')}`;
    const sys = await rawConnect(tb.port, 5);
    await subscribe(sys, '$SYS/#', { qos: 1 });
    const c = await rawConnect(tb.port, 5);
    const ack = await publish(c, topic, 'spoof', { qos: 1 });
    expect(ack).toMatchObject({ type: 4, reasonCode: RC.NOT_AUTHORIZED });
    await publish(c, topic, 'spoof0', { qos: 0 });
    await sync(sys);
    expect(takePublishes(sys).filter((p) => p.topic === topic)).toEqual([]);
    sys.close();
    c.close();
  });

  it('MQTT-3.3.5-2 (3.1.1) a retained PUBLISH to $SYS from a 3.1.1 client is dropped and not retained', async () => {
    const topic = `$SYS/${uid('fake4')}`;
    const c = await rawConnect(tb.port, 4);
    await publish(c, topic, 'spoof', { qos: 1, retain: true });
    expect(tb.broker.router.retained.has(topic)).toBe(false);
    const sys = await rawConnect(tb.port, 4);
    await subscribe(sys, topic, { qos: 1 });
    await sync(sys);
    expect(takePublishes(sys)).toEqual([]);
    c.close();
    sys.close();
  });

  it('MQTT5 5.4.2 allowed publishes still flow to subscribers (the ACL is not all-or-nothing)', async () => {
    const topic = uid('open');
    const sub = await rawConnect(tb.port, 5);
    await subscribe(sub, topic, { qos: 1 });
    const c = await rawConnect(tb.port, 5);
    await publish(c, topic, 'hello', { qos: 1 });
    expect(payloads(await receiveAcking(sub, 1))).toEqual(['hello']);
    sub.close();
    c.close();
  });
});
