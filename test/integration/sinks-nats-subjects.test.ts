/**
 * The NATS sink's pure parts (no server): subject templates and token sanitizing (round
 * trip with the ingress's decoder, property-based), stream subjects for ensureStream,
 * option checks, and how publish errors are classified.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileSubjectTemplate, resolveNatsSinkOptions, sanitizeToken, streamSubjectsOf, topicToSubject } from '../../src/adapters/northbound/nats/index.js';
import { classifyPublishError } from '../../src/adapters/northbound/nats/publish-errors.js';
import { isValidSubject } from '../../src/adapters/northbound/nats/subject-template.js';
import { decodeToken } from '../../src/platform/ingress/index.js';

describe('NATS sink subjects', () => {
  it('a topic level becomes one valid token, and the ingress decodes it back (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 30 }), (a, b) => {
        for (const level of [a, b]) {
          const t = sanitizeToken(level);
          expect(t.length).toBeGreaterThan(0);
          expect(t).not.toMatch(/[.*>\s]/);
          expect(t.startsWith('$')).toBe(false);
          expect(decodeToken(t)).toBe(level);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('a whole topic maps to a valid subject and back (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 8 }), { minLength: 1, maxLength: 6 }), (levels) => {
        const topic = levels.join('/');
        const subject = topicToSubject(topic);
        expect(isValidSubject(subject)).toBe(true);
        expect(subject.split('.').map(decodeToken).join('/')).toBe(topic);
      }),
      { numRuns: 200 },
    );
  });

  it('templates: {topic}, {clientId}, {qos}; unknown placeholders and invalid literals are refused', () => {
    const t = compileSubjectTemplate('iot.{clientId}.q{qos}.{topic}');
    expect(t({ topic: 'a/b.c', publisherId: 'dev 1', qos: 1 })).toBe('iot.dev%201.q1.a.b%2Ec');
    expect(t({ topic: 'x', publisherId: undefined, qos: 0 })).toBe('iot._.q0.x');
    expect(() => compileSubjectTemplate('iot.{device}')).toThrow(/unknown placeholder/);
    expect(() => compileSubjectTemplate('iot..{topic}')).toThrow(/valid NATS subject/);
    expect(() => compileSubjectTemplate('iot.*.{topic}')).toThrow(/valid NATS subject/);
  });

  it('stream subjects derived from the template (ensureStream), or undefined when {topic} is not last', () => {
    expect(streamSubjectsOf('holdfast.{topic}')).toEqual(['holdfast.>']);
    expect(streamSubjectsOf('iot.{clientId}.{topic}')).toEqual(['iot.*.>']);
    expect(streamSubjectsOf('iot.{topic}.raw')).toBeUndefined();
    expect(() => resolveNatsSinkOptions({ name: 'n', subjectTemplate: 'iot.{topic}.raw', stream: 'S', ensureStream: true })).toThrow(/streamSubjects/);
    expect(() => resolveNatsSinkOptions({ name: 'n', ensureStream: true })).toThrow(/needs stream/);
    expect(resolveNatsSinkOptions({ name: 'n' })).toMatchObject({ subjectTemplate: 'holdfast.{topic}', maxInFlight: 256, ensureStream: false });
  });

  it('publish errors: timeouts and connection loss retry; too large, stream mismatch permanent; no responders -> no-stream', () => {
    const err = (code: string, api?: { code: number; err_code: number; description: string }) => Object.assign(new Error(code), { code, api_error: api });
    expect(classifyPublishError(err('TIMEOUT')).kind).toBe('retry');
    expect(classifyPublishError(err('CONNECTION_CLOSED')).kind).toBe('retry');
    expect(classifyPublishError(err('503')).kind).toBe('no-stream');
    expect(classifyPublishError(err('503', { code: 503, err_code: 10008, description: 'JetStream system temporarily unavailable' })).kind).toBe('retry');
    expect(classifyPublishError(err('MAX_PAYLOAD_EXCEEDED')).kind).toBe('permanent');
    expect(classifyPublishError(err('400', { code: 400, err_code: 10054, description: 'message size exceeds maximum allowed' })).kind).toBe('permanent');
    expect(classifyPublishError(err('400', { code: 400, err_code: 10060, description: 'expected stream does not match' })).kind).toBe('permanent');
    expect(classifyPublishError(err('503', { code: 503, err_code: 10077, description: 'maximum messages exceeded' })).kind).toBe('retry');
    expect(classifyPublishError(err('PERMISSIONS_VIOLATION')).error).toMatch(/permissions/);
  });
});
