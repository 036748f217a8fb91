/**
 * Live fuzz: thousands of hostile byte streams (random, and mutated valid packets) thrown
 * at a running broker over many concurrent TCP connections, with and without a valid
 * CONNECT first. Afterwards: no uncaught exception or unhandled rejection in the process
 * (the broker runs in it), every connection was closed and freed (broker.connections back
 * to the baseline), the decoder really was exercised (malformed packets counted), and the
 * broker still serves normal clients (round trips, v4 and v5).
 *
 * Seeded (fast-check): set HOLDFAST_FUZZ_SEED to replay a run, HOLDFAST_FUZZ_RUNS to
 * change the number of cases.
 */
import fc from 'fast-check';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode } from '../../src/codec/mqtt/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { Bystander, connectClient, nextMessage, uniqueId } from '../helpers/transport-clients.js';
import { fuzzCase, type FuzzCase } from '../helpers/transport-fuzz.js';
import { pool, waitUntil } from '../helpers/transport-wait.js';

const SEED = Number(process.env.HOLDFAST_FUZZ_SEED ?? 20240611);
const RUNS = Number(process.env.HOLDFAST_FUZZ_RUNS ?? 2000);
const CONCURRENCY = 32;
/** How long one case may take to be closed by the broker once we half-closed our side. */
const CASE_DEADLINE_MS = 8_000;

let tb: TestBroker;
let bystander: Bystander;
const uncaught: unknown[] = [];
const onUncaught = (err: unknown) => uncaught.push(err);

beforeAll(async () => {
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  // Small limits so that "too large" and timeouts are reachable by the fuzz, and a fast sweep.
  tb = await startTestBroker({ config: { mqtt: { maxPacketSizeBytes: 16 * 1024, connectTimeoutMs: 3_000 } } });
  bystander = await Bystander.start(tb.port);
});
afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUncaught);
  await bystander.stop();
  await tb.stop();
});

interface CaseResult {
  connacked: boolean;
  closedByBroker: boolean;
  hung: boolean;
}

function runCase(port: number, c: FuzzCase, index: number): Promise<CaseResult> {
  return new Promise((resolve) => {
    const socket: Socket = connect({ port, host: '127.0.0.1' });
    let received = 0;
    let connacked = false;
    let sent = false;
    let done = false;
    const finish = (hung: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ connacked, closedByBroker: !hung, hung });
    };
    const timer = setTimeout(() => finish(true), CASE_DEADLINE_MS);
    const sendFuzz = () => {
      if (sent) return;
      sent = true;
      for (const w of c.writes) socket.write(w);
      // Half-close: the broker sees end-of-stream after the fuzz bytes and must let go.
      socket.end();
    };
    socket.on('error', () => {});
    socket.on('close', () => finish(false));
    socket.on('data', (chunk: Buffer) => {
      if (c.connectFirst !== undefined && !connacked && received === 0 && chunk[0] === 0x20) {
        connacked = true;
        received += chunk.length;
        sendFuzz();
        return;
      }
      received += chunk.length;
    });
    socket.on('connect', () => {
      if (c.connectFirst === undefined) {
        sendFuzz();
        return;
      }
      const v = c.connectFirst;
      socket.write(encode({ type: 1, protocolName: 'MQTT', protocolVersion: v, clean: true, keepalive: 30, clientId: `fuzz-${index}` }, v));
      // Subscribe to everything so that fuzzed publishes are routed back to fuzz connections too.
      socket.write(encode({ type: 8, packetId: 1, subscriptions: [{ topic: '#', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }], properties: v === 5 ? {} : undefined }, v));
    });
  });
}

describe('chaos: live fuzz', () => {
  it(`MQTT-4.8.0-1 MQTT5 4.13 ${RUNS} hostile streams (seed ${SEED}): no crash, all connections freed, broker still serves`, async () => {
    const baseline = tb.broker.connections.size;
    const malformedBefore = tb.broker.stats.malformedPackets;
    const cases = fc.sample(fuzzCase, { seed: SEED, numRuns: RUNS });
    const started = Date.now();
    const results = await pool(cases.length, CONCURRENCY, (i) => runCase(tb.port, cases[i], i));
    const elapsed = Date.now() - started;

    const hung = results.flatMap((r, i) => (r.hung ? [`#${i} ${cases[i].label}`] : []));
    expect(hung, 'cases the broker never closed after end-of-stream').toEqual([]);
    expect(uncaught, 'uncaught exceptions / unhandled rejections during the fuzz').toEqual([]);

    // The fuzz reached the connected state and the decoder, or it proved nothing.
    const connected = results.filter((r) => r.connacked).length;
    const withConnect = cases.filter((c) => c.connectFirst !== undefined).length;
    expect(connected).toBe(withConnect);
    expect(tb.broker.stats.malformedPackets - malformedBefore).toBeGreaterThan(RUNS / 4);

    await waitUntil(() => tb.broker.connections.size === baseline, 10_000, 'broker.connections back to the baseline', () => tb.broker.connections.size);

    // The survivors: the bystanders connected all along, and brand-new clients of both versions.
    await bystander.roundTrip();
    for (const protocolVersion of [4, 5] as const) {
      const sub = await connectClient(`mqtt://127.0.0.1:${tb.port}`, { protocolVersion, clientId: uniqueId('after-fuzz-sub') });
      const pub = await connectClient(`mqtt://127.0.0.1:${tb.port}`, { protocolVersion, clientId: uniqueId('after-fuzz-pub') });
      await sub.subscribeAsync('after/fuzz', { qos: 1 });
      const got = nextMessage(sub, 'after/fuzz', `alive-${protocolVersion}`);
      await pub.publishAsync('after/fuzz', `alive-${protocolVersion}`, { qos: 1 });
      await got;
      await Promise.all([sub.endAsync(), pub.endAsync()]);
    }
    expect(uncaught).toEqual([]);
    expect(elapsed).toBeLessThan(Math.max(60_000, RUNS * 25));
  }, Math.max(60_000, RUNS * 30));
});
