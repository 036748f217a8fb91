/**
 * Restart on the same SQLite file, in process (issue 4): persistent sessions with their
 * subscriptions (options, subscription identifiers), queued QoS 1/2 messages, inflight
 * messages (resent with DUP and their original packet ids), inbound QoS 2 ids awaiting
 * PUBREL (exactly once), retained messages and pending wills with their delay all come back.
 *
 * Two ways the first broker ends:
 * - graceful: Broker.close() (flush + close of the store);
 * - crash snapshot: no close, no flush. The database file and its WAL are copied
 *   synchronously while the first broker still runs (what kill -9 would leave on disk),
 *   and the second broker starts on the copy. Only what was committed is in it.
 *   (The real kill -9 test of the child process lives elsewhere.)
 */
import Database from 'better-sqlite3';
import mqtt, { type MqttClient, type IPublishPacket } from 'mqtt';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SqliteStore } from '../../src/adapters/persistence/sqlite/index.js';
import type { Packet, PublishPacket, WillMessage } from '../../src/codec/mqtt/index.js';
import { StoreClient } from '../helpers/store-clients.js';
import { crashSnapshot, removeDir, sqliteAt, startStoreBroker, storeTempDir, until, type StoreBroker } from '../helpers/store-fixtures.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f();
});

function tempDir(): string {
  const d = storeTempDir('holdfast-restart-');
  cleanup.push(() => removeDir(d));
  return d;
}

async function brokerOn(dir: string, config: Parameters<typeof startStoreBroker>[0]['config'] = {}): Promise<StoreBroker> {
  const store = sqliteAt(dir);
  const b = await startStoreBroker({ store, config });
  cleanup.push(() => b.stop().catch(() => undefined));
  return b;
}

