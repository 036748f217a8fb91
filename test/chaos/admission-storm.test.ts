/**
 * Issue 6, "How it is checked": a storm of 5,000 connects at once against a limit of 500/s
 * is admitted at that rate with every refused client told why, and the broker's event loop
 * lag stays under 100 ms.
 *
 * The clients are the C load generator (bench/loadgen/loadgen.c, storm mode) in a child
 * process: all 5,000 sockets are opened at once; a client refused with a CONNACK reason
 * code reconnects after a random 1-3 s (a device fleet after a power cut), until the storm
 * window (6 s) closes. The broker runs in this process, so the lag measured here is the
 * broker's (the clients' work is in the child).
 *
 * How "admitted at that rate" is judged: on the broker's own decisions, with their times
 * (recordAdmissions wraps broker.admission.onAccept; the decision is taken at accept). The
 * listener's token bucket (capacity BURST, RATE per second, created at the first accept)
 * guarantees, whatever the load on the machine:
 * - from the first decision on, at most BURST + RATE x T admissions in T (+1 for the ms clock);
 * - at each refusal it holds less than one token, so between the first and the last refusal
 *   (a span D) it admits RATE x D, +-1 for the token fractions and +1 for the ms clock, minus
 *   refill lost while it sat full, which only happens when no client arrives for more than
 *   BURST / RATE = 0.5 s. Thousands of clients retry every 1-3 s, so demand never pauses that
 *   long: the test asserts at least 90 % of RATE x D (the 10 % is for demand gaps on a badly
 *   overloaded machine) and at most RATE x D + 2.
 * What the clients saw is printed as a timeline (CONNACKs per 100 ms); it is not asserted on
 * for the rate because the time a CONNACK takes to reach the client (the broker reads the
 * CONNECT and writes the answer after the accept-time decision) varies with the machine's load:
 * at load average 9 the first answers of the first wave arrived 2.2 s into the storm, all at once.
 *
 * "Every refused client told why": every attempt ends with a CONNACK; none is closed, reset
 * or left waiting without one (the load generator counts those as no_connack), and the
 * refusal code is exactly 0x9F (v5) / 0x03 (3.1.1), each one counted by the broker.
 *
 * Lag: measured as test/integration/store-retained-scale.test.ts does (see lagMonitor in
 * test/helpers/resilience-broker.ts): asserted on the CPU-attributed longest busy stretch,
 * because on this shared 2-core machine the wall-clock delay also counts the time the OS
 * did not run the process; the wall-clock figures are printed next to it.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CONNACK_V3, RC } from '../../src/codec/mqtt/reason-codes.js';
import type { TestBroker } from '../helpers/broker.js';
import { lagMonitor, lagText, recordAdmissions, startResilienceBroker } from '../helpers/resilience-broker.js';
import { ensureLoadgen, runStorm, type StormResult } from '../helpers/resilience-loadgen.js';

const RATE = 500;
const BURST = 250;
const MAX_LAG_MS = 100;

let b: TestBroker | undefined;
beforeAll(() => {
  ensureLoadgen(); // a compile, if needed, must not count as the broker's lag
});
afterEach(async () => {
  await b?.stop();
  b = undefined;
});

function describeStorm(r: StormResult): string {
  return (
    `${r.attempts} attempts, ${r.ok} admitted (first at ${r.admitted_first_ms.toFixed(0)} ms, last at ${r.admitted_last_ms.toFixed(0)} ms), ` +
    `codes ${JSON.stringify(r.connack_codes)}, no CONNACK ${r.no_connack}, gave up ${r.gave_up}, failures ${JSON.stringify(r.failures)}, ` +
    `admitted connect p50 ${r.admitted_connect_p50_ms?.toFixed(1)} ms p99 ${r.admitted_connect_p99_ms?.toFixed(1)} ms, ` +
    `refused p99 ${r.refused_connect_p99_ms?.toFixed(1)} ms, loadgen cpu ${(r.loadgen_cpu_util * 100).toFixed(0)}%\n` +
    `  admitted per ${r.timeline_ms} ms: ${r.timeline_ok.join(' ')}\n  refused per ${r.timeline_ms} ms: ${r.timeline_refused.join(' ')}`
  );
}

describe('connection admission under a reconnect storm (issue 6)', () => {
  it(
    `a storm of 5,000 MQTT 5 connects at once against a limit of ${RATE}/s (burst ${BURST}) is admitted at that rate, every refused attempt ` +
      `gets CONNACK 0x9F, and the event loop is never blocked for ${MAX_LAG_MS} ms`,
    async () => {
      b = await startResilienceBroker({
        config: { admission: { connectRatePerListenerPerS: RATE, connectBurstPerListener: BURST } },
        backlog: 8192, // holdfast's default listeners.backlog (the kernel caps it at net.core.somaxconn)
      });
      const STORM_S = 6;
      const decisions = recordAdmissions(b.broker);
      const lag = lagMonitor();
      const r = await runStorm({ port: b.port, connections: 5000, mqtt: 5, retryMs: 1000, retryMaxMs: 3000, stormS: STORM_S, timeoutS: 20 });
      const l = lag.stop();
      console.log(`[admission-storm] ${describeStorm(r)}\n  ${lagText(l)}`);

      // Every attempt was answered with a CONNACK: 0x00 or 0x9F, nothing else, no silent close.
      expect(r.no_connack).toBe(0);
      expect(r.failures).toEqual({});
      const refused = r.connack_codes[String(RC.CONNECTION_RATE_EXCEEDED)] ?? 0;
      expect(Object.keys(r.connack_codes).sort()).toEqual(['0', String(RC.CONNECTION_RATE_EXCEEDED)].sort());
      expect(r.connack_codes['0']).toBe(r.ok);
      expect(r.ok + refused).toBe(r.attempts);
      expect(r.ok + r.gave_up).toBe(5000);
      // The broker's own count of rate refusals, and of accepted connections, agree.
      expect(b.broker.admission.refused.get('listener-rate')).toBe(refused);
      expect(b.broker.stats.connectionsAccepted).toBe(r.ok);

      // Admitted at the rate, judged on the broker's decisions (see the top of the file).
      expect(decisions.length).toBe(r.attempts);
      const t0 = decisions[0].at;
      const refusals = decisions.filter((d) => d.cause !== undefined);
      expect(refusals.every((d) => d.cause === 'listener-rate')).toBe(true);
      const T = (decisions[decisions.length - 1].at - t0) / 1000;
      expect(r.ok).toBeLessThanOrEqual(BURST + RATE * T + 1);
      const firstIdx = decisions.findIndex((d) => d.cause !== undefined);
      const lastIdx = decisions.findLastIndex((d) => d.cause !== undefined);
      const first = decisions[firstIdx].at;
      const D = (decisions[lastIdx].at - first) / 1000;
      const admittedIn = (from: number, to: number): number => decisions.slice(from, to).filter((d) => d.cause === undefined).length;
      const between = admittedIn(firstIdx + 1, lastIdx);
      const beforeFirstRefusal = admittedIn(0, firstIdx);
      console.log(
        `[admission-storm] broker decisions: ${decisions.length} over ${T.toFixed(2)} s; ${beforeFirstRefusal} admitted before the first refusal ` +
          `(burst ${BURST}); ${between} admitted in the ${D.toFixed(2)} s between the first and the last refusal = ${(between / D).toFixed(1)}/s`,
      );
      expect(D).toBeGreaterThan(3); // the storm really kept the limiter busy for most of its 6 s
      expect(between).toBeLessThanOrEqual(RATE * D + 2);
      expect(between).toBeGreaterThanOrEqual(RATE * D * 0.9);
      expect(beforeFirstRefusal).toBeGreaterThanOrEqual(BURST);
      expect(beforeFirstRefusal).toBeLessThanOrEqual(BURST + RATE * ((first - t0) / 1000) + 1);

      expect(l.maxBusyMs).toBeLessThan(MAX_LAG_MS);
    },
    40_000,
  );

  it(
    `MQTT 3.1.1: 1,000 connects at once against ${RATE}/s (burst ${BURST}): the refused ones get CONNACK 0x03 (Server unavailable), none is dropped, ` +
      'and no more than the bucket allows are admitted',
    async () => {
      b = await startResilienceBroker({
        config: { admission: { connectRatePerListenerPerS: RATE, connectBurstPerListener: BURST } },
        backlog: 8192,
      });
      const decisions = recordAdmissions(b.broker);
      const r = await runStorm({ port: b.port, connections: 1000, mqtt: 4, timeoutS: 15 });
      console.log(`[admission-storm 3.1.1] ${describeStorm(r)}`);
      expect(r.no_connack).toBe(0);
      const refused = r.connack_codes[String(CONNACK_V3.SERVER_UNAVAILABLE)] ?? 0;
      expect(Object.keys(r.connack_codes).sort()).toEqual(['0', String(CONNACK_V3.SERVER_UNAVAILABLE)].sort());
      expect(r.ok + refused).toBe(1000);
      expect(r.failures).toEqual({ connack_refused: refused });
      expect(b.broker.admission.refused.get('listener-rate')).toBe(refused);
      // No retries: the storm lasts as long as the arrivals take. A full bucket at the start, then the rate.
      const T = (decisions[decisions.length - 1].at - decisions[0].at) / 1000;
      expect(r.ok).toBeGreaterThanOrEqual(BURST);
      expect(r.ok).toBeLessThanOrEqual(BURST + RATE * T + 1);
    },
    30_000,
  );
});
