import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { SubscriptionTrie, topicMatches } from '../../../src/broker/routing/index.js';
import { isHoldfastError } from '../../../src/errors/index.js';
import { distinctPrefixes, filterArb, topicArb } from './routing-arbitraries.js';

/** Every visit as `key|filter|value`, sorted. */
function visits<V>(trie: SubscriptionTrie<V>, topic: string): string[] {
  const out: string[] = [];
  trie.match(topic, (key, value, filter) => out.push(`${key}|${filter}|${String(value)}`));
  return out.sort();
}

function keysFor<V>(trie: SubscriptionTrie<V>, topic: string): string[] {
  const out: string[] = [];
  trie.match(topic, (key) => out.push(key));
  return out.sort();
}

describe('SubscriptionTrie', () => {
  it('add returns true for a new entry and false when it replaces (MQTT-3.8.4-3)', () => {
    const trie = new SubscriptionTrie<number>();
    expect(trie.add('a/b', 'c1', 1)).toBe(true);
    expect(trie.add('a/b', 'c2', 2)).toBe(true);
    expect(trie.add('a/b', 'c1', 3)).toBe(false);
    expect(trie.size).toBe(2);
    expect(trie.filterCount).toBe(1);
    expect(trie.get('a/b', 'c1')).toBe(3);
    expect(visits(trie, 'a/b')).toEqual(['c1|a/b|3', 'c2|a/b|2']);
  });

  it('remove returns whether the entry existed and prunes empty nodes', () => {
    const trie = new SubscriptionTrie<number>();
    trie.add('a/b/c', 'c1', 1);
    trie.add('a/+/#', 'c1', 2);
    trie.add('a', 'c2', 3);
    expect(trie.countNodes()).toBe(5); // a, a/b, a/b/c, a/+, a/+/#
    expect(trie.remove('a/b/c', 'c2')).toBe(false);
    expect(trie.remove('a/b/x', 'c1')).toBe(false);
    expect(trie.remove('a/b', 'c1')).toBe(false); // a node without subscribers
    expect(trie.remove('a/b/c', 'c1')).toBe(true);
    expect(trie.remove('a/b/c', 'c1')).toBe(false);
    expect(trie.countNodes()).toBe(3);
    expect(trie.remove('a/+/#', 'c1')).toBe(true);
    expect(trie.countNodes()).toBe(1); // `a` still has c2
    expect(trie.remove('a', 'c2')).toBe(true);
    expect(trie.countNodes()).toBe(0);
    expect(trie.size).toBe(0);
    expect(trie.filterCount).toBe(0);
  });

  it('remove of one of several keys keeps the others reachable (swap-remove)', () => {
    const trie = new SubscriptionTrie<string>();
    for (const k of ['k1', 'k2', 'k3', 'k4']) trie.add('t', k, k.toUpperCase());
    expect(trie.remove('t', 'k2')).toBe(true);
    expect(visits(trie, 't')).toEqual(['k1|t|K1', 'k3|t|K3', 'k4|t|K4']);
    expect(trie.get('t', 'k4')).toBe('K4');
    expect(trie.remove('t', 'k4')).toBe(true);
    expect(trie.remove('t', 'k1')).toBe(true);
    expect(visits(trie, 't')).toEqual(['k3|t|K3']);
  });

  it('MQTT-4.7.1-2 `#` matches the parent level and everything below', () => {
    const trie = new SubscriptionTrie<number>();
    trie.add('sport/tennis/player1/#', 'c', 0);
    expect(keysFor(trie, 'sport/tennis/player1')).toEqual(['c']);
    expect(keysFor(trie, 'sport/tennis/player1/ranking')).toEqual(['c']);
    expect(keysFor(trie, 'sport/tennis/player1/score/wimbledon')).toEqual(['c']);
    expect(keysFor(trie, 'sport/tennis')).toEqual([]);
    expect(keysFor(trie, 'sport/tennis/player2')).toEqual([]);
  });

  it('MQTT-4.7.1-3 `+` matches exactly one level, possibly empty', () => {
    const trie = new SubscriptionTrie<number>();
    trie.add('sport/+', 'c1', 0);
    trie.add('+/+', 'c2', 0);
    trie.add('/+', 'c3', 0);
    trie.add('+', 'c4', 0);
    expect(keysFor(trie, 'sport')).toEqual(['c4']);
    expect(keysFor(trie, 'sport/')).toEqual(['c1', 'c2']);
    expect(keysFor(trie, '/finance')).toEqual(['c2', 'c3']);
  });

  it('MQTT-4.7.2-1 filters starting with a wildcard do not match `$` topics', () => {
    const trie = new SubscriptionTrie<number>();
    trie.add('#', 'all', 0);
    trie.add('+/monitor/Clients', 'plus', 0);
    trie.add('$SYS/#', 'sys', 0);
    trie.add('$SYS/monitor/+', 'sysplus', 0);
    expect(keysFor(trie, '$SYS/monitor/Clients')).toEqual(['sys', 'sysplus']);
    expect(keysFor(trie, '$SYS')).toEqual(['sys']);
    expect(keysFor(trie, 'x/monitor/Clients')).toEqual(['all', 'plus']);
  });

  it('visits a key once per matching filter, with that filter (MQTT5 3.3.4 merge is the caller\'s)', () => {
    const trie = new SubscriptionTrie<number>();
    trie.add('a/+', 'c', 1);
    trie.add('a/#', 'c', 2);
    trie.add('a/b', 'c', 0);
    expect(visits(trie, 'a/b')).toEqual(['c|a/#|2', 'c|a/+|1', 'c|a/b|0']);
  });

  it('passes the context argument through to the visitor', () => {
    const trie = new SubscriptionTrie<number>();
    trie.add('a/#', 'c1', 1);
    trie.add('a/b', 'c2', 2);
    const ctx = { total: 0 };
    trie.match('a/b', (_k, v, _f, c) => (c.total += v), ctx);
    expect(ctx.total).toBe(3);
  });

  it('throws ROUTING_INVALID_FILTER for invalid filters and changes nothing', () => {
    const trie = new SubscriptionTrie<number>();
    for (const bad of ['', 'a/#/b', 'a+', 'sport/tennis#']) {
      let err: unknown;
      try {
        trie.add(bad, 'c', 0);
      } catch (e) {
        err = e;
      }
      expect(isHoldfastError(err, 'ROUTING_INVALID_FILTER')).toBe(true);
    }
    expect(trie.size).toBe(0);
    expect(trie.countNodes()).toBe(0);
  });

  it('refuses changes from inside a visitor (ROUTING_MODIFIED_DURING_MATCH) and recovers', () => {
    const trie = new SubscriptionTrie<number>();
    trie.add('a', 'c1', 1);
    const errors: unknown[] = [];
    trie.match('a', (key) => {
      try {
        trie.remove('a', key);
      } catch (e) {
        errors.push(e);
      }
      try {
        trie.add('b', key, 2);
      } catch (e) {
        errors.push(e);
      }
    });
    expect(errors).toHaveLength(2);
    expect(errors.every((e) => isHoldfastError(e, 'ROUTING_MODIFIED_DURING_MATCH'))).toBe(true);
    // A visitor that throws must not leave the trie locked.
    expect(() =>
      trie.match('a', () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(trie.remove('a', 'c1')).toBe(true);
    expect(trie.add('a', 'c1', 1)).toBe(true);
  });

  it('get and remove treat wildcards literally as filter levels, not as matching', () => {
    const trie = new SubscriptionTrie<number>();
    trie.add('a/+', 'c', 1);
    expect(trie.get('a/b', 'c')).toBeUndefined();
    expect(trie.remove('a/b', 'c')).toBe(false);
    expect(trie.get('a/+', 'c')).toBe(1);
  });
});

type Op = { kind: 'add'; filter: string; key: string; value: number } | { kind: 'remove'; filter: string; key: string };

const keyArb = fc.constantFrom('k1', 'k2', 'k3');
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), filter: filterArb, key: keyArb, value: fc.integer({ min: 0, max: 9 }) }),
  fc.record({ kind: fc.constant('remove' as const), filter: filterArb, key: keyArb }),
);

