/**
 * Issue 6: "Per-client publish rate and bytes-per-second limits, with throttling (stop
 * reading) as the default and disconnect as an option" (the publish rate here; bytes per
 * second: ratelimit-bytes.test.ts), checked as "a publisher flooding at
 * 10x its limit is throttled while a well-behaved client on the same broker keeps its normal
 * latency". Disconnect: MQTT5 3.14.2.1 reason 0x96 Message rate too high; 3.1.1 has no
 * DISCONNECT from the server: the connection is closed (MQTT-4.8.0-1 style).
 *
 * Clients are raw sockets in this process; the flooder writes pre-encoded PUBLISH packets
 * on a 10 ms timer. Throttling means the broker stops reading, so nothing is dropped: the
 * flooder's excess waits in socket buffers, and what the subscriber receives per second is
 * the rate the broker admitted.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encode, type Packet } from '../../src/codec/mqtt/index.js';
import { RC } from '../../src/codec/mqtt/reason-codes.js';
import type { TestBroker } from '../helpers/broker.js';
import type { RawClient } from '../helpers/raw-client.js';
import { startResilienceBroker, waitUntil } from '../helpers/resilience-broker.js';
import { publishes, qos0, rateOver, Scope, subscribe } from '../helpers/resilience-clients.js';

let b: TestBroker | undefined;
const scope = new Scope();
afterEach(async () => {
  scope.cleanup();
  await b?.stop();
  b = undefined;
});

const connected = (port: number, version: 4 | 5, clientId: string): Promise<RawClient> => scope.connected(port, version, clientId);

/** Round trips of a QoS 0 publish to the client's own subscription, one every ~10 ms. Returns them in ms, sorted. */
async function roundTrips(c: RawClient, topic: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    c.send({ type: 3, topic, payload: Buffer.from(String(i)), qos: 0, retain: false, dup: false } as Packet);
    await c.next(3, 5000);
    out.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 10)); // pacing (about 50-100 round trips/s), not synchronisation
  }
  return out.sort((x, y) => x - y);
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

describe('per-client rate limits (issue 6)', () => {
  it(
    'clientLimits.publishRatePerS: a publisher flooding at 10x its limit (2,000/s vs 200/s) is throttled to ~200/s, nothing dropped, ' +
      'while a well-behaved client on the same broker keeps its normal round-trip latency',
    async () => {
      const LIMIT = 200;
      b = await startResilienceBroker({ config: { clientLimits: { publishRatePerS: LIMIT, publishBurst: 50 } } });
      const sub = await connected(b.port, 5, 'flood-watcher');
      await subscribe(sub, 'flood/x');
      const good = await connected(b.port, 5, 'good');
      await subscribe(good, 'echo/good');

      // Normal latency first (and a warm-up: the first round trips pay for JIT compilation).
      await roundTrips(good, 'echo/good', 30);
      const before = await roundTrips(good, 'echo/good', 150);

      const flooder = await connected(b.port, 4, 'flooder');
      const sent = scope.flood(flooder, qos0('flood/x', Buffer.alloc(16, 1)), 20);
      const broker = b.broker;
      await waitUntil(() => broker.stats.rateLimited > 0, 'the flooder to be throttled');
      // Measured while the good client runs its round trips.
      const [during, achieved] = await Promise.all([
        roundTrips(good, 'echo/good', 150),
        rateOver(() => publishes(sub, 'flood/x'), 2500),
      ]);
      const written = sent.written; // so far: over ~2.5 s plus the time until the throttle began
      console.log(
        `[ratelimit] flooder achieved ${achieved.perS.toFixed(0)}/s (${achieved.n} in ${achieved.ms.toFixed(0)} ms; ${written} written in all); ` +
          `good client round trip p50/p99 before ${pct(before, 50).toFixed(2)}/${pct(before, 99).toFixed(2)} ms, during ${pct(during, 50).toFixed(
            2,
          )}/${pct(during, 99).toFixed(2)} ms; throttle pauses ${broker.stats.rateLimited}`,
      );
      // ~200/s: the bucket was empty when the window began (throttled), so the window admits RATE x T,
      // +-15 % for the 250 ms sweep-free timers and scheduling on this shared machine.
      expect(achieved.perS).toBeGreaterThan(LIMIT * 0.85);
      expect(achieved.perS).toBeLessThan(LIMIT * 1.15);
      // Offered far more than that: the flooder really flooded.
      expect(written).toBeGreaterThan(achieved.n * 5);
      // Latency: the throttled flooder costs the broker 200 small publishes/s plus a timer per pause,
      // which must not show in anyone else's latency. A throttle that held up the loop or other sockets
      // (a pause is ~5 ms, 1/200 s, every message) would move the median by milliseconds: the median may
      // at most double (+1 ms). The p99 of 150 samples is their second worst, so a single scheduler
      // hiccup on this shared machine (seen: 10-30 ms at load average 5-9) moves it: it gets 2x + 10 ms.
      expect(pct(during, 50)).toBeLessThan(pct(before, 50) * 2 + 1);
      expect(pct(during, 99)).toBeLessThan(pct(before, 99) * 2 + 10);
      // Throttled (the default), not dropped or disconnected: the excess waits in the socket buffers.
      expect([...broker.stats.messagesDropped.values()].reduce((a, x) => a + x, 0)).toBe(0);
      expect(flooder.closed).toBe(false);
    },
    40_000,
  );

  it('MQTT5 3.14.2.1 clientLimits.onExceed disconnect: a v5 publisher over its rate gets DISCONNECT 0x96 (Message rate too high) with a Reason String; a 3.1.1 one is closed', async () => {
    b = await startResilienceBroker({ config: { clientLimits: { publishRatePerS: 10, publishBurst: 5, onExceed: 'disconnect' } } });
    const sub = await connected(b.port, 5, 'watcher');
    await subscribe(sub, 'burst/#');
    const v5 = await connected(b.port, 5, 'burst-v5');
    const one = encode({ type: 3, topic: 'burst/v5', payload: Buffer.from('x'), qos: 0, retain: false, dup: false } as Packet, 5);
    v5.send(Buffer.concat(Array.from({ length: 20 }, () => one)));
    const d = await v5.next(14);
    expect(d).toMatchObject({ type: 14, reasonCode: RC.MESSAGE_RATE_TOO_HIGH });
    expect((d as { properties?: { reasonString?: string } }).properties?.reasonString).toBe('Over the limit of publishes per second');
    await v5.waitClosed();

    const v3 = await connected(b.port, 4, 'burst-v311');
    const one3 = encode({ type: 3, topic: 'burst/v3', payload: Buffer.from('x'), qos: 0, retain: false, dup: false } as Packet, 4);
    v3.send(Buffer.concat(Array.from({ length: 20 }, () => one3)));
    await v3.waitClosed();
    expect(v3.packets.filter((p) => p.type === 14)).toEqual([]); // no DISCONNECT in 3.1.1
    // The others stay: the watcher's session is untouched.
    sub.send({ type: 12 } as Packet);
    await sub.next(13);
    expect(b.broker.stats.rateLimited).toBeGreaterThanOrEqual(2);
  });
});
