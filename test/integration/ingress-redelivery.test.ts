/**
 * The JetStream ingress is exactly once into MQTT when JetStream delivers again:
 * - the consumer "dies" after its publish is committed but before its ack (fault hook), and
 *   the broker restarts on the same SQLite store: the redelivered message is recognised by
 *   the dedupe window read back from the store, and not published a second time;
 * - NATS is killed (a private nats-server) while messages are in flight, and restarted:
 *   every message reaches the subscriber exactly once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/persistence/sqlite/index.js';
import { silentLogger } from '../../src/observability/logger.js';
import { JetStreamIngress } from '../../src/platform/ingress/index.js';
import { jsPublish, nextEvent, Subscriber } from '../helpers/nats-ingress.js';
import { PrivateNats, SHARED_NATS_URL } from '../helpers/nats-server.js';
import { createStream, deleteStream, natsConnect, uniqueName } from '../helpers/nats-stream.js';
import { startPlatformBroker } from './platform-commands-helpers.js';

describe('JetStream ingress: redelivery', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'holdfast-ingress-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('consumer killed after the commit, before the ack; broker restarted on the same store: the redelivered message is not published again', async () => {
    const nc = await natsConnect(SHARED_NATS_URL);
    const stream = uniqueName('HFRE');
    const prefix = uniqueName('hfre').toLowerCase();
    await createStream(nc, stream, [`${prefix}.>`]);
    const file = join(dir, 'crash.db');
    const options = { name: 'redeliver', servers: [SHARED_NATS_URL], stream, ackWaitMs: 1000, mapping: { subjectPrefix: prefix } };
    try {
      // First life: the first batch is published and committed, then the process "dies" before acking.
      const pb1 = await startPlatformBroker({ store: new SqliteStore({ file }) });
      const sub1 = await Subscriber.connect(pb1.port, 'in/#');
      const ing1 = new JetStreamIngress(options, { broker: pb1.broker, logger: silentLogger(), faults: { beforeAck: () => 'crash' } });
      const crashed = nextEvent(ing1, 'state', (e) => e.state === 'crashed');
      await ing1.start();
      const first = await jsPublish(nc, `${prefix}.in.a`, 'first'); // no Nats-Msg-Id: deduped by stream sequence
      await jsPublish(nc, `${prefix}.in.b`, 'second', { msgId: 'second' });
      await crashed;
      await sub1.waitFor(1);
      await ing1.stop();
      await sub1.close();
      await pb1.stop({ closePlatform: true });

      // Second life: a new broker on the same store file, a new ingress on the same durable consumer.
      const pb2 = await startPlatformBroker({ store: new SqliteStore({ file }) });
      const sub2 = await Subscriber.connect(pb2.port, 'in/#');
      const ing2 = new JetStreamIngress(options, { broker: pb2.broker, logger: silentLogger() });
      const duplicate = nextEvent(ing2, 'duplicate');
      await ing2.start();
      try {
        const dup = await duplicate; // delivered again after ack_wait (1 s)
        expect(dup.seq).toBe(first.seq);
        expect(dup.id).toMatch(/^seq:.+:\d+$/);
        const marker = nextEvent(ing2, 'processed', (e) => e.subject === `${prefix}.in.marker`);
        await jsPublish(nc, `${prefix}.in.marker`, 'marker', { msgId: 'marker' });
        await marker;
        await sub2.waitFor(sub1.payloads().includes('second') ? 1 : 2);
        const all = [...sub1.payloads(), ...sub2.payloads()].sort();
        expect(all).toEqual(['first', 'marker', 'second']); // each exactly once across both lives
        expect(sub1.payloads()[0]).toBe('first');
        const info = await (await nc.jetstreamManager()).consumers.info(stream, 'holdfast-ingress-redeliver');
        expect(info.num_ack_pending).toBe(0);
      } finally {
        await ing2.stop();
        await sub2.close();
        await pb2.stop({ closePlatform: true });
      }
    } finally {
      await deleteStream(nc, stream);
      await nc.close();
    }
  });

  it('NATS killed with messages in flight and restarted: every message reaches the MQTT subscriber exactly once', async () => {
    const nats = await PrivateNats.start();
    let nc: NatsConnection | undefined = await natsConnect(nats.url);
    const pb = await startPlatformBroker();
    const sub = await Subscriber.connect(pb.port, 'out/#');
    const ing = new JetStreamIngress(
      { name: 'outage', servers: [nats.url], stream: 'INGRESS', ackWaitMs: 1000, reconnectTimeWaitMs: 100, batchSize: 10, mapping: { subjectPrefix: 'in' } },
      { broker: pb.broker, logger: silentLogger() },
    );
    try {
      await createStream(nc, 'INGRESS', ['in.>']);
      const consuming = nextEvent(ing, 'state', (e) => e.state === 'consuming');
      await ing.start();
      await consuming;
      const total = 400;
      for (let k = 0; k < total / 2; k++) await jsPublish(nc, `in.out.d${k % 5}`, `m${k}`, { msgId: `m${k}` });
      await sub.waitFor(20);
      await nats.stop('SIGKILL');
      await nc.close().catch(() => undefined);
      await nats.restart();
      nc = await natsConnect(nats.url);
      for (let k = total / 2; k < total; k++) await jsPublish(nc, `in.out.d${k % 5}`, `m${k}`, { msgId: `m${k}` });
      await sub.waitFor(total, 30_000);
      // Anything delivered twice would have arrived by now too: the consumer has nothing left unacked.
      const jsm = await nc.jetstreamManager();
      const until = Date.now() + 10_000;
      for (;;) {
        const info = await jsm.consumers.info('INGRESS', 'holdfast-ingress-outage');
        if (info.num_ack_pending === 0 && info.num_pending === 0) break;
        if (Date.now() > until) throw new Error(`consumer still has work: ${JSON.stringify(info)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      // A last message through the same path: everything published before it has been received.
      await jsPublish(nc, 'in.out.end', 'end', { msgId: 'end' });
      await sub.waitFor(total + 1, 10_000);
      while (!sub.payloads().includes('end')) await sub.waitFor(sub.messages.length + 1, 10_000);
      const payloads = sub.payloads().filter((p) => p !== 'end');
      expect(new Set(payloads).size).toBe(payloads.length);
      expect(payloads.length).toBe(total);
    } finally {
      await ing.stop();
      await sub.close();
      await pb.stop({ closePlatform: true });
      await nc?.close().catch(() => undefined);
      await nats.dispose();
    }
  }, 90_000);
});