function committedRows(dir: string, table: string): number {
  const db = new Database(join(dir, 'holdfast.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

const persistent = (clientId: string, extra: Record<string, unknown> = {}) => ({
  clientId,
  clean: false,
  properties: { sessionExpiryInterval: 3600 },
  ...extra,
});

const publishesOf = (c: StoreClient, prefix: string): PublishPacket[] =>
  c.publishes.filter((p) => p.topic.startsWith(prefix)) as unknown as PublishPacket[];

interface MqttJsSub {
  client: MqttClient;
  sessionPresent: boolean;
  messages: IPublishPacket[];
}

/** MQTT.js, with the message handler attached before CONNACK (queued messages follow it at once). */
function mqttJs(port: number, clientId: string, version: 4 | 5): Promise<MqttJsSub> {
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
    protocolVersion: version,
    clientId,
    clean: false,
    reconnectPeriod: 0,
    ...(version === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {}),
  });
  const messages: IPublishPacket[] = [];
  client.on('message', (_t, _p, packet) => messages.push(packet));
  return new Promise((resolve, reject) => {
    client.once('connect', (connack) => resolve({ client, sessionPresent: connack.sessionPresent, messages }));
    client.once('error', reject);
  });
}

const subIdsOf = (p: IPublishPacket): number[] => {
  const v = p.properties?.subscriptionIdentifier;
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
};

const will = (topic: string, delayS: number): WillMessage => ({
  topic,
  payload: Buffer.from(`gone:${topic}`),
  qos: 1,
  retain: false,
  properties: { willDelayInterval: delayS },
});

const Q_COUNT = 30;

/**
 * Builds the state on `b1`. Returns when everything that the clients saw acknowledged is
 * acknowledged (and, for the crash variant, committed: see the waits on the broker).
 */
interface Built {
  infIds: { q1: number[]; q2rec: number[]; q2pub: number };
  /** When the will clients' connections were dropped. */
  droppedAt: number;
}

async function buildState(b1: StoreBroker): Promise<Built> {
  const port = b1.port;
  // 1. Queued subscribers, offline: MQTT.js v5 with subscription ids and options; a 3.1.1 one.
  const q5 = await mqttJs(port, 'q5', 5);
  expect(q5.sessionPresent).toBe(false);
  await q5.client.subscribeAsync('q/#', { qos: 1, properties: { subscriptionIdentifier: 7 } });
  await q5.client.subscribeAsync('nl/+', { qos: 2, nl: true, rap: true, rh: 2, properties: { subscriptionIdentifier: 9 } });
  await q5.client.endAsync();
  const { client: q4 } = await StoreClient.connect(port, 4, { clientId: 'q4', clean: false });
  expect(await q4.subscribe('q/#', 1)).toEqual([1]);
  q4.disconnect();
  await q4.waitClosed();

  // 2. An online subscriber that leaves messages inflight (QoS 1 unacked; QoS 2 at PUBREL and before PUBREC).
  const { client: inf } = await StoreClient.connect(port, 5, persistent('inf', { properties: { sessionExpiryInterval: 3600, receiveMaximum: 100 } }), { autoAck: false });
  expect(await inf.subscribe('inf/#', 2, { subscriptionId: 3 })).toEqual([2]);

  // 3. QoS 2 inbound: a subscriber that completes, a publisher that stops after PUBREC.
  const { client: q2sub } = await StoreClient.connect(port, 5, persistent('q2sub'));
  expect(await q2sub.subscribe('q2/#', 2)).toEqual([2]);
  const { client: q2in } = await StoreClient.connect(port, 5, persistent('q2in'), { autoAck: false });

  // 4. Clients with delayed wills whose connections drop.
  const { client: wA } = await StoreClient.connect(port, 5, { clientId: 'wA', clean: false, properties: { sessionExpiryInterval: 60 }, will: will('will/a', 3) });
  const { client: wB } = await StoreClient.connect(port, 5, { clientId: 'wB', clean: false, properties: { sessionExpiryInterval: 60 }, will: will('will/b', 3) });

  // Publishing.
  const { client: pub } = await StoreClient.connect(port, 5, { clientId: 'pub' });
  let pid = 1;
  for (let i = 1; i <= Q_COUNT; i++) {
    const ack = await pub.publishAcked({ topic: `q/${i}`, payload: Buffer.from(`q-${i}`), qos: 1, retain: false, packetId: pid++ });
    expect(ack.reasonCode ?? 0).toBe(0);
  }
  for (let i = 1; i <= 3; i++) {
    const ack = await pub.publishAcked({ topic: `nl/${i}`, payload: Buffer.from(`nl-${i}`), qos: 2, retain: false, packetId: pid++ });
    expect(ack.reasonCode ?? 0).toBe(0);
  }
  for (const [topic, payload] of [
    ['r/1', 'one'],
    ['r/2', 'two'],
    ['r/del', 'gone soon'],
    ['r/del', ''],
  ]) {
    await pub.publishAcked({ topic, payload: Buffer.from(payload), qos: 1, retain: true, packetId: pid++ });
  }
  for (let i = 1; i <= 4; i++) await pub.publishAcked({ topic: `inf/${i}`, payload: Buffer.from(`inf-${i}`), qos: 1, retain: false, packetId: pid++ });
  for (const t of ['inf/q2a', 'inf/q2b', 'inf/q2c']) await pub.publishAcked({ topic: t, payload: Buffer.from(t), qos: 2, retain: false, packetId: pid++ });

  // inf has 7 publishes; it PUBRECs q2a and q2b and waits for their PUBREL.
  await inf.waitUntil(() => inf.publishCount === 7, 5000, 'inf: 7 publishes');
  const byTopic = new Map(inf.publishes.map((p) => [p.topic, p.packetId!]));
  inf.send({ type: 5, packetId: byTopic.get('inf/q2a')! });
  inf.send({ type: 5, packetId: byTopic.get('inf/q2b')! });
  await inf.waitUntil(() => inf.others.filter((p) => p.type === 6).length === 2, 5000, 'inf: 2 PUBREL');

  // q2in: QoS 2 PUBLISH id 42 -> PUBREC, no PUBREL. q2sub receives it once and completes it.
  q2in.send({ type: 3, topic: 'q2/once', payload: Buffer.from('exactly once'), qos: 2, retain: false, dup: false, packetId: 42 });
  await q2in.waitUntil(() => q2in.acks.has(42), 5000, 'PUBREC 42');
  expect(q2in.acks.get(42)!.reasonCode ?? 0).toBe(0);
  await q2sub.waitUntil(() => q2sub.others.some((p) => p.type === 6), 5000, 'PUBREL to q2sub');
  await until(() => b1.broker.sessions.get('q2sub')!.inflight.size === 0, 5000, 'q2sub PUBCOMP processed');
  expect(publishesOf(q2sub, 'q2/')).toHaveLength(1);

  // The will clients' connections drop (no DISCONNECT): their wills are pending with a delay.
  const droppedAt = Date.now();
  wA.destroy();
  wB.destroy();
  await until(() => b1.broker.sessions.get('wA')?.will !== undefined && b1.broker.sessions.get('wB')?.will !== undefined, 5000, 'wills pending');
  // A later turn than the one that wrote them: committed.
  await until(() => committedRows(storeDir(b1), 'wills') === 2, 5000, 'wills committed');

  return {
    droppedAt,
    infIds: {
      q1: [1, 2, 3, 4].map((i) => byTopic.get(`inf/${i}`)!),
      q2rec: [byTopic.get('inf/q2a')!, byTopic.get('inf/q2b')!],
      q2pub: byTopic.get('inf/q2c')!,
    },
  };
}

function storeDir(b: StoreBroker): string {
  return join((b.store as SqliteStore).file, '..');
}

async function verifyAfterRestart(b2: StoreBroker, { infIds, droppedAt }: Built): Promise<void> {
  const port = b2.port;
  // Start watching wills right away (both are due 3 s after the drop).
  const { client: watcher } = await StoreClient.connect(port, 5, { clientId: 'watcher' });
  expect(await watcher.subscribe('will/#', 1)).toEqual([1]);
  // MQTT-3.1.3-9 / MQTT5 3.1.2.5: wB returns in time: its will must not be sent.
  const { client: wB, connack: wBack } = await StoreClient.connect(port, 5, { clientId: 'wB', clean: false, properties: { sessionExpiryInterval: 60 } });
  expect(wBack.sessionPresent).toBe(true);

  // MQTT-3.2.2-2 / MQTT5 3.2.2.1.1: session present, and every queued message in order (MQTT-4.6.0-6 ordering).
  const q5 = await mqttJs(port, 'q5', 5);
  expect(q5.sessionPresent).toBe(true);
  const q4 = await StoreClient.connect(port, 4, { clientId: 'q4', clean: false });
  expect(q4.connack.sessionPresent).toBe(true);
  await until(() => q5.messages.length >= Q_COUNT + 3, 10_000, 'q5: queued messages');
  const q5q = q5.messages.filter((m) => m.topic.startsWith('q/'));
  expect(q5q.map((m) => m.payload.toString())).toEqual(Array.from({ length: Q_COUNT }, (_, i) => `q-${i + 1}`));
  expect(q5q.every((m) => m.qos === 1 && subIdsOf(m).join() === '7')).toBe(true); // MQTT-3.3.4-3 subscription id restored
  const q5nl = q5.messages.filter((m) => m.topic.startsWith('nl/'));
  expect(q5nl.map((m) => [m.topic, m.qos, subIdsOf(m).join()])).toEqual([
    ['nl/1', 2, '9'],
    ['nl/2', 2, '9'],
    ['nl/3', 2, '9'],
  ]);
  await q4.client.waitUntil(() => q4.client.publishCount >= Q_COUNT, 10_000, 'q4: queued messages');
  expect(q4.client.publishes.map((p) => p.payload.toString())).toEqual(Array.from({ length: Q_COUNT }, (_, i) => `q-${i + 1}`));

  // Subscription options restored: No Local (MQTT-3.8.3-3) and Retain As Published (MQTT-3.3.1-12) on nl/+.
  q5.messages.length = 0;
  await q5.client.publishAsync('nl/self', 'mine', { qos: 1 });
  await q5.client.publishAsync('q/marker', 'm', { qos: 1 });
  const { client: pub } = await StoreClient.connect(port, 5, { clientId: 'pub2' });
  await pub.publishAcked({ topic: 'nl/rap', payload: Buffer.from('rap'), qos: 1, retain: true, packetId: 1 });
  await until(() => q5.messages.some((m) => m.topic === 'nl/rap'), 5000, 'nl/rap');
  expect(q5.messages.some((m) => m.topic === 'nl/self')).toBe(false);
  expect(q5.messages.find((m) => m.topic === 'nl/rap')!.retain).toBe(true);
  await pub.publishAcked({ topic: 'nl/rap', payload: Buffer.alloc(0), qos: 1, retain: true, packetId: 2 });
  await q5.client.endAsync();

  // MQTT-4.4.0-1: inflight PUBLISH resent with their original packet ids and DUP=1 (MQTT-3.3.1-1), PUBREL resent.
  const { client: inf, connack: infAck } = await StoreClient.connect(port, 5, persistent('inf', { properties: { sessionExpiryInterval: 3600, receiveMaximum: 100 } }), { autoAck: false });
  expect(infAck.sessionPresent).toBe(true);
  await inf.waitUntil(() => inf.publishCount === 5 && inf.others.filter((p) => p.type === 6).length === 2, 5000, 'inf: resent PUBLISH and PUBREL');
  expect(inf.publishes.map((p) => [p.topic, p.packetId, p.dup, p.qos])).toEqual([
    ['inf/1', infIds.q1[0], true, 1],
    ['inf/2', infIds.q1[1], true, 1],
    ['inf/3', infIds.q1[2], true, 1],
    ['inf/4', infIds.q1[3], true, 1],
    ['inf/q2c', infIds.q2pub, true, 2],
  ]);
  expect(inf.others.filter((p) => p.type === 6).map((p) => (p as { packetId: number }).packetId)).toEqual(infIds.q2rec);
  // Complete everything; nothing else may follow.
  const acks: Packet[] = [
    ...infIds.q1.map((packetId) => ({ type: 4 as const, packetId })),
    ...infIds.q2rec.map((packetId) => ({ type: 7 as const, packetId })),
    { type: 5, packetId: infIds.q2pub },
  ];
  inf.sendMany(acks);
  await inf.waitUntil(() => inf.others.filter((p) => p.type === 6).length === 3, 5000, 'PUBREL for q2c');
  inf.send({ type: 7, packetId: infIds.q2pub });
  await inf.ping();
  expect(inf.publishCount).toBe(5);
  await until(() => b2.broker.sessions.get('inf')!.inflight.size === 0, 5000, 'inf: nothing inflight');

  // MQTT-4.3.3-9 (QoS 2 exactly once across the restart): the publisher resends id 42 with DUP: PUBREC, not delivered again.
  const { client: q2sub, connack: q2subAck } = await StoreClient.connect(port, 5, persistent('q2sub'));
  expect(q2subAck.sessionPresent).toBe(true);
  const { client: q2in, connack: q2inAck } = await StoreClient.connect(port, 5, persistent('q2in'), { autoAck: false });
  expect(q2inAck.sessionPresent).toBe(true);
  q2in.send({ type: 3, topic: 'q2/once', payload: Buffer.from('exactly once'), qos: 2, retain: false, dup: true, packetId: 42 });
  await q2in.waitUntil(() => q2in.acks.has(42), 5000, 'PUBREC 42 again');
  expect(q2in.acks.get(42)!.reasonCode ?? 0).toBe(0);
  q2in.send({ type: 6, packetId: 42 });
  const pubcomp = (await q2in.nextOther(7)) as { packetId: number; reasonCode?: number };
  expect(pubcomp.packetId).toBe(42);
  expect(pubcomp.reasonCode ?? 0).toBe(0); // not 0x92: the id awaiting PUBREL was restored
  // Ordering proves absence: a message published after the resend reaches q2sub after any duplicate would have.
  await pub.publishAcked({ topic: 'q2/after', payload: Buffer.from('after'), qos: 2, retain: false, packetId: 3 });
  await q2sub.waitUntil(() => q2sub.publishes.some((p) => p.topic === 'q2/after'), 5000, 'q2/after');
  expect(publishesOf(q2sub, 'q2/once')).toHaveLength(0);

  // MQTT-3.3.1-6 retained messages are back (and the deleted one stays deleted).
  const { client: fresh } = await StoreClient.connect(port, 5, { clientId: 'fresh' });
  await fresh.subscribe('r/#', 1);
  await fresh.ping();
  expect(fresh.publishes.map((p) => [p.topic, p.payload.toString(), p.retain]).sort()).toEqual([
    ['r/1', 'one', true],
    ['r/2', 'two', true],
  ]);

  // MQTT-3.1.2-8 / MQTT5 3.1.3.2.2: wA did not return: its will is published after its delay; wB's never.
  await watcher.waitUntil(() => watcher.publishes.some((p) => p.topic === 'will/a'), 10_000, 'will/a');
  expect(Date.now() - droppedAt).toBeGreaterThanOrEqual(2900); // the delay kept its original due time
  await watcher.ping();
  expect(watcher.publishes.map((p) => p.topic)).toEqual(['will/a']);
  wB.disconnect();
}

describe('restart on the same store', () => {
  it('graceful close, then a new Broker + SqliteStore on the same file: sessions, queues, inflight, QoS 2 ids, retained and wills are back', async () => {
    const dir = tempDir();
    const b1 = await brokerOn(dir);
    const built = await buildState(b1);
    await b1.stop();
    const b2 = await brokerOn(dir);
    await verifyAfterRestart(b2, built);
  });

  it('crash snapshot (no close, no flush; files copied while the broker runs): everything acknowledged is back', async () => {
    const dir1 = tempDir();
    const dir2 = tempDir();
    const b1 = await brokerOn(dir1);
    const built = await buildState(b1);
    crashSnapshot(dir1, dir2); // synchronous: no commit of b1 can happen during the copy
    const b2 = await brokerOn(dir2);
    await b1.stop();
    await verifyAfterRestart(b2, built);
  });

  it('MQTT-4.4.0-1 inflight messages beyond session.maxInMemoryQueued come back as inflight: original packet ids, DUP, and PUBREL (not a new PUBLISH) for QoS 2 at PUBREL stage', async () => {
    const dir = tempDir();
    const config = { session: { maxInMemoryQueued: 4 } };
    const b1 = await brokerOn(dir, config);
    const { client: sub } = await StoreClient.connect(b1.port, 5, persistent('win', { properties: { sessionExpiryInterval: 3600, receiveMaximum: 50 } }), { autoAck: false });
    await sub.subscribe('win/#', 2);
    const { client: pub } = await StoreClient.connect(b1.port, 5, { clientId: 'winpub' });
    for (let i = 1; i <= 6; i++) await pub.publishAcked({ topic: `win/q1/${i}`, payload: Buffer.from(`${i}`), qos: 1, retain: false, packetId: i });
    for (let i = 1; i <= 6; i++) await pub.publishAcked({ topic: `win/q2/${i}`, payload: Buffer.from(`${i}`), qos: 2, retain: false, packetId: 10 + i });
    await sub.waitUntil(() => sub.publishCount === 12, 5000, '12 publishes');
    const q1Ids = sub.publishes.filter((p) => p.qos === 1).map((p) => p.packetId!);
    const q2Ids = sub.publishes.filter((p) => p.qos === 2).map((p) => p.packetId!);
    sub.sendMany(q2Ids.map((packetId) => ({ type: 5 as const, packetId })));
    await sub.waitUntil(() => sub.others.filter((p) => p.type === 6).length === 6, 5000, '6 PUBREL');
    await b1.stop();

    const b2 = await brokerOn(dir, config);
    const { client: again, connack } = await StoreClient.connect(b2.port, 5, persistent('win', { properties: { sessionExpiryInterval: 3600, receiveMaximum: 50 } }), { autoAck: false });
    expect(connack.sessionPresent).toBe(true);
    await again.ping();
    // Each QoS 1 message once, with DUP and its original id; each QoS 2 message only as a PUBREL with its original id.
    expect(again.publishes.map((p) => [p.topic, p.packetId, p.dup])).toEqual(q1Ids.map((id, i) => [`win/q1/${i + 1}`, id, true]));
    expect(again.others.filter((p) => p.type === 6).map((p) => (p as { packetId: number }).packetId)).toEqual(q2Ids);
  });
});
