import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  SharedGroups,
  SubscriptionTrie,
  parseSharedFilter,
  sharedGroupOfKey,
  sharedTrieKey,
} from '../../../src/broker/routing/index.js';

function pickKeys<M>(groups: SharedGroups<M>, group: string, filter: string, n: number): Array<string | undefined> {
  return Array.from({ length: n }, () => groups.pick(group, filter)?.key);
}

describe('shared trie keys', () => {
  it('round-trip a group and never claim an ordinary client id, even one named $share/...', () => {
    expect(sharedGroupOfKey(sharedTrieKey('g1'))).toBe('g1');
    expect(sharedGroupOfKey(sharedTrieKey(''))).toBe('');
    expect(sharedGroupOfKey('$share/g1')).toBeUndefined();
    expect(sharedGroupOfKey('client-1')).toBeUndefined();
    expect(sharedGroupOfKey('')).toBeUndefined();
  });
});

describe('SharedGroups', () => {
  it('join/leave/has/members/size/groupCount', () => {
    const groups = new SharedGroups<number>();
    expect(groups.join('g', 'a/+', 'c1', 1)).toBe(true);
    expect(groups.join('g', 'a/+', 'c2', 2)).toBe(true);
    expect(groups.join('g', 'a/#', 'c1', 3)).toBe(true);
    expect(groups.join('h', 'a/+', 'c1', 4)).toBe(true);
    expect(groups.join('g', 'a/+', 'c1', 5)).toBe(false); // replaces the value
    expect(groups.size).toBe(4);
    expect(groups.groupCount).toBe(3);
    expect(groups.members('g', 'a/+')).toEqual([
      { key: 'c1', value: 5 },
      { key: 'c2', value: 2 },
    ]);
    expect(groups.members('nope', 'a/+')).toEqual([]);
    expect(groups.leave('g', 'a/+', 'c3')).toBe(false);
    expect(groups.leave('x', 'a/+', 'c1')).toBe(false);
    expect(groups.leave('g', 'a/+', 'c1')).toBe(true);
    expect(groups.has('g', 'a/+')).toBe(true);
    expect(groups.leave('g', 'a/+', 'c2')).toBe(true);
    expect(groups.has('g', 'a/+')).toBe(false);
    expect(groups.has('g', 'a/#')).toBe(true);
    expect(groups.groupCount).toBe(2);
    expect(groups.size).toBe(2);
    expect(groups.pick('g', 'a/+')).toBeUndefined();
  });

  it('members() is a copy: changing the group later does not change it', () => {
    const groups = new SharedGroups<number>();
    groups.join('g', 'f', 'c1', 1);
    const before = groups.members('g', 'f');
    groups.join('g', 'f', 'c2', 2);
    expect(before).toHaveLength(1);
  });

  it('picks round robin in join order', () => {
    const groups = new SharedGroups<number>();
    for (const k of ['a', 'b', 'c']) groups.join('g', 'f', k, 0);
    expect(pickKeys(groups, 'g', 'f', 7)).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });

  it('replacing a member value keeps its place in the rotation', () => {
    const groups = new SharedGroups<number>();
    for (const k of ['a', 'b', 'c']) groups.join('g', 'f', k, 0);
    expect(groups.pick('g', 'f')?.key).toBe('a');
    groups.join('g', 'f', 'a', 9);
    expect(pickKeys(groups, 'g', 'f', 3)).toEqual(['b', 'c', 'a']);
    expect(groups.members('g', 'f')[0]).toEqual({ key: 'a', value: 9 });
  });

  it('leave keeps the rotation in place: the member that was next is still next', () => {
    const groups = new SharedGroups<number>();
    for (const k of ['a', 'b', 'c', 'd']) groups.join('g', 'f', k, 0);
    expect(pickKeys(groups, 'g', 'f', 2)).toEqual(['a', 'b']); // next: c
    groups.leave('g', 'f', 'a'); // before the cursor
    expect(groups.pick('g', 'f')?.key).toBe('c'); // next: d
    groups.leave('g', 'f', 'd'); // the next one itself: wrap to b
    expect(pickKeys(groups, 'g', 'f', 3)).toEqual(['b', 'c', 'b']);
    groups.leave('g', 'f', 'b'); // after the cursor (next: c)
    expect(pickKeys(groups, 'g', 'f', 2)).toEqual(['c', 'c']);
  });

  it('skips ineligible members and returns undefined when none is eligible', () => {
    const groups = new SharedGroups<{ online: boolean }>();
    groups.join('g', 'f', 'a', { online: true });
    groups.join('g', 'f', 'b', { online: false });
    groups.join('g', 'f', 'c', { online: true });
    const online = (_k: string, v: { online: boolean }): boolean => v.online;
    expect(Array.from({ length: 4 }, () => groups.pick('g', 'f', online)?.key)).toEqual(['a', 'c', 'a', 'c']);
    expect(groups.pick('g', 'f', () => false)).toBeUndefined();
    expect(groups.pick('missing', 'f', online)).toBeUndefined();
  });

  it('passes ctx to the eligibility function', () => {
    const groups = new SharedGroups<number>();
    groups.join('g', 'f', 'a', 1);
    groups.join('g', 'f', 'b', 2);
    const ctx = { min: 2 };
    expect(groups.pick('g', 'f', (_k, v, c) => v >= c.min, ctx)?.key).toBe('b');
  });

  it('random strategy picks only eligible members, using the injected random source', () => {
    const seq = [0.0, 0.5, 0.99, 0.3];
    let i = 0;
    const groups = new SharedGroups<number>({ strategy: 'random', random: () => seq[i++ % seq.length] });
    for (const k of ['a', 'b', 'c', 'd']) groups.join('g', 'f', k, 0);
    // Starts: 0 -> a, 2 -> c, 3 -> d, 1 -> b.
    expect(pickKeys(groups, 'g', 'f', 4)).toEqual(['a', 'c', 'd', 'b']);
    // b ineligible: the start index 1 moves on to c.
    i = 3;
    expect(groups.pick('g', 'f', (k) => k !== 'b')?.key).toBe('c');
  });
});

