/**
 * The wire form of commands (issue 5): MQTT 5 request / response (MQTT5 4.10: Response
 * Topic, Correlation Data) and the 3.1.1 JSON envelope; response parsing.
 */
import { describe, expect, it } from 'vitest';
import type { CommandRecord } from '../../../src/ports/platform-store.js';
import {
  MAX_ERROR_LENGTH,
  deviceIdOfResponseTopic,
  encodeCommand,
  parseResponse,
} from '../../../src/platform/commands/command-topics.js';

const cmd: CommandRecord = {
  id: 'c-1',
  deviceId: 'dev.1',
  seq: 1,
  name: 'reboot',
  payload: { delayS: 3 },
  state: 'queued',
  createdAt: 0,
  updatedAt: 0,
  deadlineAt: 1000,
  attempts: 0,
  maxAttempts: 1,
  result: undefined,
  error: undefined,
};

describe('issue 5 commands: encoding', () => {
  it('MQTT5 4.10: payload = the command payload, Response Topic, Correlation Data = id, User Property command', () => {
    const e = encodeCommand(cmd, 5);
    expect(JSON.parse(e.payload.toString())).toEqual({ delayS: 3 });
    expect(e.properties?.responseTopic).toBe('$holdfast/devices/dev.1/commands/response');
    expect(e.properties?.correlationData?.toString('utf8')).toBe('c-1');
    expect(e.properties?.userProperties).toEqual([['command', 'reboot']]);
  });

  it('3.1.1 (and 3.1): the JSON envelope { id, name, payload } and no properties', () => {
    for (const v of [3, 4]) {
      const e = encodeCommand({ ...cmd, payload: undefined }, v);
      expect(e.properties).toBeUndefined();
      expect(JSON.parse(e.payload.toString())).toEqual({ id: 'c-1', name: 'reboot', payload: null });
    }
  });
});

describe('issue 5 commands: responses', () => {
  it('takes the id from the Correlation Data first, else from the envelope', () => {
    expect(parseResponse(Buffer.from('{"ok":true,"result":5}'), Buffer.from('c-9'))).toEqual({ ok: true, commandId: 'c-9', success: true, result: 5 });
    expect(parseResponse(Buffer.from('{"id":"c-2","ok":true}'), undefined)).toEqual({ ok: true, commandId: 'c-2', success: true, result: null });
    expect(parseResponse(Buffer.from('{"id":"c-2","ok":false,"error":"nope"}'), undefined)).toEqual({
      ok: true,
      commandId: 'c-2',
      success: false,
      error: 'nope',
    });
  });

  it('a failure without an error string still fails, and long errors are cut', () => {
    expect(parseResponse(Buffer.from('{"id":"x","ok":false}'), undefined)).toMatchObject({ success: false, error: 'failed' });
    expect(parseResponse(Buffer.from('{"id":"x","ok":false,"error":{"code":7}}'), undefined)).toMatchObject({ error: '{"code":7}' });
    const long = parseResponse(Buffer.from(JSON.stringify({ id: 'x', ok: false, error: 'e'.repeat(5000) })), undefined);
    expect(long.ok && !long.success && long.error.length).toBe(MAX_ERROR_LENGTH);
  });

  it('refuses what is not a response', () => {
    for (const [body, cd] of [
      ['not json', undefined],
      ['[1]', undefined],
      ['{"ok":true}', undefined],
      ['{"id":"x","ok":"yes"}', undefined],
      ['{"ok":true}', Buffer.alloc(0)],
    ] as const) {
      expect(parseResponse(Buffer.from(body), cd).ok).toBe(false);
    }
  });

  it('knows the response topic of a device and nothing else', () => {
    expect(deviceIdOfResponseTopic('$holdfast/devices/a:b/commands/response')).toBe('a:b');
    expect(deviceIdOfResponseTopic('$holdfast/devices//commands/response')).toBeUndefined();
    expect(deviceIdOfResponseTopic('$holdfast/devices/a/commands')).toBeUndefined();
    expect(deviceIdOfResponseTopic('devices/a/commands/response')).toBeUndefined();
  });
});
