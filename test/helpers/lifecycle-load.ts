/**
 * Load and probes for the lifecycle tests (issue 8: graceful stop, zero-downtime restart):
 * - SteadyLoad: N MQTT.js clients (3.1.1 and 5.0 alternating) publishing QoS 1 at a steady
 *   pace, reconnecting by themselves; every PUBACK goes into a Ledger; v5 clients record the
 *   DISCONNECT packets the server sends them (reason code, Server Reference).
 * - ConnectProbe: connects in a loop (raw TCP, and full MQTT CONNECT/CONNACK) and counts
 *   every outcome by error code; ECONNREFUSED is what a restart must never cause.
 * - drainSubscriber: a persistent subscriber reconnects and receives until every
 *   acknowledged message (and a sentinel) arrived, or its deadline passes.
 */
import { connect as netConnect } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { Inbox, Ledger } from './crash-ledger.js';
import { connectPersistent, forceEnd } from './crash-clients.js';
import { pool, waitUntil, withTimeout } from './transport-wait.js';

export interface DisconnectSeen {
  clientId: string;
  reasonCode: number | undefined;
  serverReference: string | undefined;
}

interface LoadClient {
  id: string;
  client: MqttClient;
  loop: Promise<void>;
}

export class SteadyLoad {
  readonly ledger = new Ledger();
  readonly disconnects: DisconnectSeen[] = [];
  private readonly clients: LoadClient[] = [];
  private running = false;
  /** Publishes that failed (error in the callback), by message. */
  readonly errors = new Map<string, number>();

  constructor(
    private readonly url: string,
    private readonly count: number,
    private readonly opts: { periodMs: number; topicPrefix: string; idPrefix: string },
  ) {}

  get connected(): number {
    return this.clients.filter((c) => c.client.connected).length;
  }

  acked(): number {
    return this.ledger.count((m) => m.acked);
  }

  /** Connects every client (50 at a time) and starts publishing. */
  async start(): Promise<void> {
    this.running = true;
    await pool(this.count, 50, async (i) => {
      const id = `${this.opts.idPrefix}-${i}`;
      const version = i % 2 === 0 ? 5 : 4;
      const client = await mqtt.connectAsync(this.url, {
        clientId: id,
        protocolVersion: version,
        clean: true,
        keepalive: 0,
        reconnectPeriod: 100,
        connectTimeout: 30_000,
      });
      client.on('error', () => undefined);
      client.on('disconnect', (p) => {
        this.disconnects.push({ clientId: id, reasonCode: p.reasonCode, serverReference: p.properties?.serverReference });
      });
      this.clients.push({ id, client, loop: this.publishLoop(id, client) });
    });
  }

  private async publishLoop(id: string, client: MqttClient): Promise<void> {
    let seq = 0;
    // Spread the clients over the period so that the load is steady, not in bursts.
    await sleep(Math.floor(Math.random() * this.opts.periodMs));
    while (this.running) {
      if (!client.connected) {
        await new Promise<void>((r) => client.once('connect', () => r()));
        continue;
      }
      const key = this.ledger.sent(id, seq++, 1, 0);
      try {
        await client.publishAsync(`${this.opts.topicPrefix}/${id}`, key, { qos: 1 });
        this.ledger.acked(key);
      } catch (err) {
        const m = (err as Error).message;
        this.errors.set(m, (this.errors.get(m) ?? 0) + 1);
      }
      await sleep(this.opts.periodMs);
    }
  }

  /** Stops publishing; waits (bounded) for the publishes in flight to be acknowledged, then closes every client. */
  async stop(timeoutMs = 30_000): Promise<void> {
    this.running = false;
    // A loop waiting for a reconnect that never comes is ended by closing its client below.
    await withTimeout(Promise.all(this.clients.map((c) => c.loop)), timeoutMs, 'the publishers to finish').catch(() => undefined);
    await Promise.all(this.clients.map((c) => forceEnd(c.client)));
  }
}

/** PUBLISH pacing and spread of the load (not a wait for an event). */
function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface ProbeCounts {
  attempts: number;
  ok: number;
  /** error code or message -> count */
  failures: Record<string, number>;
}

