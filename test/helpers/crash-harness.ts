/**
 * The crash test harness (issue 4, "How it is checked"): the real CLI (`bin/holdfast.js
 * start`) as a child process on a temporary data dir, restarted on the same dir after it
 * was killed; publishers whose acknowledged publishes are recorded in a Ledger; persistent
 * subscribers that stay offline while the broker is killed and restarted, then drain.
 *
 * Everything here waits for events (a log line, CONNACK, an acknowledgement, a process
 * exit, a message) under a deadline; the moment of the kill is chosen by acknowledgement
 * count from a seeded PRNG, not by time, so a run is determined by its seed up to the
 * interleaving of the processes, and correctness never depends on timing.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { startDaemon, tempDir, type Daemon, type Run } from '../cli/helpers.js';
import { connectPersistent, forceEnd, readRetained, runPublisher, runRetainedPublisher, type ProtocolVersion, type PublisherResult } from './crash-clients.js';
import { Inbox, Ledger, RetainedLedger, seededRandom } from './crash-ledger.js';
import { withTimeout } from './transport-wait.js';

export type CrashSignal = 'SIGKILL' | 'SIGTERM';

export const Q1_FILTER = 'crash/q1/+';
export const Q2_FILTER = 'crash/q2/+';
export const LIVE_FILTER = 'crash/live/+';
export const RETAINED_FILTER = 'crash/ret/+';
export const RETAINED_TOPICS = ['crash/ret/t0', 'crash/ret/t1', 'crash/ret/t2', 'crash/ret/t3', 'crash/ret/t4'] as const;
/** Sentinels published after the last round: the end of every persistent subscriber's queue. */
const END_Q1 = 'crash/q1/end';
const END_Q2 = 'crash/q2/end';
/** Failure path only: how long the drain waits for more once the sentinels came but messages are missing. */
const QUIET_MS = 2_000;

/** The offline persistent subscribers: one per protocol version. */
export const OFFLINE_SUBSCRIBERS: ReadonlyArray<{ clientId: string; version: ProtocolVersion }> = [
  { clientId: 'crash-sub-v5', version: 5 },
  { clientId: 'crash-sub-v4', version: 4 },
];
const LIVE_ID = 'crash-live-v5';

export interface RoundPlan {
  /** QoS 1 messages over all QoS 1 publishers of a round (the 10,000). */
  qos1PerRound: number;
  qos1Publishers: number;
  qos1Window: number;
  qos2PerRound: number;
  qos2Window: number;
  retainedPerRound: number;
}

export const DEFAULT_PLAN: RoundPlan = {
  qos1PerRound: 10_000,
  qos1Publishers: 4,
  qos1Window: 32,
  qos2PerRound: 1_000,
  qos2Window: 8,
  retainedPerRound: 500,
};

export interface RoundResult {
  round: number;
  /** QoS 1 acknowledgement count at which the signal was sent. */
  killAtAck: number;
  publishers: PublisherResult[];
  exit: Run;
}

export interface BrokerProcess {
  daemon: Daemon;
  url: string;
  /** The "broker started" log record (restored sessions, deliveries, retained). */
  started: Record<string, unknown>;
}

export class CrashHarness {
  readonly ledger = new Ledger();
  readonly retained = new RetainedLedger();
  readonly dir = tempDir('holdfast-crash-');
  readonly dataDir = join(this.dir, 'data');
  readonly configFile = join(this.dir, 'holdfast.yaml');
  readonly random: () => number;
  broker: BrokerProcess | undefined;
  private readonly daemons: Daemon[] = [];
  private nextRetainedValue = 0;
  private live: MqttClient | undefined;
  private readonly liveProbes = new Set<string>();
  private readonly liveWaiters = new Map<string, () => void>();

  constructor(
    readonly signal: CrashSignal,
    readonly seed: number,
    readonly plan: RoundPlan = DEFAULT_PLAN,
  ) {
    this.random = seededRandom(seed);
    // Warm-up off (faster start); queues large enough for every round (the default 10,000
    // would drop the oldest); maxInMemoryQueued stays at its default (1,000), so most of a
    // queue lives only on disk and is paged back as it drains.
    writeFileSync(
      this.configFile,
      [
        'listeners:',
        '  warmupConnections: 0',
        'session:',
        '  maxQueuedMessages: 1000000',
        'store:',
        '  kind: sqlite',
        '  durability: commit',
        'shutdown:',
        '  timeoutMs: 5000', // a graceful stop of this size takes well under a second
        'log:',
        '  format: json',
        '',
      ].join('\n'),
    );
  }

