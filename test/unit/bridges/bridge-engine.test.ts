import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../../src/adapters/persistence/memory/index.js';
import { RC } from '../../../src/codec/mqtt/reason-codes.js';
import type { SinkOutcome } from '../../../src/ports/sink.js';
import { INSTANCE_ID_KEY } from '../../../src/platform/bridges/index.js';
import { client, sinkConfig, startEngine, until, type EngineFixture } from './fixtures.js';

let fx: EngineFixture | undefined;
afterEach(async () => {
  await fx?.engine.stop();
  fx = undefined;
});

const seq = (m: { body: Buffer }): number => Number(m.body.toString());

describe('bridge engine: routing into the outbox', () => {
  it('a matching message is written to the outbox in the publishing turn, delivered with key <instanceId>-<messageId>, then deleted', async () => {
    fx = await startEngine({ instanceId: 'hf1', sinks: [sinkConfig('a')], routes: [{ filter: 't/#', sink: 'a' }] }, { behaviours: { a: () => new Promise(() => {}) } });
    const msg = fx.broker.publish('t/1', 'x', { clientId: 'd1' });
    // Synchronously, before any await: the store holds it (same batch as the publish's commit).
    const stored = await fx.store.loadOutbox('a', 0, 10);
    expect(stored.map((e) => [e.messageId, e.topic, e.payload.toString(), e.publisherId, e.attempts])).toEqual([[msg.id, 't/1', 'x', 'd1', 0]]);
    await fx.engine.stop();

    fx = await startEngine({ instanceId: 'hf1', sinks: [sinkConfig('a')], routes: [{ filter: 't/#', sink: 'a' }] }, { store: fx.store });
    await until(() => fx!.sinks.get('a')!.delivered.length === 1, 'delivery after restart');
    const m = fx.sinks.get('a')!.delivered[0]!;
    expect(m.idempotencyKey).toBe(`hf1-${msg.id}`);
    expect(m.attempt).toBe(1);
    await until(() => fx!.engine.status().sinks[0]!.outbox.messages === 0, 'outbox drained');
    expect(await fx.store.loadOutbox('a', 0, 10)).toEqual([]);
  });

  it('non-matching topics are not queued; a message matching two routes of one sink is queued once; each sink gets its copy', async () => {
    fx = await startEngine({
      sinks: [sinkConfig('a'), sinkConfig('b')],
      routes: [
        { filter: 't/#', sink: 'a' },
        { filter: 't/+', sink: 'a' },
        { filter: 't/1', sink: 'b' },
      ],
    });
    fx.broker.publish('other', 'x');
    fx.broker.publish('t/1', 'y');
    await until(() => fx!.sinks.get('a')!.delivered.length === 1 && fx!.sinks.get('b')!.delivered.length === 1, 'one copy per sink');
    expect(fx.engine.status().sinks.map((s) => s.totals.enqueued)).toEqual([1, 1]);
  });

  it('device type and labels restrict a route (unknown devices and the broker\'s own messages do not match)', async () => {
    const devices: Record<string, { type: string; labels: Record<string, string> }> = {
      s1: { type: 'sensor', labels: { site: 'north', tier: 'a' } },
      s2: { type: 'sensor', labels: { site: 'south' } },
      g1: { type: 'gateway', labels: { site: 'north' } },
    };
    fx = await startEngine(
      { sinks: [sinkConfig('a')], routes: [{ filter: 'd/#', sink: 'a', deviceType: 'sensor', labels: { site: 'north' } }] },
      { deviceInfo: (id) => devices[id] },
    );
    for (const id of ['s1', 's2', 'g1', 'unknown']) fx.broker.publish(`d/${id}`, id, { clientId: id });
    fx.broker.publish('d/server', 'srv');
    await until(() => fx!.sinks.get('a')!.delivered.length >= 1, 'delivery');
    expect(fx.sinks.get('a')!.delivered.map((m) => m.body.toString())).toEqual(['s1']);
    expect(fx.engine.status().sinks[0]!.totals.enqueued).toBe(1);
  });

  it('a template replaces the body with its JSON envelope, rendered once at enqueue', async () => {
    fx = await startEngine({
      instanceId: 'i',
      sinks: [sinkConfig('a')],
      routes: [{ filter: 't/#', sink: 'a', template: '{"k":"{idempotencyKey}","t":"{topic}","c":"{clientId}","d":{payloadJson},"b":"{payloadBase64}"}' }],
    });
    const msg = fx.broker.publish('t/"q"', '{"v":1}', { clientId: 'dev' });
    await until(() => fx!.sinks.get('a')!.delivered.length === 1, 'delivery');
    expect(JSON.parse(fx.sinks.get('a')!.delivered[0]!.body.toString())).toEqual({
      k: `i-${msg.id}`,
      t: 't/"q"',
      c: 'dev',
      d: { v: 1 },
      b: Buffer.from('{"v":1}').toString('base64'),
    });
  });
});

