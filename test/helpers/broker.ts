/**
 * Starts a real broker with real listeners on ephemeral ports for a test, with the memory
 * store (or one the test passes, to restart on the same store).
 */
import { MemoryStore } from '../../src/adapters/persistence/memory/index.js';
import { Broker } from '../../src/broker/broker.js';
import { DEFAULT_BROKER_CONFIG, type BrokerConfig } from '../../src/broker/config.js';
import type { Hooks } from '../../src/broker/hooks.js';
import { startListeners } from '../../src/broker/transport/index.js';
import type { ListenersConfig, Listeners } from '../../src/broker/transport/index.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { Store } from '../../src/ports/store.js';

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };

export interface TestBroker {
  broker: Broker;
  store: Store;
  port: number;
  wsPort: number;
  tlsPort: number | undefined;
  listeners: Listeners;
  stop(): Promise<void>;
}

export function testConfig(overrides: DeepPartial<BrokerConfig> = {}): BrokerConfig {
  const base = structuredClone(DEFAULT_BROKER_CONFIG);
  // Protocol tests reconnect the same ids and run on a loaded machine: overload shedding and
  // flapping bans are off unless a test turns them on (test/chaos/admission*.test.ts does).
  base.overload.enabled = false;
  base.flapping.enabled = false;
  for (const [section, values] of Object.entries(overrides)) {
    Object.assign((base as unknown as Record<string, object>)[section], values);
  }
  return base;
}

export async function startTestBroker(
  opts: {
    config?: DeepPartial<BrokerConfig>;
    hooks?: Hooks;
    store?: Store;
    tls?: ListenersConfig['tls'];
  } = {},
): Promise<TestBroker> {
  const store = opts.store ?? new MemoryStore();
  const broker = new Broker(testConfig(opts.config), { store, logger: silentLogger(), hooks: opts.hooks });
  await broker.start();
  const listeners = await startListeners(
    broker,
    { bind: '127.0.0.1', mqttPort: 0, wsPort: 0, wsPath: '/mqtt', tls: opts.tls ?? null, backlog: 511 },
    silentLogger(),
  );
  return {
    broker,
    store,
    port: listeners.addresses.mqtt!,
    wsPort: listeners.addresses.ws!,
    tlsPort: listeners.addresses.tls,
    listeners,
    async stop() {
      // The broker first: it closes every connection, which lets the servers finish closing.
      await broker.close();
      await listeners.close();
    },
  };
}
