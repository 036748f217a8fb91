/**
 * Retained messages at scale (issue 4): 100,000 retained messages (published over MQTT,
 * stored in SQLite), then a subscribe to `#`: all arrive, at QoS 0 and at QoS 1 with a
 * small Receive Maximum, delivered in batches without blocking the event loop for more
 * than 50 ms at a time. The broker runs in this process, so the event loop measured here
 * (see lagMonitor) is the broker's; the test client's own decoding is included, which only
 * makes the bound stricter.
 * The QoS 1 run happens after a restart on the same file: the 100,000 come back from disk.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { publishMany, seqOf, seqPayload, StoreClient } from '../helpers/store-clients.js';
import { removeDir, sqliteAt, startStoreBroker, storeTempDir, type StoreBroker } from '../helpers/store-fixtures.js';

const N = 100_000;
const MAX_LAG_MS = 50;

const dir = storeTempDir('holdfast-retained-');
let b: StoreBroker | undefined;
afterAll(async () => {
  await b?.stop();
  removeDir(dir);
});

/**
 * Two views of event-loop blocking while the retained messages flow:
 * - monitorEventLoopDelay (resolution 10 ms): the wall-clock gap between ticks. It bounds any block from above, but
 *   on this shared 2-core machine (load average often > 4 while other engineers' tests run) it also counts the
 *   time the OS did not schedule the process at all (seen: 500 ms gaps with 17 ms of work in them).
 * - a 5 ms interval that also reads process.cpuUsage(): for each gap between ticks, min(wall, CPU used by the
 *   process) is the work done without yielding, i.e. how long the loop would be blocked on an idle core. That is
 *   what "blocked by the broker" means and what is asserted; the wall-clock figures are recorded next to it.
 *   (Checked: a synchronous loop of ~80 ms of CPU shows as ~81 ms here, whatever the load.)
 */
function lagMonitor(): { stop(): { eldMaxMs: number; eldP99Ms: number; maxBusyMs: number; maxWallGapMs: number } } {
  const h: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  let lastWall = performance.now();
  let lastCpu = process.cpuUsage();
  let maxBusyMs = 0;
  let maxWallGapMs = 0;
  const timer = setInterval(() => {
    const wall = performance.now();
    const cpu = process.cpuUsage();
    const wallGap = wall - lastWall;
    const cpuGap = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000;
    lastWall = wall;
    lastCpu = cpu;
    maxWallGapMs = Math.max(maxWallGapMs, wallGap);
    maxBusyMs = Math.max(maxBusyMs, Math.min(wallGap, cpuGap));
  }, 5);
  return {
    stop() {
      clearInterval(timer);
      h.disable();
      return { eldMaxMs: h.max / 1e6, eldP99Ms: h.percentile(99) / 1e6, maxBusyMs, maxWallGapMs };
    },
  };
}

interface RunResult {
  count: number;
  distinct: number;
  notRetained: number;
  wrongQos: number;
  ms: number;
  lag: ReturnType<ReturnType<typeof lagMonitor>['stop']>;
}

async function subscribeAll(port: number, qos: 0 | 1, receiveMaximum?: number): Promise<RunResult> {
  const seen = new Set<number>();
  let notRetained = 0;
  let wrongQos = 0;
  const { client } = await StoreClient.connect(
    port,
    5,
    { clientId: `all-${qos}`, ...(receiveMaximum !== undefined ? { properties: { receiveMaximum } } : {}) },
    {
      record: false,
      onPublish: (p) => {
        seen.add(seqOf(p.payload));
        if (!p.retain) notRetained++; // MQTT-3.3.1-8
        if (p.qos !== qos) wrongQos++;
      },
    },
  );
  const lag = lagMonitor();
  const t0 = Date.now();
  const suback = client.subscribe('#', qos);
  await client.waitUntil(() => client.publishCount >= N, 60_000, `${N} retained messages at QoS ${qos}`);
  const ms = Date.now() - t0;
  const lagResult = lag.stop();
  expect(await suback).toEqual([qos]);
  await client.ping();
  const count = client.publishCount;
  client.disconnect();
  return { count, distinct: seen.size, notRetained, wrongQos, ms, lag: lagResult };
}

const lagText = (r: RunResult): string =>
  `event loop: longest busy stretch ${r.lag.maxBusyMs.toFixed(1)} ms (CPU-attributed), monitorEventLoopDelay max ${r.lag.eldMaxMs.toFixed(1)} ms / p99 ${r.lag.eldP99Ms.toFixed(1)} ms, longest wall gap ${r.lag.maxWallGapMs.toFixed(1)} ms`;

describe('retained messages at scale', () => {
  it(`MQTT-3.3.1-9 a subscribe to # over ${N.toLocaleString('en')} retained messages: all arrive (QoS 0), the event loop never blocked > ${MAX_LAG_MS} ms`, async () => {
    b = await startStoreBroker({ store: sqliteAt(dir) });
    const { client: pub } = await StoreClient.connect(b.port, 5, { clientId: 'ret-pub' }, { record: false });
    const t0 = Date.now();
    expect(await publishMany(pub, N, (i) => ({ topic: `ret/${i % 100}/${i}`, payload: seqPayload(i, 32), retain: true }), 1000)).toBe(0);
    pub.disconnect();
    expect(b.broker.router.retained.size).toBe(N);
    const r = await subscribeAll(b.port, 0);
    console.log(`[retained-scale] published ${N} retained in ${Date.now() - t0 - r.ms} ms; QoS 0: ${r.count} in ${r.ms} ms; ${lagText(r)}`);
    expect(r.count).toBe(N);
    expect(r.distinct).toBe(N);
    expect(r.notRetained).toBe(0);
    expect(r.wrongQos).toBe(0);
    expect(r.lag.maxBusyMs).toBeLessThan(MAX_LAG_MS);
  }, 60_000);

  it(`after a restart on the same file, a subscribe to # at QoS 1 with Receive Maximum 20 gets all ${N.toLocaleString('en')}, the event loop never blocked > ${MAX_LAG_MS} ms`, async () => {
    await b!.stop();
    const t0 = Date.now();
    b = await startStoreBroker({ store: sqliteAt(dir) });
    const startMs = Date.now() - t0;
    expect(b.broker.router.retained.size).toBe(N);
    const r = await subscribeAll(b.port, 1, 20);
    console.log(`[retained-scale] restart with ${N} retained in ${startMs} ms; QoS 1 (Receive Maximum 20): ${r.count} in ${r.ms} ms; ${lagText(r)}`);
    expect(r.count).toBe(N);
    expect(r.distinct).toBe(N);
    expect(r.notRetained).toBe(0);
    expect(r.wrongQos).toBe(0);
    expect(r.lag.maxBusyMs).toBeLessThan(MAX_LAG_MS);
  }, 60_000);
});
