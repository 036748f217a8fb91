/**
 * The ingress's pure parts (no server): how a NATS message becomes a publish, a command or
 * an invalid message, and the dedupe window's ring in the store (bounded, read back after
 * a restart, the newest ids kept).
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/persistence/memory/index.js';
import { DedupeWindow, mapIngressMessage, resolveIngressOptions, type IngressMessage } from '../../src/platform/ingress/index.js';

function msg(subject: string, body = '', headers: Record<string, string> = {}): IngressMessage {
  const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { subject, data: Buffer.from(body), header: (n) => lower.get(n.toLowerCase()), headerNames: () => Object.keys(headers) };
}

const limits = { maxLength: 65535, maxLevels: 128 };

describe('ingress mapping', () => {
  const o = resolveIngressOptions({ name: 'm', stream: 'S', mapping: { subjectPrefix: 'in', topicPrefix: 'n/' }, commands: { enabled: true, subjectPrefix: 'cmd' } });

  it('publish: topic from the subject under the prefix, or from the header; QoS / retain / expiry headers', () => {
    expect(mapIngressMessage(msg('in.a.b'), o.mapping, o.commands, limits)).toMatchObject({ kind: 'publish', topic: 'n/a/b', qos: 1, retain: false });
    const h = mapIngressMessage(msg('other', 'x', { 'holdfast-topic': 't/1', 'Holdfast-Qos': '2', 'Holdfast-Retain': 'TRUE', 'Holdfast-Message-Expiry-S': '60', 'X-A': '1', 'Nats-Msg-Id': 'z' }), o.mapping, o.commands, limits);
    expect(h).toMatchObject({ kind: 'publish', topic: 't/1', qos: 2, retain: true, messageExpiryS: 60, properties: { userProperties: [['X-A', '1']] } });
  });

  it('invalid: outside the prefix without a header, wildcards (MQTT-4.7.1-1), $ topics, bad header values, too large', () => {
    const kind = (m: IngressMessage) => mapIngressMessage(m, o.mapping, o.commands, limits);
    expect(kind(msg('elsewhere.a'))).toMatchObject({ kind: 'invalid' });
    expect(kind(msg('x', '', { 'Holdfast-Topic': 'a/#' }))).toMatchObject({ kind: 'invalid', reason: expect.stringContaining('valid MQTT topic') });
    expect(kind(msg('x', '', { 'Holdfast-Topic': '$SYS/x' }))).toMatchObject({ kind: 'invalid', reason: expect.stringContaining('reserved') });
    expect(kind(msg('in.a', '', { 'Holdfast-Qos': '3' }))).toMatchObject({ kind: 'invalid' });
    expect(kind(msg('in.a', '', { 'Holdfast-Retain': 'maybe' }))).toMatchObject({ kind: 'invalid' });
    const small = resolveIngressOptions({ name: 'm', stream: 'S', mapping: { maxPayloadBytes: 4 } });
    expect(mapIngressMessage(msg('a', 'hello'), small.mapping, small.commands, limits)).toMatchObject({ kind: 'invalid', reason: expect.stringContaining('maxPayloadBytes') });
  });

  it('commands: <prefix>.<device with dots>.<name>, or the Holdfast-Command header; the body must be JSON', () => {
    const map = (m: IngressMessage) => mapIngressMessage(m, o.mapping, o.commands, limits);
    expect(map(msg('cmd.pump.7.start', '{"s":1}'))).toEqual({ kind: 'command', deviceId: 'pump.7', command: { name: 'start', payload: { s: 1 } } });
    expect(map(msg('in.x', '', { 'Holdfast-Command': 'reboot', 'Holdfast-Device': 'd1', 'Holdfast-Command-Timeout-Ms': '5000' }))).toEqual({
      kind: 'command',
      deviceId: 'd1',
      command: { name: 'reboot', payload: null, timeoutMs: 5000 },
    });
    expect(map(msg('cmd.onlyname'))).toMatchObject({ kind: 'invalid' });
    expect(map(msg('cmd.d1.go', 'not json'))).toMatchObject({ kind: 'invalid', reason: expect.stringContaining('JSON') });
    const off = resolveIngressOptions({ name: 'm', stream: 'S' });
    expect(mapIngressMessage(msg('cmd.d1.go'), off.mapping, off.commands, limits)).toMatchObject({ kind: 'publish', topic: 'cmd/d1/go' });
  });
});

describe('ingress dedupe window', () => {
  it('keeps the newest N ids, one store key per slot, and reads them back after a restart', async () => {
    const store = new MemoryStore();
    await store.open();
    const w = new DedupeWindow(store, 'ingress/x', 3);
    await w.load();
    for (const id of ['a', 'b', 'c', 'd']) w.add(id);
    expect(['a', 'b', 'c', 'd'].map((id) => w.has(id))).toEqual([false, true, true, true]);
    expect(w.count).toBe(3);
    const again = new DedupeWindow(store, 'ingress/x', 3);
    await again.load();
    expect(['a', 'b', 'c', 'd'].map((id) => again.has(id))).toEqual([false, true, true, true]);
    again.add('e'); // continues after the newest counter: evicts b, the oldest
    expect(['b', 'c', 'd', 'e'].map((id) => again.has(id))).toEqual([false, true, true, true]);
    again.forget(['e']);
    expect(again.has('e')).toBe(false);
    expect((await store.getMeta('ingress/x/dedupe/1'))?.toString()).toBe('4 e');
  });

  it('an id added again stays when its older slot is overwritten', async () => {
    const store = new MemoryStore();
    const w = new DedupeWindow(store, 'ingress/y', 2);
    await w.load();
    w.add('a');
    w.add('a');
    w.add('b'); // overwrites slot 0 (the first 'a'); the second 'a' is newer
    expect(w.has('a')).toBe(true);
    expect(w.has('b')).toBe(true);
  });
});
