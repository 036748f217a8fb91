/**
 * The NATS JetStream sink against a real nats-server: the shared one at 127.0.0.1:4222
 * (a uniquely named stream per run, deleted afterwards) and, for outages, a private one
 * this file starts and kills.
 */
import type { NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsSink } from '../../src/adapters/northbound/nats/index.js';
import type { SinkMessage, SinkOutcome } from '../../src/ports/sink.js';
import { PrivateNats, SHARED_NATS_URL } from '../helpers/nats-server.js';
import { deadline, sinkMessages } from '../helpers/nats-sink-messages.js';
import { createStream, deleteStream, natsConnect, readStream, streamCount, uniqueName } from '../helpers/nats-stream.js';

const okAll = (outcomes: SinkOutcome[]): boolean => outcomes.every((o) => o.status === 'ok');

/** Sends until every message is ok (what the engine does with retries); gives up at the deadline. */
async function deliverAll(sink: NatsSink, batch: SinkMessage[], withinMs: number): Promise<number> {
  const until = Date.now() + withinMs;
  let pending = batch;
  let rounds = 0;
  while (pending.length > 0) {
    if (Date.now() > until) throw new Error(`still ${pending.length} undelivered after ${withinMs} ms: ${JSON.stringify(sink.state())}`);
    rounds++;
    try {
      const outcomes = await sink.send(pending, deadline(5000));
      const permanent = outcomes.find((o) => o.status === 'permanent');
      if (permanent !== undefined) throw new Error(`unexpected permanent outcome: ${JSON.stringify(permanent)}`);
      pending = pending.filter((_m, i) => outcomes[i]!.status !== 'ok');
    } catch (err) {
      if ((err as { code?: string }).code !== 'NATS_UNAVAILABLE') throw err;
    }
    if (pending.length > 0) await new Promise((r) => setTimeout(r, 50)); // the engine's backoff
  }
  return rounds;
}

