/**
 * What identifies an applied config: a sha256 over the normalized config (the validated
 * config with every default filled in, keys sorted) and over the TLS material it names, so
 * that a certificate renewed in place (same path, new content) is a change too. Also the
 * redacted view served by GET /api/config.
 */
import { createHash } from 'node:crypto';
import type { HoldfastConfig } from '../config/index.js';
import type { RuntimeConfig } from '../config/to-runtime.js';

/** JSON with object keys sorted at every level: the same config always gives the same text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

function tlsMaterial(runtime: Pick<RuntimeConfig, 'listeners'>): Record<string, string | null> | null {
  const tls = runtime.listeners.tls;
  return tls === null ? null : { cert: sha256(tls.cert), key: sha256(tls.key), ca: tls.ca === undefined ? null : sha256(tls.ca) };
}

/** The hash of a config and the TLS files it loaded (their contents, not their paths). */
export function configHash(config: HoldfastConfig, runtime: Pick<RuntimeConfig, 'listeners'>): string {
  return sha256(canonicalJson({ config, tls: tlsMaterial(runtime) }));
}

/** The hash of the TLS files' contents alone (a certificate renewed in place changes it). */
export function tlsDigest(runtime: Pick<RuntimeConfig, 'listeners'>): string {
  return sha256(canonicalJson(tlsMaterial(runtime)));
}

/** Keys whose values are secrets: shown as "[redacted]" (password hashes, tokens, keys, secrets). */
const SECRET_KEY = /^(password|passwordHash|token|secret|privateKey|apiKey|accessKey|secretKey|credentials|nkey|seed)$/i;

/** The config without its secrets: for GET /api/config. Header values and URL passwords too. */
export function redactConfig(config: HoldfastConfig): unknown {
  return redact(config);
}

function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => redact(v));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      if (SECRET_KEY.test(k) && v !== null && typeof v !== 'object') out[k] = '[redacted]';
      else if (k === 'headers' && typeof v === 'object' && v !== null && !Array.isArray(v)) {
        out[k] = Object.fromEntries(Object.keys(v).map((h) => [h, '[redacted]']));
      } else out[k] = redact(v);
    }
    return out;
  }
  // URLs anywhere (sink urls, NATS servers...) may carry user:password@.
  if (typeof value === 'string' && value.includes('://') && value.includes('@')) return redactUrl(value);
  return value;
}

function redactUrl(text: string): string {
  try {
    const u = new URL(text);
    if (u.password === '') return text;
    u.password = 'redacted';
    return u.toString();
  } catch {
    return text;
  }
}