describe('SharedGroups properties', () => {
  it('round robin distributes evenly over the eligible members and never picks an ineligible one', () => {
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 20 }),
        (eligibleMask, rounds, warmup) => {
          const groups = new SharedGroups<boolean>();
          eligibleMask.forEach((ok, i) => groups.join('g', 'f', `m${i}`, ok));
          const eligible = (_k: string, ok: boolean): boolean => ok;
          // Start from an arbitrary point of the rotation.
          for (let i = 0; i < warmup; i++) groups.pick('g', 'f');
          const nEligible = eligibleMask.filter(Boolean).length;
          const counts = new Map<string, number>();
          for (let i = 0; i < rounds * Math.max(nEligible, 1); i++) {
            const m = groups.pick('g', 'f', eligible);
            if (nEligible === 0) {
              expect(m).toBeUndefined();
              continue;
            }
            expect(m?.value).toBe(true);
            counts.set(m!.key, (counts.get(m!.key) ?? 0) + 1);
          }
          if (nEligible > 0) {
            expect(counts.size).toBe(nEligible);
            for (const c of counts.values()) expect(c).toBe(rounds);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  type Op =
    | { kind: 'join'; key: string; value: number }
    | { kind: 'leave'; key: string }
    | { kind: 'pick'; allowed: number }; // bit mask over member values 0..7

  const keyArb = fc.constantFrom('a', 'b', 'c', 'd', 'e');
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('join' as const), key: keyArb, value: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('leave' as const), key: keyArb }),
    fc.record({ kind: fc.constant('pick' as const), allowed: fc.integer({ min: 0, max: 255 }) }),
  );

  for (const strategy of ['round-robin', 'random'] as const) {
    it(`${strategy}: under join/leave churn, pick returns a current eligible member, or undefined only if there is none`, () => {
      fc.assert(
        fc.property(fc.array(opArb, { maxLength: 80 }), fc.integer(), (ops, seed) => {
          let s = seed >>> 0;
          const random = (): number => {
            s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
            return s / 2 ** 32;
          };
          const groups = new SharedGroups<number>({ strategy, random });
          const model = new Map<string, number>();
          for (const op of ops) {
            if (op.kind === 'join') {
              expect(groups.join('g', 'f', op.key, op.value)).toBe(!model.has(op.key));
              model.set(op.key, op.value);
            } else if (op.kind === 'leave') {
              expect(groups.leave('g', 'f', op.key)).toBe(model.delete(op.key));
            } else {
              const ok = (_k: string, v: number): boolean => ((op.allowed >> v) & 1) === 1;
              const m = groups.pick('g', 'f', ok);
              const anyEligible = [...model].some(([k, v]) => ok(k, v));
              if (!anyEligible) expect(m).toBeUndefined();
              else {
                expect(m).toBeDefined();
                expect(model.get(m!.key)).toBe(m!.value);
                expect(ok(m!.key, m!.value)).toBe(true);
              }
            }
            expect(groups.size).toBe(model.size);
            expect(groups.has('g', 'f')).toBe(model.size > 0);
          }
        }),
        { numRuns: 300 },
      );
    });
  }
});