/** Connects in a loop until stopped: raw TCP (connect, close) and MQTT (CONNECT, CONNACK, DISCONNECT). */
export class ConnectProbe {
  readonly tcp: ProbeCounts = { attempts: 0, ok: 0, failures: {} };
  readonly mqtt: ProbeCounts = { attempts: 0, ok: 0, failures: {} };
  private running = true;
  private readonly loops: Promise<void>[];

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {
    this.loops = [this.tcpLoop(), this.mqttLoop()];
  }

  refused(): number {
    return (this.tcp.failures.ECONNREFUSED ?? 0) + (this.mqtt.failures.ECONNREFUSED ?? 0);
  }

  private async tcpLoop(): Promise<void> {
    while (this.running) {
      this.tcp.attempts++;
      await new Promise<void>((resolve) => {
        const s = netConnect({ host: this.host, port: this.port });
        s.once('connect', () => {
          this.tcp.ok++;
          s.destroy();
          resolve();
        });
        s.once('error', (err: NodeJS.ErrnoException) => {
          const k = err.code ?? err.message;
          this.tcp.failures[k] = (this.tcp.failures[k] ?? 0) + 1;
          resolve();
        });
      });
    }
  }

  private async mqttLoop(): Promise<void> {
    let i = 0;
    while (this.running) {
      this.mqtt.attempts++;
      try {
        const c = await mqtt.connectAsync(`mqtt://${this.host}:${this.port}`, {
          clientId: `probe-${process.pid}-${i++}`,
          protocolVersion: 5,
          reconnectPeriod: 0,
          connectTimeout: 30_000,
          keepalive: 0,
        });
        this.mqtt.ok++;
        await c.endAsync();
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        const k = e.code ?? e.message;
        this.mqtt.failures[k] = (this.mqtt.failures[k] ?? 0) + 1;
      }
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await withTimeout(Promise.all(this.loops), 40_000, 'the connect probes to stop');
  }
}

/** Subscribes persistent sessions to `filter` (QoS 1) and disconnects them: messages queue for them. */
export async function setUpOfflineSubscribers(url: string, ids: ReadonlyArray<{ clientId: string; version: 4 | 5 }>, filter: string): Promise<void> {
  for (const s of ids) {
    const { client } = await connectPersistent({ url, ...s });
    await client.subscribeAsync(filter, { qos: 1 });
    await client.endAsync();
  }
}

/**
 * After the load: a sentinel is published (QoS 1) to `sentinelTopic`, then the persistent
 * subscriber reconnects and receives until the sentinel and every message acknowledged in
 * `ledger` arrived, or `timeoutMs` passed. Returns the missing acknowledged keys.
 */
export async function drainSubscriber(
  url: string,
  sub: { clientId: string; version: 4 | 5 },
  ledger: Ledger,
  sentinelTopic: string,
  timeoutMs: number,
): Promise<{ sessionPresent: boolean; inbox: Inbox; missing: string[] }> {
  const pub = await mqtt.connectAsync(url, { clientId: `sentinel-${sub.clientId}`, protocolVersion: 5, reconnectPeriod: 0 });
  await pub.publishAsync(sentinelTopic, 'end', { qos: 1 });
  await pub.endAsync();
  const missing = new Set<string>();
  for (const m of ledger.messages.values()) if (m.acked) missing.add(m.key);
  const inbox = new Inbox();
  let sentinel = false;
  const { client, sessionPresent } = await connectPersistent({
    url,
    ...sub,
    onMessage: (topic, payload) => {
      if (topic === sentinelTopic) sentinel = true;
      else {
        inbox.add(payload, 1, undefined);
        missing.delete(payload);
      }
    },
  });
  try {
    await waitUntil(() => sentinel && missing.size === 0, timeoutMs, `${sub.clientId} to receive every acknowledged message`, () => ({
      sentinel,
      received: inbox.total,
      missing: missing.size,
    })).catch(() => undefined);
  } finally {
    await client.endAsync();
  }
  return { sessionPresent, inbox, missing: [...missing] };
}
