/**
 * Issue 9: a webhook answering 400 sends the message to the dead-letter store after the
 * configured attempts (the device's later messages are held back until then, so order
 * holds, then go on); replay after the receiver is fixed delivers it, under the same
 * idempotency key. And the bounds: a full outbox (policy refuse) answers QoS 1 publishes
 * with PUBACK 0x97 and a Reason String naming the sink (3.1.1: the connection is closed),
 * QoS 0 is not queued, and publishes are accepted again once the outbox drains.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { StoreClient } from '../helpers/store-clients.js';
import { sqliteAt, storeTempDir } from '../helpers/store-fixtures.js';
import { BridgesRig, freePort, startBridgedBroker, waitFor, WebhookServer } from './bridges-helpers.js';

const rig = new BridgesRig();
afterEach(() => rig.tearDown());

describe('bridges: dead letters and replay', () => {
  it('a webhook answering 400 dead-letters the message after maxPermanentAttempts (3); replay after the fix delivers it with the same idempotency key', async () => {
    rig.hook = new WebhookServer();
    await rig.hook.listen();
    let broken = true;
    rig.hook.respond = (r) => (broken && r.body.toString() === 'poison' ? 400 : 200);
    rig.dir = storeTempDir('holdfast-bridges-dl-');
    rig.b = await startBridgedBroker({
      store: sqliteAt(rig.dir),
      bridges: {
        instanceId: 'dl',
        sinks: [{ name: 'hook', kind: 'http', http: { url: rig.hook.url, mode: 'single' }, maxPermanentAttempts: 3, retryBaseMs: 5, retryCapMs: 20, batchLingerMs: 0 }],
        routes: [{ filter: 'dev/+/data', sink: 'hook' }],
      },
    });
    const { client } = await StoreClient.connect(rig.b.tb.port, 5, { clientId: 'd1' });
    rig.clients.push(client);
    let pid = 0;
    for (const body of ['first', 'poison', 'after']) {
      const ack = await client.publishAcked({ topic: 'dev/d1/data', payload: Buffer.from(body), qos: 1, retain: false, packetId: ++pid });
      expect(ack.reasonCode ?? 0).toBe(0);
    }
    await waitFor(() => rig.b!.bridges.status().sinks[0]!.deadLetters === 1, 'the dead letter');
    await waitFor(() => rig.hook!.requests.some((r) => r.body.toString() === 'after' && r.headers['x-holdfast-attempt'] !== undefined), '"after" delivered');
    const bodies = rig.hook.requests.map((r) => `${r.body.toString()}#${r.headers['x-holdfast-attempt'] as string}`);
    // Three attempts at the poison message; "after" (same device) only once it was moved away.
    expect(bodies.filter((x) => x.startsWith('poison'))).toEqual(['poison#1', 'poison#2', 'poison#3']);
    expect(bodies.indexOf('after#1')).toBeGreaterThan(bodies.indexOf('poison#3'));
    expect(bodies[0]).toBe('first#1');

    const page = await rig.b.bridges.deadLetters({ sink: 'hook' });
    expect(page.items).toHaveLength(1);
    const letter = page.items[0]!;
    expect(letter).toMatchObject({ sink: 'hook', topic: 'dev/d1/data', publisherId: 'd1', attempts: 3, qos: 1 });
    expect(letter.error).toMatch(/^permanent: HTTP 400/);
    expect(Buffer.from(letter.payloadBase64, 'base64').toString()).toBe('poison');
    // The webhook has seen "after"; the broker removes it from the outbox once the 200 is back.
    await waitFor(() => rig.b!.bridges.status().sinks[0]!.outbox.messages === 0, 'the outbox empty after "after"');

    broken = false;
    const before = rig.hook.requests.length;
    expect(await rig.b.bridges.replay({ sink: 'hook', messageIds: [letter.messageId] })).toEqual({ replayed: 1, bySink: { hook: 1 } });
    await waitFor(() => rig.hook!.requests.length > before, 'the replayed message');
    const replayed = rig.hook.requests[before]!;
    expect(replayed.body.toString()).toBe('poison');
    expect(replayed.headers['idempotency-key']).toBe(letter.idempotencyKey);
    expect((await rig.b.bridges.deadLetters()).items).toEqual([]);
    await waitFor(() => rig.b!.bridges.status().sinks[0]!.outbox.messages === 0, 'outbox empty');
    expect(rig.b.bridges.status().sinks[0]!).toMatchObject({ deadLetters: 0, totals: { deadLettered: 1, replayed: 1 } });
  });
});

describe('bridges: outbox bounds (policy refuse)', () => {
  it('a full outbox: QoS 1 routed to it gets PUBACK 0x97 naming the sink, QoS 0 is not queued, other topics pass; accepted again once drained', async () => {
    const port = await freePort();
    rig.dir = storeTempDir('holdfast-bridges-full-');
    rig.b = await startBridgedBroker({
      store: sqliteAt(rig.dir),
      bridges: {
        sinks: [{ name: 'archive', kind: 'http', http: { url: `http://127.0.0.1:${port}/in` }, maxOutboxMessages: 5, retryBaseMs: 10, retryCapMs: 50, breakerOpenMs: 100 }],
        routes: [{ filter: 'meter/#', sink: 'archive' }],
      },
    });
    const { client } = await StoreClient.connect(rig.b.tb.port, 5, { clientId: 'm1' });
    rig.clients.push(client);
    let pid = 0;
    const pub = async (topic: string) => (await client.publishAcked({ topic, payload: Buffer.from('v'), qos: 1, retain: false, packetId: ++pid })).reasonCode ?? 0;
    for (let i = 0; i < 5; i++) expect(await pub('meter/1')).toBe(0);
    const ack = await client.publishAcked({ topic: 'meter/1', payload: Buffer.from('v'), qos: 1, retain: false, packetId: ++pid });
    expect(ack.reasonCode).toBe(0x97); // MQTT5 3.4.2.1 Quota exceeded
    expect(ack.properties?.reasonString).toMatch(/"archive".*full/);
    expect(await pub('other/topic')).toBe(0x10); // not routed: no matching subscribers, accepted
    client.send({ type: 3, topic: 'meter/1', payload: Buffer.from('q0'), qos: 0, retain: false, dup: false });
    await client.ping();
    const st = rig.b.bridges.status().sinks[0]!;
    expect(st.outbox).toMatchObject({ messages: 5, full: true });
    expect(st.totals).toMatchObject({ refused: 1, droppedQos0: 1 });

    // MQTT 3.1.1 cannot be told: the broker closes the connection instead of a plain PUBACK.
    const { client: old } = await StoreClient.connect(rig.b.tb.port, 4, { clientId: 'm-v4' });
    rig.clients.push(old);
    old.send({ type: 3, topic: 'meter/2', payload: Buffer.from('v'), qos: 1, retain: false, dup: false, packetId: 1 });
    await old.waitClosed();
    expect(old.acks.size).toBe(0);

    rig.hook = new WebhookServer();
    await rig.hook.listen(port);
    await waitFor(() => rig.b!.bridges.status().sinks[0]!.outbox.messages === 0, 'the outbox to drain');
    expect(await pub('meter/1')).toBe(0);
  });
});
