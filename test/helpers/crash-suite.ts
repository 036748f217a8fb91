/**
 * The crash test suite of issue 4, shared by test/chaos/crash-kill9.test.ts (SIGKILL) and
 * test/chaos/crash-sigterm.test.ts (SIGTERM): several rounds of "publish, signal the broker
 * at a random moment, restart it on the same data dir", then the offline persistent
 * subscribers drain, and one test per invariant.
 *
 * The invariants (see crash-ledger.ts for why exactly these):
 * - QoS 1: every message whose PUBACK the publisher saw reaches every persistent subscriber
 *   at least once; duplicates are allowed and counted.
 * - QoS 2: every message whose PUBREC the publisher saw arrives exactly once; no QoS 2
 *   message (acknowledged or not) arrives twice.
 * - Nothing arrives that was not published; per publisher the messages arrive in order.
 * - Retained: after every restart each topic's retained value is one that was published
 *   and at least the last acknowledged one.
 * - Persistent sessions and their subscriptions survive: session present = 1 after each
 *   restart, and a subscriber that subscribed before the first kill receives after every
 *   restart without subscribing again.
 * - SIGTERM: a graceful stop, exit code 0, and the same guarantees.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../cli/helpers.js';
import { CrashHarness, crashSeed, OFFLINE_SUBSCRIBERS, type CrashSignal, type RoundResult } from './crash-harness.js';
import { checkDeliveries, type DeliveryReport, type Inbox } from './crash-ledger.js';

interface Restart {
  round: number;
  restored: Record<string, unknown>;
  liveSessionPresent: boolean;
  probe: string | undefined;
  retainedProblems: string[];
}

interface Outcome {
  rounds: RoundResult[];
  restarts: Restart[];
  drained: Array<{ clientId: string; sessionPresent: boolean; inbox: Inbox; report: DeliveryReport }>;
}

const sample = (xs: readonly string[]): string => (xs.length === 0 ? '' : ` e.g. ${xs.slice(0, 8).join(', ')}`);

export function defineCrashSuite(signal: CrashSignal, rounds: number): void {
  const tag = signal === 'SIGKILL' ? 'kill -9' : 'SIGTERM';
  const seed = crashSeed();
  let h: CrashHarness | undefined;
  let outcome: Outcome | undefined;

  beforeAll(ensureBuilt, 180_000);
  beforeAll(async () => {
    console.log(`[crash ${tag}] seed ${seed} (repeat with CRASH_SEED=${seed})`);
    h = new CrashHarness(signal, seed);
    const o: Outcome = { rounds: [], restarts: [], drained: [] };
    await h.start();
    await h.setUpSubscribers();
    for (let round = 1; round <= rounds; round++) {
      const r = await h.publishRound(round);
      o.rounds.push(r);
      const q1 = r.publishers.filter((p) => p.name.includes('-q1-'));
      console.log(
        `[crash ${tag}] round ${round}: ${signal} at QoS 1 ack #${r.killAtAck}; QoS 1 sent ${sum(q1, 'sent')} acked ${sum(q1, 'acked')}; ` +
          `QoS 2 sent ${sum(r.publishers, 'sent') - sum(q1, 'sent')} completed ${sum(r.publishers, 'acked') - sum(q1, 'acked')}; ` +
          `exit ${r.exit.signal ?? `code ${r.exit.code}`}`,
      );
      const b = await h.start();
      const live = await h.connectLive();
      let probe: string | undefined;
      await h.probeLive(round).catch((err: unknown) => (probe = (err as Error).message));
      const retainedProblems = h.retained.check(await h.readRetained());
      o.restarts.push({ round, restored: b.started, liveSessionPresent: live.sessionPresent, probe, retainedProblems });
      console.log(`[crash ${tag}] restart ${round}: restored ${JSON.stringify({ sessions: b.started.sessions, deliveries: b.started.deliveries, retained: b.started.retained })}`);
    }
    for (const d of await h.drain()) {
      const report = checkDeliveries(h.ledger, d.inbox, () => true);
      o.drained.push({ ...d, report });
      console.log(
        `[crash ${tag}] ${d.clientId}: received ${d.inbox.total}; acknowledged QoS 1 ${report.ackedQos1}, QoS 2 ${report.ackedQos2}; ` +
          `lost ${report.lost.length}; QoS 1 duplicates ${report.qos1Duplicates}; QoS 2 duplicates ${report.qos2Duplicates.length}; ` +
          `unacknowledged but delivered ${report.unackedDelivered}`,
      );
    }
    outcome = o;
  }, 150_000);

  afterAll(async () => {
    await h?.cleanUp();
  }, 60_000);

  const get = (): Outcome => {
    if (outcome === undefined) throw new Error('the crash rounds did not complete (see the beforeAll error)');
    return outcome;
  };

  describe(`issue 4 crash test: ${tag} x${rounds}, seed ${seed}`, () => {
    it(`${tag}: the broker got ${signal} in every round while QoS 1 publishes were in flight${signal === 'SIGTERM' ? ', and stopped with exit code 0' : ''}`, () => {
      const o = get();
      expect(o.rounds).toHaveLength(rounds);
      for (const r of o.rounds) {
        if (signal === 'SIGKILL') expect(r.exit.signal, `round ${r.round}`).toBe('SIGKILL');
        else expect({ round: r.round, code: r.exit.code, signal: r.exit.signal }).toEqual({ round: r.round, code: 0, signal: null });
        // The signal came mid-stream: some QoS 1 publisher still had unacknowledged publishes.
        expect(r.publishers.some((p) => p.name.includes('-q1-') && p.cutOff), `round ${r.round}: publishes in flight at the signal`).toBe(true);
      }
    });

    it(`MQTT-4.3.2-2 (3.1.1) / MQTT-4.3.2-4 (5.0) QoS 1 across ${tag}: every message whose PUBACK was seen reaches every persistent subscriber (duplicates allowed, counted)`, () => {
      const o = get();
      expect(o.drained.map((d) => d.clientId)).toEqual(OFFLINE_SUBSCRIBERS.map((s) => s.clientId));
      for (const d of o.drained) {
        const lostQos1 = d.report.lost.filter((k) => k.includes('-q1-'));
        expect.soft(lostQos1.length, `${d.clientId}: acknowledged QoS 1 messages never delivered${sample(lostQos1)}`).toBe(0);
        expect.soft(d.report.ackedQos1, `${d.clientId}: acknowledged QoS 1 messages`).toBeGreaterThan(0);
      }
      expect(h!.ledger.refusals, 'QoS 1/2 publishes refused by the broker').toEqual([]);
    });

    it(`MQTT-4.3.3-2 (3.1.1) / MQTT-4.3.3-8/9 (5.0) QoS 2 across ${tag}: every message whose PUBREC was seen arrives exactly once; none arrives twice`, () => {
      const o = get();
      for (const d of o.drained) {
        const lostQos2 = d.report.lost.filter((k) => k.includes('-q2'));
        expect.soft(lostQos2.length, `${d.clientId}: QoS 2 messages with PUBREC seen never delivered${sample(lostQos2)}`).toBe(0);
        expect.soft(d.report.qos2Duplicates, `${d.clientId}: QoS 2 messages delivered more than once`).toEqual([]);
        expect.soft(d.report.ackedQos2, `${d.clientId}: QoS 2 messages with PUBREC seen`).toBeGreaterThan(0);
      }
    });

    it(`MQTT-4.6.0-6 across ${tag}: each publisher's messages arrive in the order they were published; nothing arrives that was not published, or at another QoS`, () => {
      const o = get();
      for (const d of o.drained) {
        expect.soft(d.report.outOfOrder.length, `${d.clientId}: out of order${sample(d.report.outOfOrder)}`).toBe(0);
        expect.soft(d.report.phantom, `${d.clientId}: messages never published`).toEqual([]);
        expect.soft(d.report.wrongQos.slice(0, 8), `${d.clientId}: delivered at the wrong QoS`).toEqual([]);
      }
    });

    it(`MQTT-3.2.2-2 (3.1.1) / MQTT-3.2.2-3 (5.0) across ${tag}: persistent sessions and their subscriptions survive every restart (session present = 1, delivery without resubscribing)`, () => {
      const o = get();
      for (const r of o.restarts) {
        expect.soft(r.restored.sessions, `restart ${r.round}: sessions restored`).toBe(OFFLINE_SUBSCRIBERS.length + 1);
        expect.soft(r.liveSessionPresent, `restart ${r.round}: session present for the subscriber that was online at the ${signal}`).toBe(true);
        expect.soft(r.probe, `restart ${r.round}: message to the subscription made before the first ${signal}`).toBeUndefined();
      }
      for (const d of o.drained) expect.soft(d.sessionPresent, `${d.clientId}: session present after the last restart`).toBe(true);
    });

    it(`MQTT-3.3.1-5 retained across ${tag}: after every restart each topic keeps a published value at least as new as the last acknowledged one`, () => {
      const o = get();
      for (const r of o.restarts) expect.soft(r.retainedProblems, `restart ${r.round}`).toEqual([]);
      expect(h!.retained.maxAcked.size, 'topics with an acknowledged retained value').toBeGreaterThan(0);
    });
  });
}

function sum(xs: ReadonlyArray<{ sent: number; acked: number }>, k: 'sent' | 'acked'): number {
  return xs.reduce((a, x) => a + x[k], 0);
}
