/**
 * The pieces of the hot reload (issue 8) on their own: the normalized hash, the redacted
 * view, the changed paths, the reloader's prepare-all-then-commit rule and its queue, and
 * the SLO engine keeping the windows of an SLO that survives a reconfiguration.
 */
import { describe, expect, it } from 'vitest';
import { configSchema, type HoldfastConfig } from '../../../src/app/config/index.js';
import { toRuntimeConfig } from '../../../src/app/config/to-runtime.js';
import type { SectionApplier } from '../../../src/app/reload/applier.js';
import { changedPaths } from '../../../src/app/reload/diff.js';
import { ConfigReloader } from '../../../src/app/reload/reloader.js';
import { canonicalJson, configHash, redactConfig } from '../../../src/app/reload/revision.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { SloEngine } from '../../../src/observability/slo/engine.js';
import { ManualClock } from '../../../src/ports/clock.js';

const parse = (input: Record<string, unknown>): HoldfastConfig => configSchema.parse(input);

describe('config revision: hash, redaction, changed paths', () => {
  it('the hash is over the normalized config: key order and spelled-out defaults do not change it', async () => {
    const a = parse({ mqtt: { maxKeepAliveS: 60 }, acl: { rules: [{ action: 'all', topic: '#', allow: true }] } });
    const b = parse({ acl: { rules: [{ allow: true, topic: '#', action: 'all' }] } });
    const c = parse({ mqtt: { maxKeepAliveS: 61 } });
    const r = await toRuntimeConfig(a);
    expect(canonicalJson({ b: 1, a: { d: 2, c: 3 } })).toBe('{"a":{"c":3,"d":2},"b":1}');
    expect(configHash(a, r)).toBe(configHash(b, r));
    expect(configHash(a, r)).not.toBe(configHash(c, r));
    expect(configHash(a, r)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('secrets are redacted: password hashes, tokens, secrets, header values, URL passwords', () => {
    const v = redactConfig({
      auth: { users: [{ username: 'u', passwordHash: 'scrypt$x' }] },
      http: { tokens: [{ token: 'abcdefghijklmnopq', role: 'admin' }] },
      bridges: { sinks: [{ name: 's', kind: 'http', http: { url: 'https://user:pw@example.com/x', secret: 's3cr3t', headers: { authorization: 'Bearer t' } }, nats: { servers: ['nats://a:b@n:4222'] } }] },
    } as unknown as HoldfastConfig);
    const text = JSON.stringify(v);
    for (const secret of ['scrypt$x', 'abcdefghijklmnopq', 's3cr3t', 'Bearer t', ':pw@', 'a:b@']) expect(text).not.toContain(secret);
    expect(text).toContain('"username":"u"');
    expect(text).toContain('example.com');
  });

  it('changed paths are leaf keys, lists whole', () => {
    expect(changedPaths({ a: { b: 1, c: [1] }, d: 1 }, { a: { b: 2, c: [1, 2] }, d: 1 })).toEqual(['a.b', 'a.c']);
    expect(changedPaths({ a: 1 }, { a: 1 })).toEqual([]);
  });
});

describe('ConfigReloader', () => {
  async function reloader(next: () => HoldfastConfig, appliers: SectionApplier[]) {
    const config = parse({});
    return new ConfigReloader({ initial: { config, runtime: await toRuntimeConfig(config) }, load: async () => next(), logger: silentLogger(), appliers });
  }

  it('prepares every section before committing any: one refusal leaves everything as it was', async () => {
    const committed: string[] = [];
    const ok: SectionApplier = { name: 'ok', owns: (p) => p.startsWith('mqtt.'), prepare: () => () => void committed.push('ok') };
    const no: SectionApplier = {
      name: 'no',
      owns: (p) => p.startsWith('limits.'),
      prepare: () => {
        throw new Error('limits.drainTimeoutMs: cannot');
      },
    };
    const r = await reloader(() => parse({ mqtt: { maxKeepAliveS: 5 }, limits: { drainTimeoutMs: 5 } }), [ok, no]);
    const out = await r.reload('manual');
    expect(out).toMatchObject({ result: 'invalid', revision: 1, problems: ['limits.drainTimeoutMs: cannot'] });
    expect(committed).toEqual([]);
    expect(r.running.revision).toBe(1);
    expect(r.counts.get('invalid')).toBe(1);
  });

  it('reloads run one at a time in order; unowned settings are pending; the same config again is a no-op', async () => {
    const seen: number[] = [];
    let n = 0;
    const slow: SectionApplier = {
      name: 'slow',
      owns: (p) => p === 'mqtt.maxKeepAliveS',
      prepare: ({ next }) => async () => {
        await new Promise<void>((r) => setImmediate(r));
        seen.push(next.config.mqtt.maxKeepAliveS);
      },
    };
    const r = await reloader(() => parse({ mqtt: { maxKeepAliveS: ++n }, dataDir: './other' }), [slow]);
    const [a, b] = await Promise.all([r.reload('api'), r.reload('signal')]);
    expect(seen).toEqual([1, 2]);
    expect(a).toMatchObject({ result: 'applied', revision: 2, pendingRestart: ['dataDir'] });
    expect(b).toMatchObject({ result: 'applied', revision: 3, trigger: 'signal' });
    n = 1; // the next load gives maxKeepAliveS 2 again: the running config
    expect(await r.reload('api')).toMatchObject({ result: 'unchanged', revision: 3 });
  });
});

describe('SloEngine.reconfigure', () => {
  it('an SLO that keeps its name keeps its windows; a new one starts empty', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    let total = 0;
    let good = 0;
    const read = () => ({ good, total });
    const def = (name: string, objective: number) => ({ name, description: name, objective, windowMs: 30 * 86_400_000, read });
    const engine = new SloEngine({ slos: [def('a', 0.99)], clock });
    await engine.start();
    total += 100;
    good += 90;
    clock.advance(60_000);
    engine.tick();
    engine.reconfigure({ slos: [def('a', 0.999), def('b', 0.9)], rules: engine.rules });
    const s = engine.status();
    expect(s.map((x) => [x.name, x.objective, x.good, x.bad])).toEqual([
      ['a', 0.999, 90, 10],
      ['b', 0.9, 0, 0],
    ]);
    // Counting goes on from the last reading: no double count of the 100 events.
    total += 10;
    good += 10;
    clock.advance(60_000);
    engine.tick();
    expect(engine.status()[0]).toMatchObject({ good: 100, bad: 10 });
    expect(engine.status()[1]).toMatchObject({ good: 10, bad: 0 });
  });
});