describe('SubscriptionTrie properties', () => {
  it('match visits exactly the (key, filter) pairs for which topicMatches is true', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(filterArb, keyArb), { maxLength: 30 }),
        fc.array(topicArb, { minLength: 1, maxLength: 10 }),
        (subs, topics) => {
          const trie = new SubscriptionTrie<number>();
          subs.forEach(([filter, key], i) => trie.add(filter, key, i));
          const model = new Map<string, number>(); // `key|filter` -> last value
          subs.forEach(([filter, key], i) => model.set(`${key}|${filter}`, i));
          for (const topic of topics) {
            const expected = [...model]
              .filter(([kf]) => topicMatches(kf.slice(kf.indexOf('|') + 1), topic))
              .map(([kf, v]) => `${kf}|${v}`)
              .sort();
            expect(visits(trie, topic)).toEqual(expected);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('after random add/remove sequences agrees with a brute-force model and has no empty nodes left', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), fc.array(topicArb, { minLength: 1, maxLength: 8 }), (ops, topics) => {
        const trie = new SubscriptionTrie<number>();
        const model = new Map<string, Map<string, number>>(); // filter -> key -> value
        for (const op of ops) {
          const byKey = model.get(op.filter);
          if (op.kind === 'add') {
            const isNew = byKey === undefined || !byKey.has(op.key);
            expect(trie.add(op.filter, op.key, op.value)).toBe(isNew);
            if (byKey === undefined) model.set(op.filter, new Map([[op.key, op.value]]));
            else byKey.set(op.key, op.value);
          } else {
            const existed = byKey !== undefined && byKey.has(op.key);
            expect(trie.remove(op.filter, op.key)).toBe(existed);
            if (existed) {
              byKey.delete(op.key);
              if (byKey.size === 0) model.delete(op.filter);
            }
          }
        }
        let entries = 0;
        for (const [filter, byKey] of model) {
          entries += byKey.size;
          for (const [key, value] of byKey) expect(trie.get(filter, key)).toBe(value);
        }
        expect(trie.size).toBe(entries);
        expect(trie.filterCount).toBe(model.size);
        // No leftover empty nodes: exactly one node per level prefix of a live filter.
        expect(trie.countNodes()).toBe(distinctPrefixes(model.keys()));
        for (const topic of topics) {
          const expected: string[] = [];
          for (const [filter, byKey] of model) {
            if (!topicMatches(filter, topic)) continue;
            for (const [key, value] of byKey) expected.push(`${key}|${filter}|${value}`);
          }
          expect(visits(trie, topic)).toEqual(expected.sort());
        }
      }),
      { numRuns: 500 },
    );
  });

  it('removing everything that was added leaves an empty trie', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(filterArb, keyArb), { maxLength: 40 }), (subs) => {
        const trie = new SubscriptionTrie<number>();
        for (const [filter, key] of subs) trie.add(filter, key, 0);
        for (const [filter, key] of [...subs].reverse()) trie.remove(filter, key);
        expect(trie.size).toBe(0);
        expect(trie.filterCount).toBe(0);
        expect(trie.countNodes()).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});
