/**
 * Topic filters (MQTT 4.7): `+` and `#`, `a/#` matching `a`, `$` topics and leading
 * wildcards, invalid filters refused per filter in the SUBACK, and SUBACK shape.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProtocolVersion, SubackPacket } from '../../src/codec/mqtt/index.js';
import { RC } from '../../src/codec/mqtt/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { stopBroker } from '../helpers/pubsub-broker.js';
import { publish, rawConnect, subscribe, sync, takePublishes, uid } from '../helpers/pubsub-clients.js';
import type { RawClient } from '../helpers/raw-client.js';

let tb: TestBroker;
let pub: RawClient;
beforeAll(async () => {
  tb = await startTestBroker();
  pub = await rawConnect(tb.port, 5);
});
afterAll(async () => {
  pub.close();
  await stopBroker(tb);
});

/** Subscribes `filter`, publishes every topic (QoS 1, so each is routed before its PUBACK), returns the topics received. */
async function matched(filter: string, topics: string[], v: ProtocolVersion = 5): Promise<string[]> {
  const c = await rawConnect(tb.port, v);
  expect(await subscribe(c, filter, { qos: 0 })).toEqual([0]);
  for (const t of topics) await publish(pub, t, 'x', { qos: 1 });
  await sync(c);
  const got = takePublishes(c).map((p) => p.topic);
  c.close();
  return got;
}

describe('wildcards', () => {
  for (const v of [4, 5] as ProtocolVersion[]) {
    it(`MQTT-4.7.1-3 v${v} '+' matches exactly one level, including an empty one`, async () => {
      const b = uid('plus');
      const topics = [`${b}/x`, `${b}/x/y`, b, `${b}/`, `${b}/y`];
      expect(await matched(`${b}/+`, topics, v)).toEqual([`${b}/x`, `${b}/`, `${b}/y`]);
    });

    it(`MQTT-4.7.1-2 v${v} '#' matches any number of levels, and 'a/#' matches 'a' itself`, async () => {
      const b = uid('hash');
      const topics = [b, `${b}/x`, `${b}/x/y/z`, `${b}x`, `other/${b}`];
      expect(await matched(`${b}/#`, topics, v)).toEqual([b, `${b}/x`, `${b}/x/y/z`]);
    });
  }

  it("MQTT-4.7.1-3 '+' in the middle and at the start", async () => {
    const b = uid('mid');
    const topics = [`${b}/1/end`, `${b}/2/end`, `${b}/1/2/end`, `${b}/1/other`];
    expect(await matched(`${b}/+/end`, topics)).toEqual([`${b}/1/end`, `${b}/2/end`]);
    expect(await matched(`+/${b}`, [`x/${b}`, `${b}`, `x/y/${b}`])).toEqual([`x/${b}`]);
  });

  it('MQTT-4.7.2-1 filters starting with a wildcard do not match topics starting with $; $-filters do', async () => {
    const b = uid('dollar');
    const topics = [`$${b}/x`, `$SYS/${b}`];
    expect(await matched('#', topics)).toEqual([]);
    expect(await matched(`+/${b}`, [`$SYS/${b}`])).toEqual([]);
    expect(await matched(`$${b}/#`, topics)).toEqual([`$${b}/x`]);
    expect(await matched(`$${b}/+`, topics)).toEqual([`$${b}/x`]);
  });

  it('MQTT-4.7.3-1 topic levels are case sensitive and spaces are significant', async () => {
    const b = uid('case');
    expect(await matched(`${b}/Abc`, [`${b}/abc`, `${b}/Abc`, `${b}/Abc `])).toEqual([`${b}/Abc`]);
  });
});

describe('invalid filters and the SUBACK', () => {
  const invalid = ['a/#/b', 'a#', 'a/b#', 'a/+b', '+a/b', 'a/b+/c'];

  it('MQTT-4.7.1-2/3 v5 invalid filters -> SUBACK 0x8F Topic Filter invalid, per filter, valid ones granted', async () => {
    const c = await rawConnect(tb.port, 5);
    const codes = await subscribe(c, ['ok/1', ...invalid, 'ok/+'], { qos: 2 });
    expect(codes).toEqual([2, ...invalid.map(() => RC.TOPIC_FILTER_INVALID), 2]);
    c.close();
  });

  it('MQTT-3.9.3-1 v4 invalid filters -> SUBACK 0x80 Failure, per filter, valid ones granted', async () => {
    const c = await rawConnect(tb.port, 4);
    const codes = await subscribe(c, ['ok/1', ...invalid, 'ok/#'], { qos: 1 });
    expect(codes).toEqual([1, ...invalid.map(() => 0x80), 1]);
    c.close();
  });

  it('MQTT-3.8.4-2 / MQTT-3.9.3-1 SUBACK has the SUBSCRIBE packet id and one code per filter, in order', async () => {
    const c = await rawConnect(tb.port, 5);
    c.send({
      type: 8,
      packetId: 31337,
      properties: {},
      subscriptions: [
        { topic: 'o/2', qos: 2, noLocal: false, retainAsPublished: false, retainHandling: 0 },
        { topic: 'o/0', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
        { topic: 'o/#/x', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
        { topic: 'o/1', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    });
    const ack = (await c.next(9)) as SubackPacket;
    expect(ack.packetId).toBe(31337);
    expect(ack.reasonCodes).toEqual([2, 0, RC.TOPIC_FILTER_INVALID, 1]);
    c.close();
  });

  it('MQTT-3.8.4-5 an invalid filter in a SUBSCRIBE does not stop the valid ones from working', async () => {
    const b = uid('partial');
    const c = await rawConnect(tb.port, 5);
    expect(await subscribe(c, [`${b}/#/bad`, `${b}/good`], { qos: 0 })).toEqual([RC.TOPIC_FILTER_INVALID, 0]);
    await publish(pub, `${b}/good`, 'x', { qos: 1 });
    await sync(c);
    expect(takePublishes(c).map((p) => p.topic)).toEqual([`${b}/good`]);
    c.close();
  });
});