describe('bridge engine: delivery, order, retries, dead letters', () => {
  it('a sink that rejects whole batches gets them again, in order, without charging attempts to the messages', async () => {
    let fail = 3;
    fx = await startEngine(
      { sinks: [sinkConfig('a', { batchMaxMessages: 4, maxAttempts: 2 })], routes: [{ filter: 't/#', sink: 'a' }] },
      {
        behaviours: {
          a: (b) => {
            if (fail-- > 0) throw new Error('ECONNREFUSED');
            return b.map(() => ({ status: 'ok' }));
          },
        },
      },
    );
    for (let i = 1; i <= 10; i++) fx.broker.publish(`t/${i % 2}`, String(i), { clientId: `d${i % 2}` });
    await until(() => fx!.sinks.get('a')!.delivered.length === 10, 'all delivered');
    const s = fx.sinks.get('a')!;
    expect(s.delivered.map(seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(s.calls[0]!.map(seq)).toEqual([1, 2, 3, 4]);
    expect(s.calls[3]!.map((m) => m.attempt)).toEqual([1, 1, 1, 1]); // rejections are not attempts
    const st = fx.engine.status().sinks[0]!;
    expect(st.totals.batchFailures).toBe(3);
    expect(st.deadLetters).toBe(0);
  });

  it('a permanent refusal goes to the dead letters after maxPermanentAttempts; the rest of the batch goes on; replay delivers it', async () => {
    let reject = true;
    fx = await startEngine(
      { instanceId: 'z', sinks: [sinkConfig('a', { maxPermanentAttempts: 3 })], routes: [{ filter: 't/#', sink: 'a' }] },
      { behaviours: { a: (b) => b.map((m): SinkOutcome => (reject && seq(m) === 2 ? { status: 'permanent', error: 'HTTP 400: bad' } : { status: 'ok' })) } },
    );
    for (let i = 1; i <= 3; i++) fx.broker.publish('t/x', String(i), { clientId: 'd' });
    await until(() => fx!.engine.status().sinks[0]!.deadLetters === 1, 'dead letter');
    const s = fx.sinks.get('a')!;
    // Message 2 was tried 3 times (attempt 1, 2, 3), then moved; 1 and 3 arrived.
    expect(s.calls.flat().filter((m) => seq(m) === 2).map((m) => m.attempt)).toEqual([1, 2, 3]);
    expect(s.delivered.map(seq).sort()).toEqual([1, 3]);
    const page = await fx.engine.deadLetters({ sink: 'a' });
    expect(page.items).toHaveLength(1);
    expect(page.items[0]).toMatchObject({ sink: 'a', topic: 't/x', attempts: 3, error: 'permanent: HTTP 400: bad', idempotencyKey: `z-${page.items[0]!.messageId}` });
    expect(Buffer.from(page.items[0]!.payloadBase64, 'base64').toString()).toBe('2');
    expect(fx.engine.status().sinks[0]!.outbox.messages).toBe(0);
    expect(await fx.store.loadOutbox('a', 0, 10)).toEqual([]);

    reject = false;
    expect(await fx.engine.replay({ sink: 'a' })).toEqual({ replayed: 1, bySink: { a: 1 } });
    await until(() => s.delivered.length === 3, 'replayed delivery');
    expect(s.delivered[2]!.idempotencyKey).toBe(page.items[0]!.idempotencyKey);
    expect(s.delivered[2]!.attempt).toBe(1);
    expect((await fx.engine.deadLetters()).items).toEqual([]);
    expect(fx.engine.status().sinks[0]).toMatchObject({ deadLetters: 0, totals: { replayed: 1, deadLettered: 1 } });
  });

  it('per-message retry outcomes count: a message failing maxAttempts times is dead-lettered and does not block the sink', async () => {
    fx = await startEngine(
      { sinks: [sinkConfig('a', { maxAttempts: 4 })], routes: [{ filter: 't/#', sink: 'a' }] },
      { behaviours: { a: (b) => b.map((m): SinkOutcome => (seq(m) === 1 ? { status: 'retry', error: 'busy' } : { status: 'ok' })) } },
    );
    fx.broker.publish('t/x', '1', { clientId: 'd' });
    fx.broker.publish('t/x', '2', { clientId: 'd' });
    await until(() => fx!.engine.status().sinks[0]!.deadLetters === 1, 'dead letter');
    fx.broker.publish('t/x', '3', { clientId: 'd' });
    await until(() => fx!.sinks.get('a')!.delivered.some((m) => seq(m) === 3), 'later message');
    expect(fx.sinks.get('a')!.calls.flat().filter((m) => seq(m) === 1)).toHaveLength(4);
  });

  it('a sink that fails to start is retried with backoff; messages wait in the outbox meanwhile', async () => {
    fx = await startEngine({ sinks: [sinkConfig('a')], routes: [{ filter: 't/#', sink: 'a' }] });
    await fx.engine.stop();
    const store = fx.store;
    fx = await startEngine({ sinks: [sinkConfig('a')], routes: [{ filter: 't/#', sink: 'a' }] }, { store });
    const sink = fx.sinks.get('a')!;
    sink.startFailures = 3;
    fx.broker.publish('t/1', '1');
    await until(() => sink.delivered.length === 1, 'delivery after start retries');
    expect(sink.started).toBe(1);
  });
});

describe('bridge engine: bounds', () => {
  it('refuse: when the outbox is full, admitPublish refuses QoS 1/2 routed to it with 0x97 naming the sink; QoS 0 is not queued (counted); other topics pass', async () => {
    fx = await startEngine(
      { sinks: [sinkConfig('hook', { maxOutboxMessages: 3 })], routes: [{ filter: 't/#', sink: 'hook' }] },
      { behaviours: { hook: () => new Promise(() => {}) } },
    );
    const c = client('d');
    for (let i = 0; i < 3; i++) {
      expect(fx.engine.hooks.admitPublish(c, 't/1', 1, false)).toBeUndefined();
      fx.broker.publish('t/1', String(i));
    }
    const r = fx.engine.hooks.admitPublish(c, 't/1', 1, false);
    expect(r?.reasonCode).toBe(RC.QUOTA_EXCEEDED);
    expect(r?.reason).toContain('"hook"');
    expect(fx.engine.hooks.admitPublish(c, 't/1', 2, false)?.reasonCode).toBe(0x97);
    expect(fx.engine.hooks.admitPublish(c, 'other', 1, false)).toBeUndefined();
    expect(fx.engine.hooks.admitPublish(c, 't/1', 0, false)).toBeUndefined();
    fx.broker.publish('t/1', 'q0', { qos: 0 });
    const st = fx.engine.status().sinks[0]!;
    expect(st.outbox).toMatchObject({ messages: 3, full: true, whenFull: 'refuse' });
    expect(st.totals).toMatchObject({ refused: 2, droppedQos0: 1, enqueued: 3 });
  });

  it('refuse: the byte bound counts body bytes', async () => {
    fx = await startEngine(
      { sinks: [sinkConfig('a', { maxOutboxBytes: 10 })], routes: [{ filter: 't/#', sink: 'a' }] },
      { behaviours: { a: () => new Promise(() => {}) } },
    );
    fx.broker.publish('t/1', '123456789');
    expect(fx.engine.hooks.admitPublish(client('d'), 't/1', 1, false)).toBeUndefined();
    fx.broker.publish('t/1', '1');
    expect(fx.engine.status().sinks[0]!.outbox.bytes).toBe(10);
    expect(fx.engine.hooks.admitPublish(client('d'), 't/1', 1, false)?.reasonCode).toBe(0x97);
  });

  it('drop-oldest: the oldest messages are deleted (counted) and the newest kept, also while a batch is in flight', async () => {
    let release: (() => void) | undefined;
    fx = await startEngine(
      { sinks: [sinkConfig('a', { maxOutboxMessages: 5, whenOutboxFull: 'drop-oldest', batchMaxMessages: 2 })], routes: [{ filter: 't/#', sink: 'a' }] },
      {
        behaviours: {
          a: (b, call) =>
            call === 1
              ? new Promise((resolve) => {
                  release = () => resolve(b.map(() => ({ status: 'ok' })));
                })
              : b.map(() => ({ status: 'ok' })),
        },
      },
    );
    fx.broker.publish('t/x', '1');
    await until(() => release !== undefined, 'first batch in flight');
    for (let i = 2; i <= 20; i++) fx.broker.publish('t/x', String(i));
    await until(() => fx!.engine.status().sinks[0]!.outbox.messages <= 5, 'trimmed');
    const st = fx.engine.status().sinks[0]!;
    expect(st.totals.droppedOldest).toBe(15);
    expect(fx.engine.hooks.admitPublish(client('d'), 't/x', 1, false)).toBeUndefined(); // drop-oldest never refuses
    release!();
    await until(() => fx!.engine.status().sinks[0]!.outbox.messages === 0, 'drained');
    const got = fx.sinks.get('a')!.delivered.map(seq);
    // 1 was in flight when it was dropped: its (late) success is not counted twice; 16..20 are the newest five.
    expect(got.filter((n) => n > 1)).toEqual([16, 17, 18, 19, 20]);
    expect(fx.engine.status().sinks[0]!.outbox.bytes).toBe(0);
    expect(await fx.store.loadOutbox('a', 0, 100)).toEqual([]);
  });
});

describe('bridge engine: breakers, restore, reload', () => {
  it('the breaker opens after breakerFailures failed batches (no sends while open) and closes once the sink answers', async () => {
    let down = true;
    fx = await startEngine(
      { sinks: [sinkConfig('a', { breakerFailures: 3, breakerOpenMs: 150, retryBaseMs: 1, retryCapMs: 2 })], routes: [{ filter: 't/#', sink: 'a' }] },
      {
        behaviours: {
          a: (b) => {
            if (down) throw new Error('down');
            return b.map(() => ({ status: 'ok' }));
          },
        },
      },
    );
    fx.broker.publish('t/1', '1');
    await until(() => fx!.engine.status().sinks[0]!.breaker === 'open', 'breaker open');
    const callsWhenOpened = fx.sinks.get('a')!.calls.length;
    expect(callsWhenOpened).toBe(3);
    expect(fx.engine.status().sinks[0]!.state).toBe('open');
    down = false;
    await until(() => fx!.sinks.get('a')!.delivered.length === 1, 'delivered after the open period');
    expect(fx.engine.status().sinks[0]!.breaker).toBe('closed');
  });

  it('sinks on one endpoint share an endpoint breaker', async () => {
    fx = await startEngine(
      { sinks: [sinkConfig('a', { breakerFailures: 2 }), sinkConfig('b', { breakerFailures: 2 })], routes: [{ filter: 'a/#', sink: 'a' }, { filter: 'b/#', sink: 'b' }] },
      {
        behaviours: {
          a: () => {
            throw new Error('down');
          },
          b: () => new Promise(() => {}),
        },
        endpoints: { a: 'http:h:1', b: 'http:h:1' },
      },
    );
    fx.broker.publish('a/1', '1');
    await until(() => fx!.engine.status().sinks[0]!.endpoint?.breaker === 'open', 'endpoint breaker open');
    const b = fx.engine.status().sinks[1]!;
    expect(b.endpoint).toEqual({ key: 'http:h:1', breaker: 'open' });
    expect(b.breaker).toBe('closed');
  });

  it('counters are restored from the store at start; the random instance id is kept in the store', async () => {
    const store = new MemoryStore();
    await store.open();
    fx = await startEngine({ sinks: [sinkConfig('a')], routes: [{ filter: 't/#', sink: 'a' }] }, { store, behaviours: { a: () => new Promise(() => {}) } });
    const id = fx.engine.status().instanceId;
    expect(id).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect((await store.getMeta(INSTANCE_ID_KEY))?.toString()).toBe(id);
    for (let i = 0; i < 7; i++) fx.broker.publish('t/1', 'abc');
    await fx.engine.stop();
    fx = await startEngine({ sinks: [sinkConfig('a')], routes: [{ filter: 't/#', sink: 'a' }] }, { store, behaviours: { a: () => new Promise(() => {}) } });
    const st = fx.engine.status();
    expect(st.instanceId).toBe(id);
    expect(st.sinks[0]!.outbox).toMatchObject({ messages: 7, bytes: 21 });
    expect(st.sinks[0]!.outbox.oldestAgeMs).toBeGreaterThanOrEqual(0);
  });

  it('reload swaps routes, adds and removes sinks, restarts a changed sink', async () => {
    fx = await startEngine({ sinks: [sinkConfig('a')], routes: [{ filter: 'a/#', sink: 'a' }] });
    expect(fx.broker.subscriptions).toBe(1);
    const { parseBridgesConfig } = await import('../../../src/platform/bridges/index.js');
    await fx.engine.reload(
      parseBridgesConfig({
        sinks: [sinkConfig('a', { batchMaxMessages: 7 }), sinkConfig('b')],
        routes: [
          { filter: 'x/#', sink: 'a' },
          { filter: 'x/#', sink: 'b' },
        ],
      }),
    );
    expect(fx.broker.subscriptions).toBe(2);
    fx.broker.publish('a/1', 'old route');
    fx.broker.publish('x/1', 'new route');
    await until(() => fx!.sinks.get('b')?.delivered.length === 1 && fx!.sinks.get('a')!.delivered.length === 1, 'delivered by the new routes');
    expect(fx.sinks.get('a')!.delivered[0]!.body.toString()).toBe('new route');
    await fx.engine.reload(parseBridgesConfig({ sinks: [sinkConfig('b')], routes: [{ filter: 'x/#', sink: 'b' }] }));
    expect(fx.engine.status().sinks.map((s) => s.name)).toEqual(['b']);
    expect(fx.sinks.get('a')!.closed).toBe(1);
  });
});
