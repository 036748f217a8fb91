/**
 * The JetStream ingress end to end against the shared nats-server and a real broker: a
 * message published to a NATS subject arrives at an MQTT subscriber (topic from the subject
 * or a header, QoS, retain, user properties), duplicates are dropped by the dedupe window,
 * invalid messages go to the dead letters after maxAttempts deliveries (and are acked),
 * and command messages become device commands through the CommandService.
 */
import type { NatsConnection } from 'nats';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JetStreamIngress, type IngressInput } from '../../src/platform/ingress/index.js';
import { silentLogger } from '../../src/observability/logger.js';
import { SHARED_NATS_URL } from '../helpers/nats-server.js';
import { collectEvents, jsPublish, nextEvent, Subscriber } from '../helpers/nats-ingress.js';
import { createStream, deleteStream, natsConnect, uniqueName } from '../helpers/nats-stream.js';
import { addDevice, Device, startPlatformBroker, type PlatformBroker } from './platform-commands-helpers.js';

describe('JetStream ingress', () => {
  let nc: NatsConnection;
  let pb: PlatformBroker;
  const prefix = uniqueName('hfin').toLowerCase();
  const stream = uniqueName('HFIN');
  const running: JetStreamIngress[] = [];
  const subscribers: Subscriber[] = [];
  let n = 0;

  async function ingress(opts: Partial<IngressInput> = {}): Promise<JetStreamIngress> {
    const i = new JetStreamIngress(
      { name: `t${++n}`, servers: [SHARED_NATS_URL], stream, durable: `${stream}_D${n}`, filterSubject: `${prefix}.t${n}.>`, ...opts },
      { broker: pb.broker, commands: pb.commands, logger: silentLogger() },
    );
    running.push(i);
    const consuming = nextEvent(i, 'state', (e) => e.state === 'consuming');
    await i.start();
    await consuming;
    return i;
  }

  async function subscriber(filter: string): Promise<Subscriber> {
    const s = await Subscriber.connect(pb.port, filter);
    subscribers.push(s);
    return s;
  }

  beforeAll(async () => {
    nc = await natsConnect(SHARED_NATS_URL);
    await createStream(nc, stream, [`${prefix}.>`], { duplicateWindowMs: 120_000 });
    pb = await startPlatformBroker();
  });

  afterEach(async () => {
    for (const i of running.splice(0)) await i.stop();
    for (const s of subscribers.splice(0)) await s.close();
  });

  afterAll(async () => {
    await pb.stop({ closePlatform: true });
    await deleteStream(nc, stream);
    await nc.close();
  });

  it('a message published to the subject arrives as an MQTT publish (subject -> topic, QoS 1, user properties)', async () => {
    const i = await ingress({ mapping: { subjectPrefix: `${prefix}.t${n + 1}`, topicPrefix: 'from-nats/' } });
    const sub = await subscriber('from-nats/#');
    await jsPublish(nc, `${prefix}.t${n}.devices.d%2E1.%.temp`, '{"t":21.5}', { msgId: 'a-1', headers: { 'X-Trace': 'abc', 'Content-Type': 'application/json' } });
    const [m] = await sub.waitFor(1);
    expect(m!.topic).toBe('from-nats/devices/d.1//temp'); // tokens decoded as the NATS sink encodes them
    expect(m!.payload.toString()).toBe('{"t":21.5}');
    expect(m!.qos).toBe(1);
    expect(m!.properties?.contentType).toBe('application/json');
    expect(m!.properties?.userProperties).toEqual({ 'X-Trace': 'abc' });
    expect(i.status().stats.published).toBe(1);
  });

  it('topic, QoS and retain from headers; a retained publish reaches a later subscriber', async () => {
    const i = await ingress();
    const processed = nextEvent(i, 'processed');
    await jsPublish(nc, `${prefix}.t${n}.x`, 'on', { headers: { 'Holdfast-Topic': 'lamps/kitchen/state', 'Holdfast-Qos': '0', 'Holdfast-Retain': 'true' } });
    await processed;
    const later = await subscriber('lamps/#');
    const [m] = await later.waitFor(1);
    expect(m!.topic).toBe('lamps/kitchen/state');
    expect(m!.retain).toBe(true);
    expect(m!.qos).toBe(0);
  });

  it('dedupe: the same Nats-Msg-Id stored twice by the stream (outside its duplicate window) is published once', async () => {
    const dupStream = uniqueName('HFDUP');
    const dupPrefix = `${prefix}d`;
    await createStream(nc, dupStream, [`${dupPrefix}.>`], { duplicateWindowMs: 200 }); // just over the server's minimum (100 ms)
    try {
      const i = await ingress({ stream: dupStream, filterSubject: `${dupPrefix}.>`, mapping: { subjectPrefix: dupPrefix } });
      const sub = await subscriber('dup/#');
      const first = nextEvent(i, 'processed');
      const a1 = await jsPublish(nc, `${dupPrefix}.dup.x`, 'one', { msgId: 'same-id' });
      await first;
      const duplicate = nextEvent(i, 'duplicate');
      // Sent again until the stream's 200 ms window has passed and it stores the copy.
      let a2 = await jsPublish(nc, `${dupPrefix}.dup.x`, 'one again', { msgId: 'same-id' });
      for (const until = Date.now() + 5000; a2.duplicate && Date.now() < until; ) {
        await new Promise((r) => setTimeout(r, 20));
        a2 = await jsPublish(nc, `${dupPrefix}.dup.x`, 'one again', { msgId: 'same-id' });
      }
      expect(a2.duplicate).toBe(false); // the stream stored it a second time...
      expect(a2.seq).toBe(a1.seq + 1);
      expect((await duplicate).id).toBe('id:same-id'); // ...the ingress did not publish it
      const marker = nextEvent(i, 'processed');
      await jsPublish(nc, `${dupPrefix}.dup.x`, 'marker', { msgId: 'marker' });
      await marker;
      await sub.waitFor(2);
      expect(sub.payloads()).toEqual(['one', 'marker']);
    } finally {
      await deleteStream(nc, dupStream);
    }
  });

  it('a poison message is retried, dead-lettered (sink ingress:<name>) on its maxAttempts-th delivery and acked; the next message still flows', async () => {
    const i = await ingress({ maxAttempts: 3, retryDelayMs: 20, mapping: { subjectPrefix: `${prefix}.t${n + 1}` } });
    const sub = await subscriber('ok/#');
    const failed = collectEvents(i, 'failed', 2);
    const dead = nextEvent(i, 'dead-letter');
    const bad = await jsPublish(nc, `${prefix}.t${n}.x`, 'bad', { msgId: 'poison-1', headers: { 'Holdfast-Topic': 'a/+/b', 'X-Why': 'test' } });
    expect((await failed).map((e) => e.seq)).toEqual([bad.seq, bad.seq]);
    const letter = await dead;
    expect(letter.error).toContain('not a valid MQTT topic');
    const letters = await pb.store.deadLetters(`ingress:${i.name}`, 0, 10);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ sink: `ingress:${i.name}`, messageId: bad.seq, topic: `${prefix}.t${n}.x`, attempts: 3 });
    expect(letters[0]!.payload.toString()).toBe('bad');
    expect(letters[0]!.properties?.userProperties).toEqual(expect.arrayContaining([['X-Why', 'test'], ['Nats-Msg-Id', 'poison-1']]));
    await jsPublish(nc, `${prefix}.t${n}.ok.fine`, 'good');
    await sub.waitFor(1);
    expect(sub.payloads()).toEqual(['good']);
    // Acked: nothing left pending or unacknowledged on the consumer.
    const jsm = await nc.jetstreamManager();
    const info = await jsm.consumers.info(stream, `${stream}_D${n}`);
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_pending).toBe(0);
    expect(i.status().stats).toMatchObject({ deadLettered: 1, failures: 2, published: 1 });
  });

  it('commands: a subject <prefix>.<device>.<name> becomes CommandService.send; unknown device -> dead letter; replayed once the device exists', async () => {
    const cmdPrefix = `${prefix}.t${n + 1}.cmd`;
    const i = await ingress({ maxAttempts: 2, retryDelayMs: 20, commands: { enabled: true, subjectPrefix: cmdPrefix } });
    await addDevice(pb.platform, 'pump.7');
    const device = await Device.connect(pb.port, 'pump.7');
    try {
      await jsPublish(nc, `${cmdPrefix}.pump.7.start`, '{"speed":3}', { msgId: 'c-1' });
      const [cmd] = await device.waitFor('commands', 1);
      expect(device.commandName(cmd!)).toBe('start');
      expect(device.json(cmd!)).toEqual({ speed: 3 });
      expect(i.status().stats.commands).toBe(1);

      const dead = nextEvent(i, 'dead-letter');
      const lost = await jsPublish(nc, `${cmdPrefix}.valve-9.open`, '{}', { msgId: 'c-2' });
      expect((await dead).error).toContain('DEVICE_NOT_FOUND');
      await addDevice(pb.platform, 'valve-9');
      const valve = await Device.connect(pb.port, 'valve-9');
      try {
        expect(await i.replayDeadLetters([lost.seq])).toBe(1);
        const [open] = await valve.waitFor('commands', 1);
        expect(valve.commandName(open!)).toBe('open');
        expect(await pb.store.deadLetters(`ingress:${i.name}`, 0, 10)).toEqual([]);
      } finally {
        await valve.client.endAsync(true);
      }
    } finally {
      await device.client.endAsync(true);
    }
  });

  it('a deleted consumer is created again and resumes after what was handled (no replay of the stream)', async () => {
    // A window of 1 id: a replay from the stream's start would publish m1 again.
    const i = await ingress({ dedupeWindow: 1, mapping: { subjectPrefix: `${prefix}.t${n + 1}` } });
    const sub = await subscriber('again/#');
    await jsPublish(nc, `${prefix}.t${n}.again.x`, 'm1');
    await jsPublish(nc, `${prefix}.t${n}.again.x`, 'm2');
    await sub.waitFor(2);
    const jsm = await nc.jetstreamManager();
    const resumed = nextEvent(i, 'state', (e) => e.state === 'consuming', 20_000);
    await jsm.consumers.delete(stream, `${stream}_D${n}`);
    await resumed;
    await jsPublish(nc, `${prefix}.t${n}.again.x`, 'after');
    await sub.waitFor(3);
    const marker = nextEvent(i, 'processed');
    await jsPublish(nc, `${prefix}.t${n}.again.x`, 'end');
    await marker;
    await sub.waitFor(4);
    expect(sub.payloads()).toEqual(['m1', 'm2', 'after', 'end']);
    expect(i.status().stats.duplicates).toBe(0);
  }, 30_000);

  it('$ topics are refused (no spoofed $SYS or device commands) unless allowed', async () => {
    const i = await ingress({ maxAttempts: 1 });
    const dead = nextEvent(i, 'dead-letter');
    await jsPublish(nc, `${prefix}.t${n}.x`, 'spoof', { headers: { 'Holdfast-Topic': '$holdfast/devices/pump.7/commands' } });
    expect((await dead).error).toContain('reserved for the server');
  });
});
