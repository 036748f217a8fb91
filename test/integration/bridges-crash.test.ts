/**
 * Issue 9, "kill -9 the broker in the middle and repeat: still nothing lost", with the
 * real `holdfast start` (bin/holdfast.js from dist/, a SQLite data dir) as a child process
 * and the three real sinks of bridges-sinks-rig.ts (webhook, private nats-server with
 * JetStream, PostgreSQL), every `telemetry/+` message routed to all three. The broker is
 * killed with SIGKILL at a seeded moment, twice:
 *   round 1: every sink down (webhook not listening, nats-server killed, the table locked);
 *            4 devices publish 2,500 QoS 1 messages each; kill -9 once K1 are acknowledged;
 *   round 2: restart on the same data dir, sinks back (nats-server on the same port and
 *            store dir): the dispatchers drain while 4 devices publish 2,500 more each;
 *            kill -9 at K2 acknowledgements;
 *   round 3: restart, 2,500 more each, to the end.
 * Then every acknowledged message is in PostgreSQL exactly once and in the JetStream
 * stream exactly once (Nats-Msg-Id dedupe across the restarts), at the webhook at least
 * once with unique idempotency keys, and in per-device order at the webhook and in the
 * stream. BRIDGES_CRASH_SEED repeats a run.
 *
 * Needs message ids that never go back across a crash: the SQLite store counts outbox
 * rows in its message-id high-water mark (putOutbox -> noteMessageId, and outbox /
 * dead_letters in lastMessageId()). Without that, ids restart below the waiting outbox
 * entries after a kill -9: new messages overwrite them and reuse their idempotency keys.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BridgesConfigInput } from '../../src/platform/bridges/index.js';
import { ensureBuilt, startDaemon, tempDir } from '../cli/helpers.js';
import { seededRandom } from '../helpers/crash-ledger.js';
import { publishMany, seqPayload, StoreClient } from '../helpers/store-clients.js';
import { removeDir } from '../helpers/store-fixtures.js';
import { waitFor } from './bridges-helpers.js';
import { missing, SinkRig, type Arrivals } from './bridges-sinks-rig.js';

const SEED = Number(process.env.BRIDGES_CRASH_SEED ?? Date.now() % 1_000_000_007);
const DEVICES = 4;
const PER_ROUND = 2_500;
const TOKEN = 'crash-test-read-token-0123';

interface BrokerProcess {
  port: number;
  http: number;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

async function launch(dir: string, bridges: BridgesConfigInput): Promise<BrokerProcess> {
  const dataDir = join(dir, 'data');
  const file = join(dir, 'holdfast.yaml');
  // JSON is YAML.
  writeFileSync(
    file,
    JSON.stringify({
      dataDir,
      listeners: { bind: '127.0.0.1', mqtt: { port: 0 }, ws: { port: null } },
      http: { port: 0, tokens: [{ token: TOKEN, role: 'read' }] },
      platform: { enabled: false },
      log: { format: 'json' },
      bridges,
    }),
  );
  const d = startDaemon(['start', '--config', file], { cwd: dir });
  const listening = await d.waitForMsg('listening', 30_000);
  const ports = listening.ports as { mqtt: number; http: number };
  return {
    port: ports.mqtt,
    http: ports.http,
    kill9: async () => {
      d.child.kill('SIGKILL');
      await d.exited;
    },
    stop: async () => {
      d.child.kill('SIGTERM');
      await d.exited;
    },
  };
}

interface Round {
  acked: Map<string, number[]>;
  killedAt: number | undefined;
}

/** Publishes PER_ROUND messages per device (seq offset+1 ...); with `killAt`, kill -9 once that many are acknowledged in all. */
async function round(proc: BrokerProcess, offset: number, killAt: number | undefined): Promise<Round> {
  const clients: StoreClient[] = [];
  for (let d = 0; d < DEVICES; d++) clients.push((await StoreClient.connect(proc.port, 5, { clientId: `dev-${d}` })).client);
  const acks = (): number => clients.reduce((n, c) => n + c.ackCount, 0);
  const publishing = Promise.allSettled(
    clients.map((c, d) => publishMany(c, PER_ROUND, (i) => ({ topic: `telemetry/dev-${d}`, payload: seqPayload(offset + i, 32) }), 100, 60_000)),
  );
  if (killAt !== undefined) {
    await waitFor(() => acks() >= killAt, `${killAt} acknowledgements`, 60_000);
    await proc.kill9();
  }
  const results = await publishing;
  if (killAt === undefined) for (const r of results) if (r.status === 'rejected') throw r.reason;
  const acked = new Map<string, number[]>();
  clients.forEach((c, d) => {
    // publishMany numbers packet ids 1..N in publish order: packet id i carries seq offset + i.
    const seqs = [...c.acks].filter(([, a]) => (a.reasonCode ?? 0) < 0x80).map(([pid]) => offset + pid);
    acked.set(`dev-${d}`, seqs);
    c.destroy();
  });
  return { acked, killedAt: killAt };
}

