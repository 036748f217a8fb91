import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { registerBridgeMetrics } from '../../../src/platform/bridges/index.js';
import { sinkConfig, startEngine, until, type EngineFixture } from './fixtures.js';

let fx: EngineFixture | undefined;
afterEach(async () => {
  await fx?.engine.stop();
  fx = undefined;
});

describe('bridge metrics', () => {
  it('exports outbox depth, bytes, age, breaker state, dead letters and message counters per sink', async () => {
    fx = await startEngine(
      { sinks: [sinkConfig('hook', { maxOutboxMessages: 2 })], routes: [{ filter: 't/#', sink: 'hook' }] },
      { behaviours: { hook: (b) => b.map(() => ({ status: 'permanent', error: 'HTTP 400' })) } },
    );
    fx.broker.publish('t/1', 'abc');
    await until(() => fx!.engine.status().sinks[0]!.deadLetters === 1, 'dead letter');
    fx.sinks.get('hook')!.behaviour = () => new Promise(() => {});
    fx.broker.publish('t/1', 'abcd');
    fx.broker.publish('t/1', 'ef');
    const registry = new Registry();
    registerBridgeMetrics(registry, fx.engine);
    const text = await registry.metrics();
    expect(text).toContain('holdfast_bridge_outbox_messages{sink="hook"} 2');
    expect(text).toContain('holdfast_bridge_outbox_bytes{sink="hook"} 6');
    expect(text).toContain('holdfast_bridge_outbox_full{sink="hook"} 1');
    expect(text).toMatch(/holdfast_bridge_outbox_oldest_age_seconds\{sink="hook"\} \d/);
    expect(text).toContain('holdfast_bridge_dead_letters{sink="hook"} 1');
    expect(text).toContain('holdfast_bridge_breaker_state{sink="hook",state="closed"} 1');
    expect(text).toContain('holdfast_bridge_messages_total{sink="hook",event="enqueued"} 3');
    expect(text).toContain('holdfast_bridge_messages_total{sink="hook",event="dead_lettered"} 1');
  });
});