  /** Starts (or restarts, on the same data dir) the broker process; new ports each time. */
  async start(): Promise<BrokerProcess> {
    const daemon = startDaemon([
      'start',
      '--config',
      this.configFile,
      '--bind',
      '127.0.0.1',
      '--mqtt-port',
      '0',
      '--ws-port',
      'off',
      '--http-port',
      'off',
      '--data-dir',
      this.dataDir,
    ]);
    this.daemons.push(daemon);
    const listening = await daemon.waitForMsg('listening', 20_000);
    const started = await daemon.waitForMsg('broker started', 1_000);
    const port = (listening.ports as { mqtt: number }).mqtt;
    this.broker = { daemon, url: `mqtt://127.0.0.1:${port}`, started };
    return this.broker;
  }

  get url(): string {
    if (this.broker === undefined) throw new Error('broker not started');
    return this.broker.url;
  }

  /** Round 1, before any publish: the offline subscribers subscribe and go away; the live one subscribes and stays. */
  async setUpSubscribers(): Promise<void> {
    for (const s of OFFLINE_SUBSCRIBERS) {
      const { client } = await connectPersistent({ url: this.url, ...s });
      await client.subscribeAsync({ [Q1_FILTER]: { qos: s.version === 5 ? 2 : 1 }, [Q2_FILTER]: { qos: 2 } });
      await client.endAsync(); // a normal DISCONNECT: the session stays (clean session 0 / expiry 3600 s)
    }
    const { client } = await this.connectLive();
    await client.subscribeAsync(LIVE_FILTER, { qos: 1 });
  }

  /** (Re)connects the live subscriber without subscribing; returns whether the session was present. */
  async connectLive(): Promise<{ client: MqttClient; sessionPresent: boolean }> {
    if (this.live !== undefined) await forceEnd(this.live);
    const c = await connectPersistent({
      url: this.url,
      clientId: LIVE_ID,
      version: 5,
      onMessage: (_topic, payload) => {
        this.liveProbes.add(payload);
        this.liveWaiters.get(payload)?.();
      },
    });
    this.live = c.client;
    return c;
  }

  /** Publishes a probe to the live subscriber's filter and waits until it receives it. */
  async probeLive(round: number): Promise<void> {
    const name = `probe-${round}`;
    const payload = `${name}:0`; // runPublisher's payload: the ledger key name:seq
    const received = new Promise<void>((resolve) => {
      if (this.liveProbes.has(payload)) resolve();
      this.liveWaiters.set(payload, resolve);
    });
    const ledger = new Ledger();
    const r = await runPublisher({
      url: this.url,
      clientId: `crash-probe-${round}`,
      version: 4,
      name,
      topic: `crash/live/r${round}`,
      qos: 1,
      count: 1,
      window: 1,
      round,
      ledger,
    });
    if (r.acked !== 1) throw new Error(`probe publish of round ${round} not acknowledged`);
    await withTimeout(received, 10_000, `the live subscriber to receive ${payload}`);
  }

  /**
   * One round: every publisher runs; when the QoS 1 acknowledgements of this round reach a
   * seeded random count (10-80 % of the round's QoS 1 messages, so QoS 1 publishes are still
   * in flight when the broker acts on the signal), the broker gets the signal. Publishers
   * that lose their connection stop.
   */
  async publishRound(round: number): Promise<RoundResult> {
    const broker = this.broker;
    if (broker === undefined) throw new Error('broker not started');
    const p = this.plan;
    const killAtAck = Math.floor((0.1 + 0.7 * this.random()) * p.qos1PerRound);
    let acks = 0;
    let signalled = false;
    const onAck = (): void => {
      acks++;
      if (!signalled && acks >= killAtAck) {
        signalled = true;
        broker.daemon.child.kill(this.signal);
      }
    };
    const perPublisher = Math.ceil(p.qos1PerRound / p.qos1Publishers);
    const publishers: Promise<PublisherResult>[] = [];
    for (let i = 0; i < p.qos1Publishers; i++) {
      const name = `r${round}-q1-p${i}`;
      publishers.push(
        tolerant(name, runPublisher({
          url: broker.url,
          clientId: name,
          version: i % 2 === 0 ? 5 : 4,
          name,
          topic: `crash/q1/${name}`,
          qos: 1,
          count: perPublisher,
          window: p.qos1Window,
          round,
          ledger: this.ledger,
          onAck,
        })),
      );
    }
    const q2 = `r${round}-q2`;
    publishers.push(
      tolerant(q2, runPublisher({
        url: broker.url,
        clientId: q2,
        version: round % 2 === 0 ? 4 : 5,
        name: q2,
        topic: `crash/q2/${q2}`,
        qos: 2,
        count: p.qos2PerRound,
        window: p.qos2Window,
        round,
        ledger: this.ledger,
      })),
    );
    const retained = runRetainedPublisher({
      url: broker.url,
      clientId: `r${round}-retained`,
      version: 4,
      topics: RETAINED_TOPICS,
      firstValue: this.nextRetainedValue,
      count: p.retainedPerRound,
      window: 4,
      retained: this.retained,
    }).catch(() => this.nextRetainedValue + p.retainedPerRound);
    const results = await withTimeout(Promise.all(publishers), 60_000, `the publishers of round ${round}`);
    this.nextRetainedValue = await withTimeout(retained, 10_000, `the retained publisher of round ${round}`);
    if (!signalled) throw new Error(`round ${round}: only ${acks} QoS 1 acknowledgements, the ${killAtAck}th never came`);
    const exit = await withTimeout(broker.daemon.exited, 30_000, `the broker to exit after ${this.signal}`);
    if (this.live !== undefined) await forceEnd(this.live);
    this.live = undefined;
    this.broker = undefined;
    return { round, killAtAck, publishers: results, exit };
  }

