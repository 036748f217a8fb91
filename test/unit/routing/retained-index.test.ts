import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { RetainedIndex, topicMatches } from '../../../src/broker/routing/index.js';
import { isHoldfastError } from '../../../src/errors/index.js';
import { distinctPrefixes, filterArb, topicArb } from './routing-arbitraries.js';

function topicsOf<M>(index: RetainedIndex<M>, filter: string): string[] {
  return [...index.match(filter)].map(([topic]) => topic).sort();
}

function indexWith(topics: string[]): RetainedIndex<string> {
  const index = new RetainedIndex<string>();
  for (const t of topics) index.set(t, `msg:${t}`);
  return index;
}

describe('RetainedIndex', () => {
  it('set reports added/replaced (MQTT-3.3.1-5), get/has/delete/size follow', () => {
    const index = new RetainedIndex<number>();
    expect(index.set('a/b', 1)).toBe('added');
    expect(index.set('a/b', 2)).toBe('replaced');
    expect(index.set('a', 3)).toBe('added');
    expect(index.size).toBe(2);
    expect(index.get('a/b')).toBe(2);
    expect(index.has('a')).toBe(true);
    expect(index.get('a/c')).toBeUndefined();
    expect(index.delete('a/c')).toBe(false);
    expect(index.delete('a/b')).toBe(true);
    expect(index.delete('a/b')).toBe(false);
    expect(index.size).toBe(1);
    expect(index.get('a/b')).toBeUndefined();
    expect([...index.match('a/#')]).toEqual([['a', 3]]);
  });

  it('prunes empty nodes on delete but keeps nodes that still hold a message or children', () => {
    const index = indexWith(['a/b/c', 'a', 'a/x']);
    expect(index.countNodes()).toBe(4);
    index.delete('a/b/c');
    expect(index.countNodes()).toBe(2); // a, a/x
    index.delete('a');
    expect(index.countNodes()).toBe(2); // `a` stays as the parent of a/x
    expect(topicsOf(index, '#')).toEqual(['a/x']);
    index.delete('a/x');
    expect(index.countNodes()).toBe(0);
  });

  it('MQTT-4.7.1-2 `a/#` includes `a` and everything below', () => {
    const index = indexWith(['sport', 'sport/tennis', 'sport/tennis/player1', 'sports', 'x/sport']);
    expect(topicsOf(index, 'sport/#')).toEqual(['sport', 'sport/tennis', 'sport/tennis/player1']);
    expect(topicsOf(index, 'sport/tennis/player1/#')).toEqual(['sport/tennis/player1']);
    expect(topicsOf(index, '+/#')).toEqual(['sport', 'sport/tennis', 'sport/tennis/player1', 'sports', 'x/sport']);
  });

  it('MQTT-4.7.1-3 `+` matches one level, possibly empty', () => {
    const index = indexWith(['sport', 'sport/', 'sport/a', 'sport/a/b', '/finance', 'finance']);
    expect(topicsOf(index, 'sport/+')).toEqual(['sport/', 'sport/a']);
    expect(topicsOf(index, '+/+')).toEqual(['/finance', 'sport/', 'sport/a']);
    expect(topicsOf(index, '+')).toEqual(['finance', 'sport']);
    expect(topicsOf(index, '/+')).toEqual(['/finance']);
  });

  it('MQTT-4.7.2-1 a `#` or `+/...` subscription gets no `$SYS/...` retained messages', () => {
    const index = indexWith(['$SYS/broker/uptime', '$SYS', 'a/$SYS', 'b']);
    expect(topicsOf(index, '#')).toEqual(['a/$SYS', 'b']);
    expect(topicsOf(index, '+/broker/uptime')).toEqual([]);
    expect(topicsOf(index, '+')).toEqual(['b']);
    expect(topicsOf(index, '$SYS/#')).toEqual(['$SYS', '$SYS/broker/uptime']);
    expect(topicsOf(index, '$SYS/+/uptime')).toEqual(['$SYS/broker/uptime']);
    expect(topicsOf(index, 'a/+')).toEqual(['a/$SYS']);
  });

  it('exact filters return at most the one topic', () => {
    const index = indexWith(['a/b', 'a/b/c']);
    expect([...index.match('a/b')]).toEqual([['a/b', 'msg:a/b']]);
    expect([...index.match('a/c')]).toEqual([]);
  });

  it('rejects invalid topics on set (ROUTING_INVALID_TOPIC) and invalid filters on match (ROUTING_INVALID_FILTER)', () => {
    const index = new RetainedIndex<number>();
    for (const bad of ['', 'a/+', '#']) {
      let err: unknown;
      try {
        index.set(bad, 1);
      } catch (e) {
        err = e;
      }
      expect(isHoldfastError(err, 'ROUTING_INVALID_TOPIC')).toBe(true);
    }
    expect(index.size).toBe(0);
    const gen = index.match('a/#/b');
    let err: unknown;
    try {
      gen.next();
    } catch (e) {
      err = e;
    }
    expect(isHoldfastError(err, 'ROUTING_INVALID_FILTER')).toBe(true);
  });

  it('match is lazy and live: changes between next() calls are seen, not a snapshot', () => {
    const topics = Array.from({ length: 1000 }, (_, i) => `x/${i}`);
    const index = indexWith(topics);
    for (const filter of ['x/+', '#', 'x/#', '+/+']) {
      const gen = index.match(filter);
      const first = gen.next();
      expect(first.done).toBe(false);
      const [firstTopic] = first.value as [string, string];
      // Delete every topic not yet yielded and add a new one: only the new one follows.
      for (const t of topics) if (t !== firstTopic) index.delete(t);
      index.set('x/new', 'fresh');
      const rest = [...gen];
      expect(rest).toEqual([['x/new', 'fresh']]);
      // Restore for the next filter.
      index.delete('x/new');
      for (const t of topics) index.set(t, `msg:${t}`);
    }
  });

  it('match yields the message current at the time of yielding', () => {
    const index = indexWith(['a/1', 'a/2']);
    const gen = index.match('a/+');
    const [t1] = gen.next().value as [string, string];
    const other = t1 === 'a/1' ? 'a/2' : 'a/1';
    index.set(other, 'updated');
    expect(gen.next().value).toEqual([other, 'updated']);
    expect(gen.next().done).toBe(true);
  });

  it('entries lists every message, `$` topics included', () => {
    const index = indexWith(['$SYS/x', 'a']);
    expect([...index.entries()].sort()).toEqual([
      ['$SYS/x', 'msg:$SYS/x'],
      ['a', 'msg:a'],
    ]);
  });
});

