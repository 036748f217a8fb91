/**
 * Issue 9, "kill -9 the broker in the middle and repeat: still nothing lost". The broker
 * (with bridges, on a SQLite data dir) runs as a child process and is killed with SIGKILL
 * at a seeded moment, twice:
 *   round 1: the webhook is down; 4 devices publish 2,500 QoS 1 messages each; kill -9
 *            once K1 publishes are acknowledged;
 *   round 2: restart on the same data dir, webhook back up: the dispatcher drains while 4
 *            devices publish 2,500 more each; kill -9 at K2 acknowledgements;
 *   round 3: restart, 2,500 more each, to the end.
 * Then every acknowledged message has arrived at the webhook at least once, idempotency
 * keys are unique per message, and per device the messages arrived in publish order.
 *
 * The child is test/integration/bridges-child.mjs (the broker, the SQLite store and the
 * bridges from dist/, composed like the app). Once `holdfast start` composes the bridges,
 * HOLDFAST_BRIDGES_CLI=1 runs the real CLI instead. BRIDGES_CRASH_SEED repeats a run.
 *
 * Needs message ids that never go back across a crash: the SQLite store must count outbox
 * rows in its message-id high-water mark (putOutbox -> noteMessageId, and outbox /
 * dead_letters in lastMessageId()). Without that, ids restart below the waiting outbox
 * entries after a kill -9: new messages overwrite them and reuse their idempotency keys.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BridgesConfigInput } from '../../src/platform/bridges/index.js';
import { cleanEnv, ensureBuilt, startDaemon, tempDir } from '../cli/helpers.js';
import { seededRandom } from '../helpers/crash-ledger.js';
import { publishMany, seqPayload, StoreClient } from '../helpers/store-clients.js';
import { removeDir } from '../helpers/store-fixtures.js';
import { freePort, waitFor, WebhookServer } from './bridges-helpers.js';
import { DeliveryLedger } from './bridges-ledger.js';

const CHILD = fileURLToPath(new URL('./bridges-child.mjs', import.meta.url));
const USE_CLI = process.env.HOLDFAST_BRIDGES_CLI === '1';
const SEED = Number(process.env.BRIDGES_CRASH_SEED ?? Date.now() % 1_000_000_007);
const DEVICES = 4;
const PER_ROUND = 2_500;
const SECRET = 'crash-test-secret-0123';

interface BrokerProcess {
  port: number;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

function exited(child: ChildProcessWithoutNullStreams): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

async function launch(dir: string, bridges: BridgesConfigInput): Promise<BrokerProcess> {
  const dataDir = join(dir, 'data');
  if (USE_CLI) {
    const file = join(dir, 'holdfast.yaml');
    // JSON is YAML.
    writeFileSync(file, JSON.stringify({ dataDir, listeners: { bind: '127.0.0.1', mqtt: { port: 0 }, ws: { port: null } }, http: { port: null }, log: { format: 'json' }, bridges }));
    const d = startDaemon(['start', '--config', file], { cwd: dir });
    const listening = await d.waitForMsg('listening', 20_000);
    return {
      port: (listening.ports as { mqtt: number }).mqtt,
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
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dataDir, { recursive: true });
  const child = spawn(process.execPath, [CHILD, JSON.stringify({ dataDir, bridges })], { env: cleanEnv() });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`child not ready in 20 s: ${err}`)), 20_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      resolve((JSON.parse(out.slice(0, nl)) as { port: number }).port);
    });
    child.once('exit', (code, sig) => reject(new Error(`child exited (${code ?? sig}) before ready: ${err}`)));
  });
  return {
    port,
    kill9: async () => {
      child.kill('SIGKILL');
      await exited(child);
    },
    stop: async () => {
      child.kill('SIGTERM');
      await exited(child);
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

const dir = tempDir('holdfast-bridges-crash-');
const hook = new WebhookServer();
let proc: BrokerProcess | undefined;
beforeAll(async () => {
  if (!USE_CLI) await ensureBuilt();
}, 300_000);
afterAll(async () => {
  await proc?.stop().catch(() => {});
  await hook.close();
  removeDir(dir);
});

describe('bridges: kill -9 in the middle', () => {
  it(`nothing acknowledged is lost across two kill -9 (seed ${SEED}): at least once, unique idempotency keys, per-device order`, async () => {
    const random = seededRandom(SEED);
    const port = await freePort();
    const bridges: BridgesConfigInput = {
      sinks: [
        {
          name: 'hook',
          kind: 'http',
          http: { url: `http://127.0.0.1:${port}/hook`, secret: SECRET, timeoutMs: 2000 },
          retryBaseMs: 20,
          retryCapMs: 200,
          breakerOpenMs: 200,
          batchMaxMessages: 50,
        },
      ],
      routes: [{ filter: 'telemetry/+', sink: 'hook' }],
    };
    const ledger = new DeliveryLedger(SECRET);
    hook.keep = false;
    hook.onRequest = (req, status) => {
      if (status === 200) ledger.record(req);
    };
    const total = DEVICES * PER_ROUND;
    const k1 = Math.floor(total * (0.2 + 0.6 * random()));
    const k2 = Math.floor(total * (0.2 + 0.6 * random()));

    // Round 1: webhook down.
    proc = await launch(dir, bridges);
    const r1 = await round(proc, 0, k1);
    // Round 2: webhook back; kill again while draining and publishing.
    await hook.listen(port);
    proc = await launch(dir, bridges);
    const r2 = await round(proc, PER_ROUND, k2);
    // Round 3: to the end.
    proc = await launch(dir, bridges);
    const r3 = await round(proc, 2 * PER_ROUND, undefined);

    const acked = new Map<string, number[]>();
    for (const r of [r1, r2, r3]) for (const [dev, seqs] of r.acked) acked.set(dev, [...(acked.get(dev) ?? []), ...seqs]);
    const ackedCount = [...acked.values()].reduce((n, s) => n + s.length, 0);
    await waitFor(() => ledger.missing(acked).length === 0 || ledger.problems.length > 0, 'every acknowledged message at the webhook', 60_000).catch(() => {});
    const missing = ledger.missing(acked);
    console.log(
      `[bridges-crash] seed ${SEED}: kill -9 at ${k1} and ${k2} acks; acknowledged ${ackedCount}; arrived ${ledger.unique} unique ` +
        `(${ledger.arrivals} arrivals, ${ledger.duplicates} duplicates); missing ${missing.length}; problems ${ledger.problems.length}` +
        (ledger.problems.length > 0 ? `, e.g. ${ledger.problems.slice(0, 3).join('; ')}` : ''),
    );
    expect(ledger.problems).toEqual([]);
    expect(missing.slice(0, 20)).toEqual([]);
    expect(ledger.badSignatures).toBe(0);
    expect(ackedCount).toBeGreaterThanOrEqual(k1 + k2 + total);
  }, 240_000);
});
