import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/app/config/schema.js';
import { bridgesSchema, parseBridgesConfig } from '../../../src/platform/bridges/index.js';

const issues = (input: unknown): string[] => {
  const r = bridgesSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('bridges config', () => {
  it('is empty by default and mounted under `bridges` in the config file schema', () => {
    expect(configSchema.parse({}).bridges).toEqual({ sinks: [], routes: [], ingress: [] });
  });

  it('fills the defaults of a sink', () => {
    const c = parseBridgesConfig({ sinks: [{ name: 'hook', kind: 'http', http: { url: 'https://example.com/in' } }], routes: [{ filter: 'a/#', sink: 'hook' }] });
    expect(c.sinks[0]).toMatchObject({
      enabled: true,
      maxOutboxMessages: 1_000_000,
      maxOutboxBytes: 1_073_741_824,
      whenOutboxFull: 'refuse',
      batchMaxMessages: 100,
      maxAttempts: 10,
      maxPermanentAttempts: 1,
      breakerFailures: 5,
      http: { url: 'https://example.com/in', mode: 'batch', timeoutMs: 10_000, connections: 4, concurrency: 8, headers: {} },
    });
  });

  it('names the problem: kind without its section, section of another kind, unknown sink, duplicate names, $share, bad filter, bad template', () => {
    expect(issues({ sinks: [{ name: 'a', kind: 'http' }] })).toEqual(['sinks.0.http: required for kind http']);
    expect(issues({ sinks: [{ name: 'a', kind: 'http', http: { url: 'http://h/' }, nats: {} }] })).toEqual(['sinks.0.nats: only for kind nats (this sink is http)']);
    const sink = { name: 'a', kind: 'http', http: { url: 'http://h/' } };
    expect(issues({ sinks: [sink, sink] })).toEqual(['sinks.1.name: duplicate sink name "a"']);
    expect(issues({ sinks: [sink], routes: [{ filter: 'x', sink: 'b' }] })).toEqual(['routes.0.sink: no sink named "b"']);
    expect(issues({ sinks: [sink], routes: [{ filter: '$share/g/x', sink: 'a' }] })).toEqual(['routes.0.filter: shared subscriptions ($share/...) cannot be routes']);
    expect(issues({ sinks: [sink], routes: [{ filter: 'a/#/b', sink: 'a' }] })).toEqual(['routes.0.filter: not a valid MQTT topic filter']);
    expect(issues({ sinks: [sink], routes: [{ filter: 'a', sink: 'a', template: '{"x":"{nope}"}' }] })[0]).toMatch(/^routes\.0\.template: unknown placeholder \{nope\}/);
    expect(issues({ sinks: [{ ...sink, retryBaseMs: 100, retryCapMs: 10 }] })).toEqual(['sinks.0.retryCapMs: must be at least retryBaseMs']);
    expect(issues({ sinks: [{ ...sink, http: { url: 'ftp://h/' } }] }).length).toBe(1);
    expect(issues({ sinks: [{ ...sink, http: { url: 'http://h/', secret: 'short' } }] })).toEqual(['sinks.0.http.secret: use at least 16 characters']);
  });
});
