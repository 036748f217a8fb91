/**
 * Issue 6: "Per-client ... bytes-per-second limits, with throttling (stop reading) as the
 * default and disconnect as an option" (clientLimits.bytesPerS / bytesBurst / onExceed).
 * Disconnect: MQTT5 3.14.2.1 reason 0x96 Message rate too high.
 *
 * Throttling stops reading the socket for as long as the client is in debt
 * (src/broker/transport/connection.ts onData/throttle). A throttled client is still sending:
 * it must not be taken for a silent one by the Keep Alive check (MQTT-3.1.2-24 is about a
 * client that sends nothing for 1.5 x Keep Alive).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Packet } from '../../src/codec/mqtt/packets.js';
import { RC } from '../../src/codec/mqtt/reason-codes.js';
import type { TestBroker } from '../helpers/broker.js';
import { startResilienceBroker, waitUntil } from '../helpers/resilience-broker.js';
import { qos0, rateOver, Scope } from '../helpers/resilience-clients.js';

let b: TestBroker | undefined;
const scope = new Scope();
afterEach(async () => {
  scope.cleanup();
  await b?.stop();
  b = undefined;
});

describe('per-client byte rate (issue 6)', () => {
  it('clientLimits.bytesPerS: a publisher sending 10x its byte rate is read at ~its byte rate', async () => {
    const LIMIT = 200_000; // bytes/s; high enough that one 64 KiB socket read is a small part of the window
    b = await startResilienceBroker({ config: { clientLimits: { bytesPerS: LIMIT, bytesBurst: 20_000 } } });
    const broker = b.broker;
    const flooder = await scope.connected(b.port, 4, 'byte-flooder');
    // 40 x ~520 bytes every 10 ms: ~2.1 MB/s, ~10x the limit.
    scope.flood(flooder, qos0('bytes/x', Buffer.alloc(512, 7)), 40);
    await waitUntil(() => broker.stats.rateLimited > 0, 'the byte limit to throttle');
    const r = await rateOver(() => broker.stats.bytesIn, 3000);
    console.log(`[ratelimit-bytes] read from the flooder ${r.perS.toFixed(0)} B/s (${r.n} in ${r.ms.toFixed(0)} ms), limit ${LIMIT} B/s`);
    // The throttle pauses after a read that puts the client in debt, so a window can hold up to one
    // extra socket read (64 KiB) on top of RATE x T, and lose up to one at its start: over 3 s about 11 %.
    expect(r.perS).toBeGreaterThan(LIMIT * 0.8);
    expect(r.perS).toBeLessThan(LIMIT * 1.25);
    expect(flooder.closed).toBe(false);
  });

  it('MQTT5 3.14.2.1 clientLimits.bytesPerS with onExceed disconnect: DISCONNECT 0x96 with a Reason String', async () => {
    b = await startResilienceBroker({ config: { clientLimits: { bytesPerS: 1000, bytesBurst: 1000, onExceed: 'disconnect' } } });
    const c = await scope.connected(b.port, 5, 'bytes-v5');
    c.send(qos0('big', Buffer.alloc(4000, 1)) as Packet);
    const d = await c.next(14);
    expect(d).toMatchObject({ type: 14, reasonCode: RC.MESSAGE_RATE_TOO_HIGH });
    expect((d as { properties?: { reasonString?: string } }).properties?.reasonString).toBe('Over the limit of bytes per second');
    await c.waitClosed();
  });

  it('MQTT-3.1.2-24 a client throttled by clientLimits.bytesPerS keeps sending: it is not disconnected for Keep Alive while the broker holds its input', async () => {
    b = await startResilienceBroker({ config: { clientLimits: { bytesPerS: 10_000, bytesBurst: 2000 } } });
    const broker = b.broker;
    // Keep Alive 1 s: disconnected after 1.5 s of silence. It is not silent: ~100 KB/s, 10x its byte rate.
    const flooder = await scope.connected(b.port, 5, 'slow-lane', 1);
    scope.flood(flooder, qos0('lane/x', Buffer.alloc(500, 3)), 2);
    await waitUntil(() => broker.stats.rateLimited > 0, 'the byte limit to throttle');
    // The clock: a client that really is silent, with a longer Keep Alive (4 s: closed after 6 s).
    const silent = await scope.connected(b.port, 5, 'silent', 4);
    const gone = await silent.next(14, 15_000);
    expect(gone).toMatchObject({ type: 14, reasonCode: RC.KEEP_ALIVE_TIMEOUT });
    // By then the throttled client would have been closed too if its held input counted as silence.
    expect(flooder.packets.filter((p) => p.type === 14), `read ${broker.stats.bytesIn} bytes in all`).toEqual([]);
    expect(flooder.closed).toBe(false);
  });
});
