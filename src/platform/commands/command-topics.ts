/**
 * The wire form of commands (platform brief):
 *   server -> `$holdfast/devices/{id}/commands`, QoS 1.
 *     MQTT 5: payload = JSON of the command payload; properties: Response Topic
 *       `$holdfast/devices/{id}/commands/response`, Correlation Data = UTF-8 command id,
 *       User Property ['command', name] (MQTT5 4.10 request / response).
 *     3.1.1: payload = JSON envelope `{ "id", "name", "payload" }`.
 *   device -> `$holdfast/devices/{id}/commands/response`:
 *     MQTT 5: Correlation Data = command id, payload `{ "ok": true, "result"? }` | `{ "ok": false, "error" }`;
 *     3.1.1: payload `{ "id", "ok", "result"?, "error"? }`.
 */
import type { Properties } from '../../codec/mqtt/packets.js';
import type { CommandRecord } from '../../ports/platform-store.js';

export const COMMAND_RESPONSE_FILTER = '$holdfast/devices/+/commands/response';

/** Errors longer than this (UTF-16 units) are cut: a device cannot grow a record without limit. */
export const MAX_ERROR_LENGTH = 1024;

export function commandTopic(deviceId: string): string {
  return `$holdfast/devices/${deviceId}/commands`;
}

export function responseTopic(deviceId: string): string {
  return `$holdfast/devices/${deviceId}/commands/response`;
}

/** The {id} of `$holdfast/devices/{id}/commands/response`, or undefined. */
export function deviceIdOfResponseTopic(topic: string): string | undefined {
  const parts = topic.split('/');
  if (parts.length !== 5 || parts[0] !== '$holdfast' || parts[1] !== 'devices' || parts[3] !== 'commands' || parts[4] !== 'response') {
    return undefined;
  }
  return parts[2] === '' ? undefined : parts[2];
}

export interface EncodedCommand {
  payload: Buffer;
  properties: Properties | undefined;
}

/** The PUBLISH of a command for a device speaking `protocolVersion`. */
export function encodeCommand(c: CommandRecord, protocolVersion: number): EncodedCommand {
  if (protocolVersion >= 5) {
    return {
      payload: Buffer.from(JSON.stringify(c.payload ?? null), 'utf8'),
      properties: {
        payloadFormatIndicator: 1,
        contentType: 'application/json',
        responseTopic: responseTopic(c.deviceId),
        correlationData: Buffer.from(c.id, 'utf8'),
        userProperties: [['command', c.name]],
      },
    };
  }
  return { payload: Buffer.from(JSON.stringify({ id: c.id, name: c.name, payload: c.payload ?? null }), 'utf8'), properties: undefined };
}

export type ParsedResponse =
  | { ok: true; commandId: string; success: true; result: unknown }
  | { ok: true; commandId: string; success: false; error: string }
  | { ok: false; message: string };

/**
 * A device's response: the command id from the Correlation Data (MQTT 5) or else from the
 * envelope's "id" (3.1.1; accepted from MQTT 5 devices too), and `ok` with result or error.
 */
export function parseResponse(payload: Buffer, correlationData: Buffer | undefined): ParsedResponse {
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, message: 'response payload is not JSON' };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, message: 'response must be a JSON object' };
  const o = body as Record<string, unknown>;
  const commandId = correlationData !== undefined && correlationData.length > 0 ? correlationData.toString('utf8') : o.id;
  if (typeof commandId !== 'string' || commandId === '') return { ok: false, message: 'response names no command (correlation data or "id")' };
  if (o.ok === true) return { ok: true, commandId, success: true, result: o.result ?? null };
  if (o.ok === false) {
    const raw = typeof o.error === 'string' ? o.error : o.error === undefined ? 'failed' : JSON.stringify(o.error);
    return { ok: true, commandId, success: false, error: raw.slice(0, MAX_ERROR_LENGTH) };
  }
  return { ok: false, message: 'response must have "ok": true or false' };
}
