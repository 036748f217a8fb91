/**
 * The issue's test: "one subscriber that never reads and one fast one; the fast one
 * receives every message and the broker's memory stays bounded".
 *
 * A raw TCP subscriber subscribes and then never reads again (socket.pause()); an MQTT.js
 * subscriber reads as fast as it can; a raw publisher pushes 1 KiB messages as fast as the
 * broker takes them. Publisher and fast subscriber run in a child process
 * (test/fixtures/load/flood-client.mjs) so that the memory measured here is the broker's.
 * The stalled subscriber must not hold back the fast one (every message arrives, in
 * order), must be cut off as a slow consumer (v5 DISCONNECT 0x97, counted), what it could
 * not take is counted as dropped, and the broker's memory stays bounded.
 *
 * Memory bound: with outboundHighWaterBytes = 64 KiB and maxQueuedMessages = 100, what the
 * broker may hold for the stalled subscriber is about HWM + one routing turn (one 64 KiB
 * read from the publisher) + 100 queued messages: well under 1 MiB. The kernel's socket
 * buffers (up to several MiB on loopback) are not in the process. A broker that buffered
 * for the stalled socket would grow by the whole published volume (100 MB for QoS 0).
 * Retained memory (heap + external, sampled right after a forced GC) must grow by less
 * than 16 MB; RSS by less than 64 MB (RSS also holds V8's grown young generation and
 * malloc arenas after 100 MB of short-lived Buffers went through, which the OS does not
 * get back at once). Both fail by a wide margin if the broker buffers for the stalled
 * subscriber (about 90 MB more). Measured here: ~0.7 MB retained, 31-40 MB RSS; with the
 * high-water mark raised to 512 MB (unbounded buffering) 98 MB retained, 122 MB RSS.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RC } from '../../src/codec/mqtt/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { uniqueId } from '../helpers/transport-clients.js';
import { RawSubscriber } from '../helpers/transport-flood.js';
import { FloodChild } from '../helpers/transport-flood-child.js';
import { MemorySampler, MiB } from '../helpers/transport-memory.js';
import { waitUntil } from '../helpers/transport-wait.js';

const KIB = 1024;
const DRAIN_TIMEOUT_MS = 1_000;
const STALL_DETECT_MS = 300;

let tb: TestBroker;
beforeAll(async () => {
  tb = await startTestBroker({
    config: {
      limits: { outboundHighWaterBytes: 64 * KIB, drainTimeoutMs: DRAIN_TIMEOUT_MS, stallDetectMs: STALL_DETECT_MS },
      session: { maxQueuedMessages: 100 },
      mqtt: { maxInflightMessages: 64 },
    },
  });
});
afterAll(async () => {
  await tb.stop();
});

const cleanup: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

function totalDropped(): number {
  let n = 0;
  for (const v of tb.broker.stats.messagesDropped.values()) n += v;
  return n;
}

async function stalledSubscriber(topic: string, qos: 0 | 1): Promise<string> {
  const id = uniqueId(`stalled-q${qos}`);
  const s = await RawSubscriber.subscribe(tb.port, 5, id, topic, qos);
  s.stall();
  cleanup.push(() => s.close());
  return id;
}

async function floodChild(topic: string, count: number, qos: 0 | 1): Promise<FloodChild> {
  const child = await FloodChild.start({
    port: tb.port,
    topic,
    count,
    size: KIB,
    qos,
    window: 128,
    subscriberId: uniqueId('fast'),
    publisherId: uniqueId('pub'),
  });
  cleanup.push(() => child.stop());
  return child;
}

describe('chaos: slow consumer', () => {
  it('MQTT5 4.9 MQTT-4.6.0-6 QoS 0: a subscriber that never reads is cut off (0x97); the fast one gets all 100,000 in order; memory bounded', async () => {
    const COUNT = 100_000;
    const topic = 'flood/q0';
    const stats = tb.broker.stats;
    const baselineConnections = tb.broker.connections.size;
    const slowBefore = stats.slowConsumersDisconnected;
    const q97Before = stats.serverReasonCodes.get(RC.QUOTA_EXCEEDED) ?? 0;
    const droppedBefore = totalDropped();

    const stalledId = await stalledSubscriber(topic, 0);
    const load = await floodChild(topic, COUNT, 0);

    const mem = new MemorySampler({ live: true }).start();
    const published = await load.publish(30_000);
    const received = await load.received(30_000);
    const peak = mem.stop();

    // The fast subscriber got every message, in order (MQTT-4.6.0-6: same topic, same publisher).
    expect(received.count).toBe(COUNT);
    expect(received.firstBad).toBe(-1);
    expect(load.lostConnection).toBe(false);
    expect(published.refused).toBe(0);

    // The stalled one was disconnected as a slow consumer: 0x97 Quota exceeded (MQTT5 3.14.2.1).
    await waitUntil(() => stats.slowConsumersDisconnected > slowBefore, 10_000, 'a slow-consumer disconnect');
    expect((stats.serverReasonCodes.get(RC.QUOTA_EXCEEDED) ?? 0) - q97Before).toBeGreaterThanOrEqual(1);
    expect(stats.connectionsClosed.get('slow-consumer') ?? 0).toBeGreaterThanOrEqual(1);
    expect(tb.broker.sessions.has(stalledId)).toBe(false); // its clean session ended with it
    // What it could not take was dropped, and counted.
    expect(stats.dropped('slow-consumer')).toBeGreaterThan(0);
    expect(totalDropped() - droppedBefore).toBeGreaterThan(0);

    // Bounded memory while 100 MB went through (see the header for the bounds).
    expect(peak.dataGrowth, `retained heap+external growth ${(peak.dataGrowth / MiB).toFixed(1)} MiB`).toBeLessThan(16 * MiB);
    expect(peak.rssGrowth, `RSS growth ${(peak.rssGrowth / MiB).toFixed(1)} MiB`).toBeLessThan(64 * MiB);

    // The broker also lets go of the unreadable socket (it cannot even flush the DISCONNECT to it).
    await load.stop();
    await waitUntil(() => tb.broker.connections.size === baselineConnections, 10_000, 'every connection to be freed', () => tb.broker.connections.size);
  }, 60_000);

  it('MQTT5 4.9 MQTT-4.3.2-2 (3.1.1 ownership on PUBACK) QoS 1: a stalled QoS 1 subscriber is cut off; every acknowledged message reaches the fast one, unthrottled', async () => {
    const COUNT = 20_000;
    const topic = 'flood/q1';
    const stats = tb.broker.stats;
    const slowBefore = stats.slowConsumersDisconnected;
    const droppedBefore = totalDropped();

    const stalledId = await stalledSubscriber(topic, 1);
    const load = await floodChild(topic, COUNT, 1);

    const mem = new MemorySampler({ live: true }).start();
    const published = await load.publish(45_000);
    const received = await load.received(30_000);
    const peak = mem.stop();

    // Nothing acknowledged is lost: every PUBACKed message reached the fast subscriber, in order.
    expect(published.refused).toBe(0);
    expect(published.acked).toBe(COUNT);
    expect(published.ackedInOrder).toBe(true); // MQTT-4.6.0-2: PUBACKs in PUBLISH order
    expect(received.count).toBe(COUNT);
    expect(received.firstBad).toBe(-1);
    expect(load.lostConnection).toBe(false);

    await waitUntil(() => stats.slowConsumersDisconnected > slowBefore, 10_000, 'a slow-consumer disconnect');
    expect(tb.broker.sessions.has(stalledId)).toBe(false);
    // The stalled session's overflow and leftovers were dropped and counted (queue-full / session-ended).
    expect(totalDropped() - droppedBefore).toBeGreaterThan(0);
    expect(peak.dataGrowth, `retained heap+external growth ${(peak.dataGrowth / MiB).toFixed(1)} MiB`).toBeLessThan(16 * MiB);

    // "One slow subscriber must never stall delivery to others": the stalled one may hold the
    // publisher back for about stallDetectMs / drainTimeoutMs, not for the whole run. Unthrottled,
    // 20,000 QoS 1 messages take 1-3 s here; 12 s leaves room for a busy machine.
    expect(received.ms, `20,000 QoS 1 messages took ${received.ms} ms to reach the fast subscriber`).toBeLessThan(12_000);
  }, 90_000);
});