interface SinkView {
  name: string;
  outbox: { messages: number };
}

async function outboxes(proc: BrokerProcess): Promise<SinkView[]> {
  const res = await fetch(`http://127.0.0.1:${proc.http}/api/bridges`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`GET /api/bridges: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { sinks: SinkView[] }).sinks;
}

const dir = tempDir('holdfast-bridges-crash-');
let rig: SinkRig | undefined;
let proc: BrokerProcess | undefined;
beforeAll(async () => {
  await ensureBuilt();
  rig = await SinkRig.open();
}, 300_000);
afterAll(async () => {
  await proc?.stop().catch(() => {});
  await rig?.dispose();
  removeDir(dir);
});

describe('bridges: kill -9 in the middle (holdfast start, webhook + JetStream + PostgreSQL)', () => {
  it(`nothing acknowledged is lost across two kill -9 (seed ${SEED}): exactly once in PostgreSQL and JetStream, at least once at the webhook, per-device order`, async () => {
    const random = seededRandom(SEED);
    const sinks = rig!;
    const bridges = sinks.bridges();
    const total = DEVICES * PER_ROUND;
    const k1 = Math.floor(total * (0.2 + 0.6 * random()));
    const k2 = Math.floor(total * (0.2 + 0.6 * random()));

    // Round 1: every sink down.
    await sinks.down();
    proc = await launch(dir, bridges);
    const r1 = await round(proc, 0, k1);
    // Round 2: sinks back; kill again while draining and publishing.
    await sinks.up();
    proc = await launch(dir, bridges);
    const r2 = await round(proc, PER_ROUND, k2);
    // Round 3: to the end.
    proc = await launch(dir, bridges);
    const r3 = await round(proc, 2 * PER_ROUND, undefined);

    const acked = new Map<string, number[]>();
    for (const r of [r1, r2, r3]) for (const [dev, seqs] of r.acked) acked.set(dev, [...(acked.get(dev) ?? []), ...seqs]);
    const ackedCount = [...acked.values()].reduce((n, s) => n + s.length, 0);
    const live = proc;
    const deadline = Date.now() + 180_000;
    for (;;) {
      const views = await outboxes(live);
      if (views.every((v) => v.outbox.messages === 0)) break;
      if (Date.now() > deadline) throw new Error(`outboxes not drained: ${JSON.stringify(views.map((v) => [v.name, v.outbox.messages]))}`);
      await new Promise((r) => setTimeout(r, 100)); // another process's state: polled, with the deadline above
    }
    const hook = sinks.webhookArrivals();
    const pgRows = await sinks.pgArrivals();
    const stream = await sinks.streamArrivals();
    const report = (name: string, a: Arrivals): string => `${name} ${a.entries} (missing ${missing(acked, a).length}, problems ${a.problems.length})`;
    console.log(
      `[bridges-crash] seed ${SEED}: kill -9 at ${k1} and ${k2} acks; acknowledged ${ackedCount}; ` +
        `${report('webhook arrivals', hook)} ${sinks.ledger.unique} unique, ${sinks.ledger.duplicates} duplicates; ${report('PostgreSQL rows', pgRows)}; ${report('JetStream messages', stream)}`,
    );
    expect(ackedCount).toBeGreaterThanOrEqual(k1 + k2 + total);
    expect(hook.problems).toEqual([]);
    expect(missing(acked, hook).slice(0, 20)).toEqual([]);
    expect(pgRows.problems).toEqual([]);
    expect(missing(acked, pgRows).slice(0, 20)).toEqual([]);
    expect(stream.problems).toEqual([]);
    expect(missing(acked, stream).slice(0, 20)).toEqual([]);
    // Exactly once: one row / one stream message per message that was routed. A message
    // routed but not acknowledged (the kill came between the commit and the PUBACK) may be
    // there too, once: the entries are between the acknowledged count and what was sent.
    expect(pgRows.entries).toBeGreaterThanOrEqual(ackedCount);
    expect(stream.entries).toBe(pgRows.entries);
    expect(sinks.ledger.unique).toBe(pgRows.entries);
  }, 300_000);
});
