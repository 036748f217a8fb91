/**
 * The reserved shadow topics of a device (platform brief):
 *   device -> `$holdfast/devices/{id}/shadow/update`  `{ "reported": {...}, "version"?: n }`
 *   server -> `.../shadow/update/accepted` (document) | `.../shadow/update/rejected` (`{ code, message }`)
 *   device -> `.../shadow/get` (empty)
 *   server -> `.../shadow/get/accepted` (document) | `.../shadow/get/rejected` (`{ code, message }`)
 *   server -> `.../shadow/delta` `{ version, delta, metadata }`
 */
import { isPlainObject, type JsonObject } from './shadow-document.js';

export const SHADOW_UPDATE_FILTER = '$holdfast/devices/+/shadow/update';
export const SHADOW_GET_FILTER = '$holdfast/devices/+/shadow/get';

export type ShadowReplyTopic = 'update/accepted' | 'update/rejected' | 'get/accepted' | 'get/rejected' | 'delta';

export function shadowTopic(deviceId: string, leaf: ShadowReplyTopic | 'update' | 'get'): string {
  return `$holdfast/devices/${deviceId}/shadow/${leaf}`;
}

/** The {id} of `$holdfast/devices/{id}/shadow/...`, or undefined for another topic. */
export function deviceIdOfShadowTopic(topic: string): string | undefined {
  const parts = topic.split('/');
  if (parts.length < 5 || parts[0] !== '$holdfast' || parts[1] !== 'devices' || parts[3] !== 'shadow') return undefined;
  return parts[2] === '' ? undefined : parts[2];
}

export type ParsedUpdate = { ok: true; reported: JsonObject; version: number | undefined } | { ok: false; message: string };

/** A device's update message: a JSON object with an object `reported` and an optional integer `version`. */
export function parseDeviceUpdate(payload: Buffer): ParsedUpdate {
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, message: 'payload is not JSON' };
  }
  if (!isPlainObject(body)) return { ok: false, message: 'payload must be a JSON object' };
  if (!isPlainObject(body.reported)) return { ok: false, message: '"reported" must be a JSON object' };
  const v = body.version;
  if (v !== undefined && !(typeof v === 'number' && Number.isSafeInteger(v) && v >= 0)) {
    return { ok: false, message: '"version" must be a non-negative integer' };
  }
  return { ok: true, reported: body.reported, version: v };
}