  /** The retained values per topic as a new subscriber sees them now. */
  readRetained(): Promise<Map<string, number>> {
    return readRetained(this.url, RETAINED_FILTER, [...this.retained.maxAcked.keys()]);
  }

  /**
   * After the last round: sentinels go to the end of every offline subscriber's queue, then
   * each offline subscriber reconnects (without subscribing) and receives until both
   * sentinels arrived. Everything queued before them has then been delivered: the session's
   * queue is delivered in order, and MQTT.js hands a QoS 2 message over on PUBREL, which the
   * broker sends in the order of the subscriber's PUBRECs.
   *
   * Normally the drain ends when both sentinels and every acknowledged message arrived. If
   * the sentinels come first while acknowledged messages are still missing (a broker that
   * lost them, or queued the sentinels ahead of them), it ends after QUIET_MS without any
   * message, so that the report counts what is really missing; a passing run never waits.
   */
  async drain(): Promise<Array<{ clientId: string; sessionPresent: boolean; inbox: Inbox }>> {
    const sentinels = new Ledger();
    for (const [topic, qos] of [[END_Q1, 1], [END_Q2, 2]] as const) {
      const r = await runPublisher({ url: this.url, clientId: `crash-end-${qos}`, version: 5, name: 'end', topic, qos, count: 1, window: 1, round: 0, ledger: sentinels });
      if (r.acked !== 1) throw new Error(`sentinel on ${topic} not acknowledged`);
    }
    const out: Array<{ clientId: string; sessionPresent: boolean; inbox: Inbox }> = [];
    for (const s of OFFLINE_SUBSCRIBERS) {
      const inbox = new Inbox();
      const ends = new Set<string>();
      const missing = new Set<string>();
      for (const m of this.ledger.messages.values()) if (m.qos === 1 ? m.acked : m.pubrec) missing.add(m.key);
      let done!: () => void;
      const finished = new Promise<void>((resolve) => (done = resolve));
      let quiet: NodeJS.Timeout | undefined;
      const progress = (): void => {
        if (ends.size < 2) return;
        if (quiet !== undefined) clearTimeout(quiet);
        if (missing.size === 0) done();
        else quiet = setTimeout(done, QUIET_MS);
      };
      const { client, sessionPresent } = await connectPersistent({
        url: this.url,
        ...s,
        onMessage: (topic, payload, packet) => {
          if (topic === END_Q1 || topic === END_Q2) ends.add(topic);
          else {
            inbox.add(payload, packet.qos, topic.startsWith('crash/q1/') ? 1 : 2);
            missing.delete(payload);
          }
          progress();
        },
      });
      try {
        await withTimeout(finished, 60_000, `${s.clientId} to drain its queue (received ${inbox.total} so far, ${missing.size} acknowledged still missing)`);
      } finally {
        if (quiet !== undefined) clearTimeout(quiet);
        await client.endAsync();
      }
      out.push({ clientId: s.clientId, sessionPresent, inbox });
    }
    return out;
  }

  /** Stops whatever still runs and removes the data dir. */
  async cleanUp(): Promise<void> {
    if (this.live !== undefined) await forceEnd(this.live);
    for (const d of this.daemons) {
      if (d.child.exitCode === null && d.child.signalCode === null) {
        d.child.kill('SIGTERM');
        await withTimeout(d.exited, 25_000, 'the broker to stop').catch(() => d.child.kill('SIGKILL'));
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A publisher that could not even connect (the broker was already going down) published nothing. */
function tolerant(name: string, p: Promise<PublisherResult>): Promise<PublisherResult> {
  return p.catch(() => ({ name, sent: 0, acked: 0, cutOff: true }));
}

/** The seed: CRASH_SEED from the environment, or a fresh one. Printed by the tests. */
export function crashSeed(): number {
  const fromEnv = Number(process.env.CRASH_SEED);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : 1 + Math.floor(Math.random() * 2 ** 31);
}
