/**
 * The pure shadow document logic: JSON merge (RFC 7396: nested objects merge, null deletes,
 * arrays and scalars replace), per-top-level-key timestamps, the delta (deep compare),
 * the delta message and the size of a document.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  computeDelta,
  deltaMessage,
  jsonBytes,
  jsonEqual,
  mergePatch,
  stampKeys,
  toDocument,
} from '../../../src/platform/shadows/shadow-document.js';

describe('issue 5 shadows: merge (RFC 7396)', () => {
  it('merges nested objects, deletes on null, replaces arrays and scalars', () => {
    const target = { a: 1, nested: { x: 1, y: { deep: true } }, list: [1, 2, 3], gone: 'soon' };
    const out = mergePatch(target, { nested: { y: { deep: null, other: 2 }, z: 3 }, list: [9], gone: null, b: 'new' });
    expect(out).toEqual({ a: 1, nested: { x: 1, y: { other: 2 }, z: 3 }, list: [9], b: 'new' });
    expect(target).toEqual({ a: 1, nested: { x: 1, y: { deep: true } }, list: [1, 2, 3], gone: 'soon' });
  });

  it('an object replaces a scalar, a scalar replaces an object, nulls inside a new object are dropped', () => {
    expect(mergePatch({ a: 5 }, { a: { b: 1, c: null } })).toEqual({ a: { b: 1 } });
    expect(mergePatch({ a: { b: 1 } }, { a: 'flat' })).toEqual({ a: 'flat' });
  });

  it('a "__proto__" key is an ordinary key, never the prototype', () => {
    const patch = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}') as Record<string, unknown>;
    const out = mergePatch({}, patch);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(out).sort()).toEqual(['__proto__', 'ok']);
  });

  it('property: after a merge, every patched top-level key is absent (null) or holds the merged value', () => {
    const json = fc.jsonValue({ maxDepth: 3 });
    const obj = fc.dictionary(fc.string({ maxLength: 4 }), json, { maxKeys: 6 });
    fc.assert(
      fc.property(obj, fc.dictionary(fc.string({ maxLength: 4 }), fc.oneof(fc.constant(null), json), { maxKeys: 6 }), (t, p) => {
        const out = mergePatch(t, p);
        for (const [k, v] of Object.entries(p)) {
          if (v === null) expect(Object.prototype.hasOwnProperty.call(out, k)).toBe(false);
          else if (typeof v !== 'object' || Array.isArray(v)) expect(jsonEqual(out[k], v)).toBe(true);
        }
        for (const k of Object.keys(t)) if (!Object.prototype.hasOwnProperty.call(p, k)) expect(jsonEqual(out[k], t[k])).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('issue 5 shadows: delta and timestamps', () => {
  it('delta = desired keys whose value differs from reported, compared deeply', () => {
    const desired = { led: 'on', fw: { v: 2, ch: 'stable' }, modes: [1, 2], same: { a: [1, { b: 2 }] } };
    const reported = { led: 'on', fw: { ch: 'stable', v: 1 }, modes: [2, 1], same: { a: [1, { b: 2 }] }, extra: 1 };
    expect(computeDelta(desired, reported)).toEqual({ fw: { v: 2, ch: 'stable' }, modes: [1, 2] });
    expect(computeDelta({ a: null }, {})).toEqual({ a: null });
    expect(computeDelta({}, { a: 1 })).toEqual({});
  });

  it('jsonEqual ignores key order and tells arrays from objects', () => {
    expect(jsonEqual({ a: 1, b: { c: 2, d: 3 } }, { b: { d: 3, c: 2 }, a: 1 })).toBe(true);
    expect(jsonEqual([1, 2], { 0: 1, 1: 2 })).toBe(false);
    expect(jsonEqual({ a: undefined }, { b: undefined })).toBe(false);
    expect(jsonEqual(0, null)).toBe(false);
  });

  it('stamps the top-level keys a patch sets and drops the ones it deletes', () => {
    expect(stampKeys({ a: 1, b: 2, c: 3 }, { b: { x: 1 }, c: null, d: 0 }, 99)).toEqual({ a: 1, b: 99, d: 99 });
  });

  it('the delta message carries the version, the delta and the desired timestamps of its keys', () => {
    const doc = toDocument({
      deviceId: 'd',
      desired: { a: 1, b: 2 },
      reported: { a: 1 },
      version: 7,
      desiredTimestamps: { a: 10, b: 20 },
      reportedTimestamps: { a: 15 },
      updatedAt: 20,
    });
    expect(deltaMessage(doc)).toEqual({ version: 7, delta: { b: 2 }, metadata: { b: 20 } });
  });

  it('measures documents in UTF-8 bytes of their JSON', () => {
    expect(jsonBytes({ a: 'é' })).toBe(Buffer.byteLength('{"a":"é"}'));
  });
});
