/**
 * Backpressure (ARCHITECTURE "overload is refused early and visibly"; MQTT5 4.9 flow
 * control): a publisher that publishes faster than a subscriber consumes is slowed down
 * (the broker stops reading it: broker.stats.backpressurePauses) instead of the broker
 * buffering without bound or dropping; a subscriber that reads, only slowly, is neither
 * disconnected nor loses anything, and nothing acknowledged with QoS 1 is lost.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { uniqueId } from '../helpers/transport-clients.js';
import { RawPublisher, RawSubscriber } from '../helpers/transport-flood.js';
import { waitUntil } from '../helpers/transport-wait.js';

const KIB = 1024;
const STALL_DETECT_MS = 1_000;

let tb: TestBroker;
beforeAll(async () => {
  tb = await startTestBroker({
    config: {
      limits: { outboundHighWaterBytes: 16 * KIB, drainTimeoutMs: 5_000, stallDetectMs: STALL_DETECT_MS },
      session: { maxQueuedMessages: 1_000 },
      mqtt: { maxInflightMessages: 32 },
    },
  });
});
afterAll(async () => {
  await tb.stop();
});

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

function snapshot() {
  const s = tb.broker.stats;
  let dropped = 0;
  for (const v of s.messagesDropped.values()) dropped += v;
  return { pauses: s.backpressurePauses, slow: s.slowConsumersDisconnected, dropped, drops: Object.fromEntries(s.messagesDropped) };
}

function expectAllInOrder(seqs: number[], count: number): void {
  expect(seqs.length).toBe(count);
  const firstBad = seqs.findIndex((s, i) => s !== i);
  expect(firstBad, `first missing / out-of-order index (got ${seqs[firstBad]})`).toBe(-1);
}

async function slowReader(topic: string, qos: 0 | 1, delayMs: number): Promise<RawSubscriber> {
  const sub = await RawSubscriber.subscribe(tb.port, 5, uniqueId(`slow-q${qos}`), topic, qos);
  sub.readSlowly(delayMs);
  cleanup.push(() => sub.close());
  return sub;
}

async function publisher(): Promise<RawPublisher> {
  const pub = await RawPublisher.connect(tb.port, 5, uniqueId('fast-pub'));
  cleanup.push(() => pub.close());
  return pub;
}

describe('chaos: backpressure', () => {
  it('MQTT5 4.9 MQTT-4.3.2-2 (3.1.1 ownership on PUBACK) QoS 1: a publisher faster than a slow (reading) subscriber is paused; nothing acknowledged is lost', async () => {
    const COUNT = 10_000;
    const before = snapshot();
    const sub = await slowReader('bp/q1', 1, 5);
    const pub = await publisher();

    await pub.publish('bp/q1', COUNT, KIB, 1, 256);
    expect(pub.refused).toEqual([]);
    expect(pub.acked.length).toBe(COUNT);
    await waitUntil(() => sub.received.length >= COUNT, 20_000, 'the slow subscriber to catch up', () => sub.received.length);

    const after = snapshot();
    expect(after.pauses - before.pauses, 'backpressure pauses of the publisher').toBeGreaterThan(0);
    // Slow but reading is not a slow consumer, and nothing was dropped for it.
    expect(after.slow - before.slow).toBe(0);
    expect(after.dropped - before.dropped, JSON.stringify(after.drops)).toBe(0);
    expect(sub.closed).toBe(false);
    expect(pub.closed).toBe(false);
    // Every acknowledged message arrived, once, in order.
    expectAllInOrder(sub.received, COUNT);
  }, 40_000);

  it('MQTT5 4.9 QoS 0: a slow (reading) subscriber slows the publisher down instead of losing messages', async () => {
    const COUNT = 10_000;
    const before = snapshot();
    const sub = await slowReader('bp/q0', 0, 5);
    const pub = await publisher();

    await pub.publish('bp/q0', COUNT, KIB, 0);
    await waitUntil(() => sub.received.length >= COUNT, 20_000, 'the slow subscriber to get everything', () => ({ got: sub.received.length, ...snapshot() }));

    const after = snapshot();
    expect(after.pauses - before.pauses).toBeGreaterThan(0);
    expect(after.slow - before.slow).toBe(0);
    expect(after.dropped - before.dropped, JSON.stringify(after.drops)).toBe(0);
    expectAllInOrder(sub.received, COUNT);
  }, 40_000);

  it('MQTT5 4.9 QoS 0: a subscriber idle for longer than stallDetectMs and then sent a burst is not treated as stalled', async () => {
    const BURST = 2_000;
    const sub = await slowReader('bp/burst', 0, 0);
    const pub = await publisher();
    const before = snapshot();
    // The subscriber is healthy but has had nothing to read for a while: an idle period has to elapse.
    const idleSince = Date.now();
    await waitUntil(() => Date.now() - idleSince > STALL_DETECT_MS + 200, STALL_DETECT_MS + 2_000, 'the idle period');

    await pub.publish('bp/burst', BURST, KIB, 0);
    // Done when everything arrived, or as soon as the broker dropped something (the failure).
    await waitUntil(
      () => sub.received.length >= BURST || snapshot().dropped > before.dropped,
      10_000,
      'the burst to arrive',
      () => ({ got: sub.received.length, ...snapshot() }),
    );

    const after = snapshot();
    expect(after.dropped - before.dropped, JSON.stringify(after.drops)).toBe(0);
    expectAllInOrder(sub.received, BURST);
  }, 30_000);
});
