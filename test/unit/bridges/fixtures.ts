/**
 * Fixtures of the bridge engine's unit tests: a broker stand-in with the real topic
 * matcher (subscribeInternal + publish), a sink whose behaviour the test scripts, and an
 * engine on a MemoryStore with short timings.
 */
import { MemoryStore } from '../../../src/adapters/persistence/memory/index.js';
import type { ClientInfo } from '../../../src/broker/hooks.js';
import type { InternalHandler } from '../../../src/broker/internal-subscriptions.js';
import { topicMatches } from '../../../src/broker/routing/index.js';
import type { QoS } from '../../../src/codec/mqtt/packets.js';
import { silentLogger } from '../../../src/observability/logger.js';
import type { Sink, SinkMessage, SinkOutcome } from '../../../src/ports/sink.js';
import type { Store, StoredMessage } from '../../../src/ports/store.js';
import { createBridges, parseBridgesConfig, type BridgeEngine, type BridgesConfigInput, type DeviceInfo } from '../../../src/platform/bridges/index.js';

export function client(clientId: string): ClientInfo {
  return { clientId, username: undefined, protocolVersion: 5, remoteAddress: '127.0.0.1:1', listener: 'mqtt', certificate: undefined };
}

export class FakeBroker {
  private readonly subs = new Set<{ filter: string; handler: InternalHandler }>();
  private nextId = 1;

  subscribeInternal(filter: string, handler: InternalHandler): () => void {
    const s = { filter, handler };
    this.subs.add(s);
    return () => {
      this.subs.delete(s);
    };
  }

  get subscriptions(): number {
    return this.subs.size;
  }

  /** What the broker does for an accepted publish: a new message id, then the internal subscribers (synchronously). */
  publish(topic: string, payload: Buffer | string, opts: { qos?: QoS; clientId?: string } = {}): StoredMessage {
    const msg: StoredMessage = {
      id: this.nextId++,
      topic,
      payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
      qos: opts.qos ?? 1,
      retain: false,
      properties: undefined,
      expiresAt: 0,
      publisherId: opts.clientId,
      createdAt: Date.now(),
    };
    const c = opts.clientId === undefined ? undefined : client(opts.clientId);
    for (const s of [...this.subs]) if (topicMatches(s.filter, topic)) s.handler(msg, c);
    return msg;
  }
}

export type Behaviour = (batch: readonly SinkMessage[], call: number) => SinkOutcome[] | Promise<SinkOutcome[]>;

export const allOk: Behaviour = (b) => b.map(() => ({ status: 'ok' }));

export class ScriptedSink implements Sink {
  readonly kind = 'http';
  readonly calls: SinkMessage[][] = [];
  readonly delivered: SinkMessage[] = [];
  started = 0;
  closed = 0;
  startFailures = 0;

  constructor(
    readonly name: string,
    public behaviour: Behaviour = allOk,
    readonly endpoint?: string,
  ) {}

  async start(): Promise<void> {
    if (this.startFailures > 0) {
      this.startFailures--;
      throw new Error('cannot connect');
    }
    this.started++;
  }

  async close(): Promise<void> {
    this.closed++;
  }

  async send(batch: readonly SinkMessage[], signal: AbortSignal): Promise<SinkOutcome[]> {
    signal.throwIfAborted();
    this.calls.push([...batch]);
    const out = await this.behaviour(batch, this.calls.length);
    out.forEach((o, i) => {
      if (o.status === 'ok') this.delivered.push(batch[i]!);
    });
    return out;
  }
}

export const HTTP = { url: 'http://127.0.0.1:9/hook' };

export function sinkConfig(name: string, extra: Record<string, unknown> = {}): NonNullable<BridgesConfigInput['sinks']>[number] {
  return { name, kind: 'http', http: HTTP, retryBaseMs: 1, retryCapMs: 5, batchLingerMs: 0, breakerOpenMs: 50, ...extra };
}

export interface EngineFixture {
  engine: BridgeEngine;
  broker: FakeBroker;
  store: Store;
  sinks: Map<string, ScriptedSink>;
}

export async function startEngine(
  input: BridgesConfigInput,
  opts: { store?: Store; behaviours?: Record<string, Behaviour>; deviceInfo?: DeviceInfo; endpoints?: Record<string, string> } = {},
): Promise<EngineFixture> {
  const broker = new FakeBroker();
  const store = opts.store ?? new MemoryStore();
  if (opts.store === undefined) await store.open();
  const sinks = new Map<string, ScriptedSink>();
  const engine = createBridges({
    broker,
    store,
    config: parseBridgesConfig(input),
    logger: silentLogger(),
    sinks: {
      http: (c) => {
        const s = new ScriptedSink(c.name, opts.behaviours?.[c.name], opts.endpoints?.[c.name]);
        sinks.set(c.name, s);
        return s;
      },
    },
    deviceInfo: opts.deviceInfo,
    random: () => 0.5,
  });
  await engine.start();
  return { engine, broker, store, sinks };
}

/** Waits for a condition made true by async work (polled every few ms, with a deadline). */
export async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timeout after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