describe('SharedGroups with SubscriptionTrie (the wiring documented in shared-groups.ts)', () => {
  type Entry = { qos: number };

  function subscribe(trie: SubscriptionTrie<Entry>, groups: SharedGroups<Entry>, client: string, f: string): void {
    const s = parseSharedFilter(f);
    if (s === 'invalid') throw new Error(`invalid ${f}`);
    if (s === null) trie.add(f, client, { qos: 1 });
    else {
      groups.join(s.group, s.filter, client, { qos: 1 });
      trie.add(s.filter, sharedTrieKey(s.group), { qos: 0 });
    }
  }

  function unsubscribe(trie: SubscriptionTrie<Entry>, groups: SharedGroups<Entry>, client: string, f: string): void {
    const s = parseSharedFilter(f);
    if (s === null || s === 'invalid') trie.remove(f, client);
    else if (groups.leave(s.group, s.filter, client) && !groups.has(s.group, s.filter)) {
      trie.remove(s.filter, sharedTrieKey(s.group));
    }
  }

  function route(trie: SubscriptionTrie<Entry>, groups: SharedGroups<Entry>, topic: string): string[] {
    const out: string[] = [];
    trie.match(topic, (key, _value, filter) => {
      const group = sharedGroupOfKey(key);
      if (group === undefined) out.push(key);
      else {
        const m = groups.pick(group, filter);
        if (m !== undefined) out.push(`${m.key}@${group}`);
      }
    });
    return out.sort();
  }

  it('delivers each message to one member per (group, filter), round robin, next to ordinary subscribers', () => {
    const trie = new SubscriptionTrie<Entry>();
    const groups = new SharedGroups<Entry>();
    subscribe(trie, groups, 'w1', '$share/workers/jobs/+');
    subscribe(trie, groups, 'w2', '$share/workers/jobs/+');
    subscribe(trie, groups, 'w1', '$share/audit/jobs/#');
    subscribe(trie, groups, '$share/workers/jobs/+', 'jobs/+'); // a client id that looks like a shared key
    expect(trie.size).toBe(3);
    expect(route(trie, groups, 'jobs/1')).toEqual(['$share/workers/jobs/+', 'w1@audit', 'w1@workers']);
    expect(route(trie, groups, 'jobs/2')).toEqual(['$share/workers/jobs/+', 'w1@audit', 'w2@workers']);
    unsubscribe(trie, groups, 'w1', '$share/workers/jobs/+');
    expect(trie.size).toBe(3); // w2 still in the group
    expect(route(trie, groups, 'jobs/3')).toEqual(['$share/workers/jobs/+', 'w1@audit', 'w2@workers']);
    unsubscribe(trie, groups, 'w2', '$share/workers/jobs/+');
    unsubscribe(trie, groups, 'w1', '$share/audit/jobs/#');
    unsubscribe(trie, groups, '$share/workers/jobs/+', 'jobs/+');
    expect(trie.size).toBe(0);
    expect(trie.countNodes()).toBe(0);
    expect(groups.groupCount).toBe(0);
  });
});
