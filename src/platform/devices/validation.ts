/**
 * Input checks of the device registry, with messages that say what is wrong and what is
 * allowed (the admin API returns them as 400 INVALID_INPUT).
 *
 * Bounds:
 * - id: /^[A-Za-z0-9._:-]{1,128}$/ (it is also the MQTT client id; no `/`, `+`, `#`, so it
 *   can stand in a topic level);
 * - type: /^[A-Za-z0-9._:-]{1,64}$/ (it is substituted for {type} in ACL templates);
 * - labels: at most 32, keys /^[A-Za-z0-9._:/-]{1,64}$/, values strings of at most 256 chars;
 * - metadata: a JSON object of at most 16 KiB once serialized.
 */
import { PlatformError } from '../errors.js';

export const DEVICE_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
export const DEVICE_TYPE_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;
export const LABEL_KEY_PATTERN = /^[A-Za-z0-9._:/-]{1,64}$/;
export const MAX_LABELS = 32;
export const MAX_LABEL_VALUE_CHARS = 256;
export const MAX_METADATA_BYTES = 16 * 1024;

function invalid(message: string, field: string): PlatformError {
  return new PlatformError('INVALID_INPUT', message, { details: { field } });
}

export function isDeviceId(id: unknown): id is string {
  return typeof id === 'string' && DEVICE_ID_PATTERN.test(id);
}

export function checkDeviceId(id: unknown): string {
  if (!isDeviceId(id)) {
    throw invalid('device id must be 1-128 characters of A-Z a-z 0-9 . _ : - (it is also the MQTT client id)', 'id');
  }
  return id;
}

export function checkType(type: unknown): string {
  if (typeof type !== 'string' || !DEVICE_TYPE_PATTERN.test(type)) {
    throw invalid('device type must be a non-empty string of at most 64 characters of A-Z a-z 0-9 . _ : -', 'type');
  }
  return type;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

export function checkLabels(labels: unknown): Record<string, string> {
  if (!isPlainObject(labels)) throw invalid('labels must be an object of string values', 'labels');
  const entries = Object.entries(labels);
  if (entries.length > MAX_LABELS) throw invalid(`at most ${MAX_LABELS} labels, got ${entries.length}`, 'labels');
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (!LABEL_KEY_PATTERN.test(k)) {
      throw invalid(`label key "${k.slice(0, 80)}" must be 1-64 characters of A-Z a-z 0-9 . _ : / -`, 'labels');
    }
    if (typeof v !== 'string') throw invalid(`label "${k}" must be a string`, 'labels');
    if (v.length > MAX_LABEL_VALUE_CHARS) {
      throw invalid(`label "${k}" is ${v.length} characters long; at most ${MAX_LABEL_VALUE_CHARS}`, 'labels');
    }
    out[k] = v;
  }
  return out;
}

export function checkMetadata(metadata: unknown): Record<string, unknown> {
  if (!isPlainObject(metadata)) throw invalid('metadata must be a JSON object', 'metadata');
  let text: string;
  try {
    text = JSON.stringify(metadata);
  } catch (err) {
    throw invalid(`metadata must be JSON-serializable: ${(err as Error).message}`, 'metadata');
  }
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_METADATA_BYTES) throw invalid(`metadata is ${bytes} bytes as JSON; at most ${MAX_METADATA_BYTES}`, 'metadata');
  // What is stored is what JSON keeps (no undefined, functions, Dates as objects...).
  return JSON.parse(text) as Record<string, unknown>;
}

export function checkEnabled(enabled: unknown): boolean {
  if (typeof enabled !== 'boolean') throw invalid('enabled must be true or false', 'enabled');
  return enabled;
}

export function checkLimit(limit: unknown): number {
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw invalid('limit must be an integer from 1 to 1000', 'limit');
  }
  return limit;
}
