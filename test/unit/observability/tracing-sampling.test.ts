/**
 * Sampling by a hash of the device id, and W3C traceparent parsing (W3C Trace Context 3.2).
 */
import { describe, expect, it } from 'vitest';
import { hashRatioSampler, idHash32 } from '../../../src/observability/tracing/sampling.js';
import { formatTraceparent, parseTraceparent } from '../../../src/observability/tracing/traceparent.js';
import { noopTracer } from '../../../src/ports/tracer.js';

describe('sampling by device id hash', () => {
  it('is stable for an id, and samples about the configured ratio of ids', () => {
    const s = hashRatioSampler(0.1);
    const ids = Array.from({ length: 20_000 }, (_, i) => `device-${i}`);
    const picked = ids.filter((id) => s(id));
    expect(picked.length / ids.length).toBeGreaterThan(0.09);
    expect(picked.length / ids.length).toBeLessThan(0.11);
    // Consistent: the same ids again, with a new sampler of the same ratio.
    const again = hashRatioSampler(0.1);
    expect(ids.filter((id) => again(id))).toEqual(picked);
    // A larger ratio keeps every device the smaller one picked.
    const more = hashRatioSampler(0.5);
    expect(picked.every((id) => more(id))).toBe(true);
  });

  it('1% of sequential ids ("device-0".."device-9999") is close to 1% (ids differing in their last characters spread)', () => {
    const s = hashRatioSampler(0.01);
    let n = 0;
    for (let i = 0; i < 10_000; i++) if (s(`device-${i}`)) n++;
    expect(n).toBeGreaterThan(70);
    expect(n).toBeLessThan(130);
  });

  it('0 samples nothing, 1 everything; out-of-range ratios are refused', () => {
    expect(hashRatioSampler(0)('x')).toBe(false);
    expect(hashRatioSampler(1)('x')).toBe(true);
    expect(() => hashRatioSampler(1.5)).toThrow(RangeError);
    expect(idHash32('abc')).toBe(idHash32('abc'));
    expect(idHash32('abc')).not.toBe(idHash32('abd'));
  });

  it('the no-op tracer is disabled and samples nothing', () => {
    expect(noopTracer.enabled).toBe(false);
    expect(noopTracer.sampled('x')).toBe(false);
    expect(noopTracer.messageSpan({})).toBeUndefined();
  });
});

describe('traceparent', () => {
  it('parses and formats version 00', () => {
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const f = parseTraceparent(tp)!;
    expect(f).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: 1 });
    expect(formatTraceparent(f)).toBe(tp);
  });

  it('refuses malformed values, all-zero ids and version ff', () => {
    for (const bad of [
      '',
      'garbage',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
    ]) {
      expect(parseTraceparent(bad), bad).toBeUndefined();
    }
  });
});