type Op = { kind: 'set'; topic: string; value: number } | { kind: 'delete'; topic: string };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('set' as const), topic: topicArb, value: fc.integer({ min: 0, max: 99 }) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('delete' as const), topic: topicArb }), weight: 1 },
);

describe('RetainedIndex properties', () => {
  it('match equals brute-force filtering of a model after random set/delete sequences, with no empty nodes left', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), fc.array(filterArb, { minLength: 1, maxLength: 10 }), (ops, filters) => {
        const index = new RetainedIndex<number>();
        const model = new Map<string, number>();
        for (const op of ops) {
          if (op.kind === 'set') {
            expect(index.set(op.topic, op.value)).toBe(model.has(op.topic) ? 'replaced' : 'added');
            model.set(op.topic, op.value);
          } else {
            expect(index.delete(op.topic)).toBe(model.delete(op.topic));
          }
        }
        expect(index.size).toBe(model.size);
        for (const [topic, value] of model) expect(index.get(topic)).toBe(value);
        expect(index.countNodes()).toBe(distinctPrefixes(model.keys()));
        for (const filter of filters) {
          const got = [...index.match(filter)].map(([t, v]) => `${t}|${v}`).sort();
          const expected = [...model]
            .filter(([t]) => topicMatches(filter, t))
            .map(([t, v]) => `${t}|${v}`)
            .sort();
          expect(got).toEqual(expected); // also proves no topic is yielded twice
        }
      }),
      { numRuns: 500 },
    );
  });
});
