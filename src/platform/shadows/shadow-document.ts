/**
 * The pure part of device shadows: JSON merge of a partial document (nested objects merge,
 * null deletes a key, arrays and scalars replace: RFC 7396 JSON Merge Patch), per
 * top-level-key timestamps, the delta (desired keys whose value differs from the reported
 * one, compared deeply) and the size of a document.
 */
import type { ShadowRecord } from '../../ports/platform-store.js';
import type { ShadowDocument } from '../contracts.js';

export type JsonObject = Record<string, unknown>;

export function isPlainObject(v: unknown): v is JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Own data property, even for a key like "__proto__" (never the prototype setter). */
function setKey(o: JsonObject, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** RFC 7396: `patch` merged into a copy of `target`; neither argument is modified. */
export function mergePatch(target: JsonObject, patch: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(target)) setKey(out, k, v);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (isPlainObject(v)) {
      const cur = Object.prototype.hasOwnProperty.call(out, k) ? out[k] : undefined;
      setKey(out, k, mergePatch(isPlainObject(cur) ? cur : {}, v));
    } else setKey(out, k, structuredClone(v));
  }
  return out;
}

/** Timestamps after a patch: every top-level key it sets gets `now`, every key it deletes goes. */
export function stampKeys(timestamps: Record<string, number>, patch: JsonObject, now: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(timestamps)) setKey(out, k, v);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else setKey(out, k, now);
  }
  return out;
}

/** Structural equality of JSON values (key order does not matter). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const bo = b as JsonObject;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(bo, k)) return false;
    if (!jsonEqual((a as JsonObject)[k], bo[k])) return false;
  }
  return true;
}

/** Top-level keys of `desired` whose value differs from `reported` (absent counts as different). */
export function computeDelta(desired: JsonObject, reported: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(desired)) {
    const has = Object.prototype.hasOwnProperty.call(reported, k);
    if (!has || !jsonEqual(v, reported[k])) setKey(out, k, v);
  }
  return out;
}

/** UTF-8 bytes of the JSON text of a document. */
export function jsonBytes(doc: unknown): number {
  return Buffer.byteLength(JSON.stringify(doc), 'utf8');
}

export function emptyShadow(deviceId: string): ShadowRecord {
  return { deviceId, desired: {}, reported: {}, version: 0, desiredTimestamps: {}, reportedTimestamps: {}, updatedAt: 0 };
}

export function toDocument(s: ShadowRecord): ShadowDocument {
  return {
    deviceId: s.deviceId,
    desired: s.desired,
    reported: s.reported,
    delta: computeDelta(s.desired, s.reported),
    version: s.version,
    metadata: { desired: s.desiredTimestamps, reported: s.reportedTimestamps },
    updatedAt: s.updatedAt,
  };
}

/** The delta message of `$holdfast/devices/{id}/shadow/delta`: `{ version, delta, metadata }`. */
export function deltaMessage(doc: ShadowDocument): { version: number; delta: JsonObject; metadata: Record<string, number> } {
  const metadata: Record<string, number> = {};
  for (const k of Object.keys(doc.delta)) {
    const t = doc.metadata.desired[k];
    if (t !== undefined) setKey(metadata, k, t);
  }
  return { version: doc.version, delta: doc.delta, metadata };
}
