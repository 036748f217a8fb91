/**
 * A test broker whose clock can be moved forward by hand (real time plus an offset), for
 * Message Expiry tests: "1 s later" becomes `clock.advance(2000)` instead of a sleep.
 * Otherwise the same as startTestBroker (real listeners on ephemeral ports, memory store).
 */
import { MemoryStore } from '../../src/adapters/persistence/memory/index.js';
import { Broker } from '../../src/broker/broker.js';
import type { BrokerConfig } from '../../src/broker/config.js';
import type { Hooks } from '../../src/broker/hooks.js';
import { startListeners } from '../../src/broker/transport/index.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { Clock } from '../../src/ports/clock.js';
import { testConfig, type DeepPartial, type TestBroker } from './broker.js';

export class OffsetClock implements Clock {
  private offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
  advance(ms: number): void {
    this.offset += ms;
  }
}

export async function startClockedBroker(
  opts: { config?: DeepPartial<BrokerConfig>; hooks?: Hooks } = {},
): Promise<TestBroker & { clock: OffsetClock }> {
  const clock = new OffsetClock();
  const store = new MemoryStore();
  const broker = new Broker(testConfig(opts.config), { store, logger: silentLogger(), hooks: opts.hooks, clock });
  await broker.start();
  const listeners = await startListeners(
    broker,
    { bind: '127.0.0.1', mqttPort: 0, wsPort: null, wsPath: '/mqtt', tls: null, backlog: 511 },
    silentLogger(),
  );
  return {
    broker,
    store,
    clock,
    port: listeners.addresses.mqtt!,
    wsPort: 0,
    tlsPort: undefined,
    listeners,
    async stop() {
      await listeners.close();
      await broker.close();
    },
  };
}

/**
 * Stops a test broker even when clients are still connected: broker.close() ends every
 * connection first (TestBroker.stop() alone waits for the listeners, which wait for them).
 */
export async function stopBroker(tb: TestBroker): Promise<void> {
  await tb.broker.close();
  await tb.stop();
}
