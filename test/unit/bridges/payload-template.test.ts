import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileTemplate, PLACEHOLDERS } from '../../../src/platform/bridges/index.js';

const input = (payload: Buffer, topic = 'a/b') => ({ topic, clientId: 'dev-1', messageId: 42, idempotencyKey: 'inst-42', qos: 1, timestamp: 1_700_000_000_123, payload });

describe('payload templates', () => {
  it('renders every placeholder', () => {
    const t = compileTemplate(
      '{"t":"{topic}","c":"{clientId}","id":{messageId},"k":"{idempotencyKey}","q":{qos},"ts":{timestamp},"iso":"{timestampIso}","b64":"{payloadBase64}","u":"{payloadUtf8}","j":{payloadJson}}',
    );
    expect(JSON.parse(t.render(input(Buffer.from('{"x":[1,2]}'))).toString())).toEqual({
      t: 'a/b',
      c: 'dev-1',
      id: 42,
      k: 'inst-42',
      q: 1,
      ts: 1_700_000_000_123,
      iso: '2023-11-14T22:13:20.123Z',
      b64: Buffer.from('{"x":[1,2]}').toString('base64'),
      u: '{"x":[1,2]}',
      j: { x: [1, 2] },
    });
    expect(PLACEHOLDERS).toHaveLength(10);
  });

  it('{payloadJson} is null for a payload that is not JSON (or empty); literal braces stay', () => {
    const t = compileTemplate('{"j":{payloadJson},"lit":"{}"}');
    expect(JSON.parse(t.render(input(Buffer.from('not json'))).toString())).toEqual({ j: null, lit: '{}' });
    expect(JSON.parse(t.render(input(Buffer.alloc(0))).toString())).toEqual({ j: null, lit: '{}' });
  });

  it('always renders valid JSON whatever the topic, client id and payload hold (property)', () => {
    const t = compileTemplate('{"t":"{topic}","c":"{clientId}","u":"{payloadUtf8}","j":{payloadJson},"b":"{payloadBase64}"}');
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.uint8Array({ maxLength: 64 }), (topic, clientId, bytes) => {
        const payload = Buffer.from(bytes);
        const out = JSON.parse(t.render({ ...input(payload, topic), clientId }).toString()) as Record<string, unknown>;
        expect(out.t).toBe(topic);
        expect(out.c).toBe(clientId);
        expect(Buffer.from(out.b as string, 'base64').equals(payload)).toBe(true);
      }),
    );
  });

  it('refuses unknown placeholders and templates that do not render JSON', () => {
    expect(() => compileTemplate('{"t":"{topc}"}')).toThrow(/unknown placeholder \{topc\}/);
    expect(() => compileTemplate('{"t":{topic}}')).toThrow(/does not render valid JSON/);
    expect(() => compileTemplate('{"u":{payloadUtf8}}')).toThrow(/does not render valid JSON/);
  });
});