describe('NATS JetStream sink (shared server)', () => {
  let nc: NatsConnection;
  const prefix = uniqueName('hfsink').toLowerCase();
  const stream = uniqueName('HFSINK');
  const streams: string[] = [stream];

  beforeAll(async () => {
    nc = await natsConnect(SHARED_NATS_URL);
    await createStream(nc, stream, [`${prefix}.>`], { maxMsgSize: 4096 });
  });

  afterAll(async () => {
    for (const s of streams) await deleteStream(nc, s);
    await nc.close();
  });

  it('delivers a batch: each message once, on its topic subject, with Nats-Msg-Id and the Holdfast headers', async () => {
    const sink = new NatsSink({ name: 'js', servers: [SHARED_NATS_URL], subjectTemplate: `${prefix}.a.{topic}`, stream });
    await sink.start();
    try {
      const batch = sinkMessages('b1', 1, 50);
      const outcomes = await sink.send(batch, deadline());
      expect(outcomes).toHaveLength(50);
      expect(okAll(outcomes)).toBe(true);
      const stored = (await readStream(nc, stream)).filter((m) => m.subject.startsWith(`${prefix}.a.`));
      expect(stored.map((m) => m.msgId)).toEqual(batch.map((m) => m.idempotencyKey)); // in batch order
      expect(stored[0]!.subject).toBe(`${prefix}.a.devices.dev-0.telemetry`);
      expect(stored[0]!.data.toString()).toBe(batch[0]!.body.toString());
      expect(stored[3]!.headers?.get('Holdfast-Topic')).toBe('devices/dev-3/telemetry');
      expect(stored[3]!.headers?.get('Holdfast-Client-Id')).toBe('dev-3');
      expect(stored[3]!.headers?.get('Holdfast-Message-Id')).toBe('4');
      expect(stored[3]!.headers?.get('Holdfast-Qos')).toBe('1');
    } finally {
      await sink.close();
    }
  });

  it('dedupe holds: the same batch sent again (a retry after a lost PubAck) is acknowledged and stored once', async () => {
    const sink = new NatsSink({ name: 'js', servers: [SHARED_NATS_URL], subjectTemplate: `${prefix}.b.{topic}`, stream });
    await sink.start();
    try {
      const batch = sinkMessages('b2', 1, 40);
      expect(okAll(await sink.send(batch, deadline()))).toBe(true);
      const before = await streamCount(nc, stream);
      expect(okAll(await sink.send(batch, deadline()))).toBe(true);
      expect(okAll(await sink.send(batch.slice(10, 20), deadline()))).toBe(true);
      expect(await streamCount(nc, stream)).toBe(before);
      const ids = (await readStream(nc, stream)).filter((m) => m.subject.startsWith(`${prefix}.b.`)).map((m) => m.msgId);
      expect(ids).toEqual(batch.map((m) => m.idempotencyKey));
    } finally {
      await sink.close();
    }
  });

  it('sanitizes topic levels into subject tokens: no wildcard, empty token or system subject can be produced', async () => {
    const sink = new NatsSink({ name: 'js', servers: [SHARED_NATS_URL], subjectTemplate: `${prefix}.c.{topic}`, stream });
    await sink.start();
    try {
      const topics = ['a.b/*/>', '/lead//trail/', '$SYS/x y', 'pct%/ok'];
      const batch = sinkMessages('b3', 1, topics.length, (i) => ({ topic: topics[i]! }));
      expect(okAll(await sink.send(batch, deadline()))).toBe(true);
      const subjects = (await readStream(nc, stream)).filter((m) => m.subject.startsWith(`${prefix}.c.`)).map((m) => m.subject);
      expect(subjects).toEqual([
        `${prefix}.c.a%2Eb.%2A.%3E`,
        `${prefix}.c.%.lead.%.trail.%`,
        `${prefix}.c.%24SYS.x%20y`,
        `${prefix}.c.pct%25.ok`,
      ]);
    } finally {
      await sink.close();
    }
  });

  it('permanent: no stream captures the subject (NATS_NO_STREAM), the message is over max_msg_size, another stream is expected', async () => {
    const sink = new NatsSink({ name: 'js', servers: [SHARED_NATS_URL], subjectTemplate: `${prefix}.d.{topic}`, stream });
    const nowhere = new NatsSink({ name: 'js2', servers: [SHARED_NATS_URL], subjectTemplate: `${prefix}x.{topic}` });
    const wrongStream = new NatsSink({ name: 'js3', servers: [SHARED_NATS_URL], subjectTemplate: `${prefix}.e.{topic}`, stream: 'SOME_OTHER_STREAM' });
    try {
      const batch = sinkMessages('b4', 1, 3, (i) => (i === 1 ? { body: Buffer.alloc(8192, 1) } : {}));
      const outcomes = await sink.send(batch, deadline());
      expect(outcomes.map((o) => o.status)).toEqual(['ok', 'permanent', 'ok']);
      expect(outcomes[1]!.status === 'permanent' && outcomes[1]!.error).toMatch(/10054|maximum/i);

      const lost = await nowhere.send(sinkMessages('b5', 1, 2), deadline());
      expect(lost.map((o) => o.status)).toEqual(['permanent', 'permanent']);
      expect(lost[0]!.status === 'permanent' && lost[0]!.error).toContain('NATS_NO_STREAM');

      const mismatch = await wrongStream.send(sinkMessages('b6', 1, 1), deadline());
      expect(mismatch[0]!.status).toBe('permanent');
      expect(mismatch[0]!.status === 'permanent' && mismatch[0]!.error).toMatch(/10060|expected stream/i);
    } finally {
      await Promise.all([sink.close(), nowhere.close(), wrongStream.close()]);
    }
  });

  it('ensureStream creates a missing stream (at start, and again when it was deleted)', async () => {
    const name = uniqueName('HFENSURE');
    const sub = `${prefix}f`;
    streams.push(name);
    const sink = new NatsSink({ name: 'js', servers: [SHARED_NATS_URL], subjectTemplate: `${sub}.{topic}`, stream: name, ensureStream: true, streamStorage: 'memory' });
    try {
      await sink.start();
      expect(sink.state().streamReady).toBe(true);
      const jsm = await nc.jetstreamManager();
      const info = await jsm.streams.info(name);
      expect(info.config.subjects).toEqual([`${sub}.>`]);
      expect(info.config.duplicate_window).toBe(600_000 * 1e6);
      expect(okAll(await sink.send(sinkMessages('b7', 1, 5), deadline()))).toBe(true);

      await jsm.streams.delete(name);
      const afterDelete = await sink.send(sinkMessages('b7', 6, 2), deadline());
      expect(afterDelete.map((o) => o.status)).toEqual(['retry', 'retry']); // recreated, then retried
      expect(okAll(await sink.send(sinkMessages('b7', 6, 2), deadline()))).toBe(true);
      expect(await streamCount(nc, name)).toBe(2);
    } finally {
      await sink.close();
    }
  });

  it('honours the batch deadline: an aborted signal rejects without sending', async () => {
    const sink = new NatsSink({ name: 'js', servers: [SHARED_NATS_URL], subjectTemplate: `${prefix}.g.{topic}`, stream });
    try {
      const ac = new AbortController();
      ac.abort();
      await expect(sink.send(sinkMessages('b8', 1, 3), ac.signal)).rejects.toMatchObject({ code: 'NATS_UNAVAILABLE' });
    } finally {
      await sink.close();
    }
  });
});

describe('NATS JetStream sink (private server: stopped, killed, restarted)', () => {
  let nats: PrivateNats;
  let nc: NatsConnection | undefined;
  const stream = 'HOLDFAST_OUTAGE';

  beforeAll(async () => {
    nats = await PrivateNats.start();
  });

  afterAll(async () => {
    await nc?.close().catch(() => undefined);
    await nats.dispose();
  });

  it('NATS stopped: batches fail fast as retryable; brought back, every message is in the stream exactly once (dedupe holds)', async () => {
    const sink = new NatsSink({
      name: 'outage',
      servers: [nats.url],
      subjectTemplate: 'telemetry.{topic}',
      stream,
      ensureStream: true,
      reconnectTimeWaitMs: 100,
      maxReconnectAttempts: 5,
      connectTimeoutMs: 1000,
      publishTimeoutMs: 2000,
      maxInFlight: 32,
    });
    await sink.start();
    try {
      const first = sinkMessages('k', 1, 200);
      expect(okAll(await sink.send(first, deadline()))).toBe(true);

      // Killed in the middle of a large batch: some PubAcks arrive, the rest fail as retryable.
      const big = sinkMessages('k', 201, 4000);
      nc = await natsConnect(nats.url);
      const jsm = await nc.jetstreamManager();
      const sending = sink.send(big, deadline(30_000)).then(
        (o) => o,
        (err: unknown) => err as Error,
      );
      const killDeadline = Date.now() + 20_000;
      while ((await jsm.streams.info(stream)).state.messages < 1200) {
        if (Date.now() > killDeadline) throw new Error('the batch never got going');
      }
      await nats.stop('SIGKILL');
      await nc.close().catch(() => undefined);
      nc = undefined;
      const result = await sending;
      expect(result).not.toBeInstanceOf(Error);
      const outcomes = result as SinkOutcome[];
      expect(outcomes.some((o) => o.status === 'ok')).toBe(true);
      expect(outcomes.some((o) => o.status === 'retry')).toBe(true);
      expect(outcomes.some((o) => o.status === 'permanent')).toBe(false);
      const undelivered = big.filter((_m, i) => outcomes[i]!.status !== 'ok');

      // While NATS is down a batch is refused at once (nothing buffered in the client).
      const started = Date.now();
      await expect(sink.send(undelivered.slice(0, 10), deadline(10_000))).rejects.toMatchObject({ code: 'NATS_UNAVAILABLE' });
      expect(Date.now() - started).toBeLessThan(5000);

      await nats.restart();
      // The retries (what the engine does): the undelivered ones, and the first batch once more
      // as if its PubAcks had been lost. The stream dedupes by Nats-Msg-Id.
      await deliverAll(sink, [...undelivered, ...first.slice(0, 50)], 30_000);

      nc = await natsConnect(nats.url);
      const stored = await readStream(nc, stream);
      const ids = stored.map((m) => m.msgId);
      expect(new Set(ids).size).toBe(ids.length); // exactly once
      expect(ids.length).toBe(first.length + big.length);
      expect(new Set(ids)).toEqual(new Set([...first, ...big].map((m) => m.idempotencyKey)));
    } finally {
      await sink.close();
    }
  }, 90_000);
});
