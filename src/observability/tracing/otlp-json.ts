/**
 * Span records (span-record.ts) as OTLP/HTTP JSON (OpenTelemetry Protocol, "JSON Protobuf
 * Encoding": lowerCamelCase field names, trace and span ids as hex, enums as integers, 64-bit
 * times as decimal strings), the body of a POST to a collector's /v1/traces.
 *
 * Written out directly instead of through the SDK's transformer: the broker's thread encodes
 * a batch in one loop into a buffer of its own (encoded-batch.ts), and what crosses to the
 * export worker is that buffer (transferred, no structured clone of objects). The output is
 * the SDK's JsonTraceSerializer's for the same spans less the fields at their default value
 * (test/unit/observability/otlp-json.test.ts compares them).
 */
import type { SpanAttributeValue } from '../../ports/tracer.js';
import { splitEpochMs, type SpanRecordData } from './span-record.js';

/** W3C trace flags "sampled" plus OTLP's "has is_remote" (0x100) and "is_remote" (0x200) bits. */
const FLAGS_LOCAL_PARENT = 0x101;
const FLAGS_REMOTE_PARENT = 0x301;

/** epoch ms (fractional) as decimal ns, to the microsecond (splitEpochMs). */
function unixNano(ms: number): string {
  const [s, us] = splitEpochMs(ms);
  return `${s}${String(us).padStart(6, '0')}000`;
}

function attributeValue(v: SpanAttributeValue): string {
  if (typeof v === 'string') return `{"stringValue":${JSON.stringify(v)}}`;
  if (typeof v === 'boolean') return `{"boolValue":${v}}`;
  if (Number.isInteger(v)) return `{"intValue":${v}}`;
  // NaN and Infinity have no JSON number: as the SDK's encoder, they become strings.
  return Number.isFinite(v) ? `{"doubleValue":${v}}` : `{"doubleValue":"${v}"}`;
}

/** `{"key":"<key>","value":` per attribute key and `"<name>"` per span name: a few dozen in use, bounded. */
const quoted = new Map<string, string>();
const QUOTED_MAX = 512;
function quote(s: string): string {
  let q = quoted.get(s);
  if (q === undefined) {
    q = JSON.stringify(s);
    if (quoted.size < QUOTED_MAX) quoted.set(s, q);
  }
  return q;
}

export function encodeAttributes(attributes: Record<string, SpanAttributeValue | undefined>): string {
  let out = '';
  for (const key in attributes) {
    const v = attributes[key];
    if (v === undefined) continue;
    out += `${out === '' ? '{"key":' : ',{"key":'}${quote(key)},"value":${attributeValue(v)}}`;
  }
  return `[${out}]`;
}

/**
 * One span as an OTLP JSON object. Ids are lowercase hex already (W3C Trace Context). Fields
 * at their default value are left out, as the protobuf JSON mapping allows (no events, no
 * links, nothing dropped, status unset): a fifth fewer bytes to encode, post and send.
 */
export function encodeSpan(r: SpanRecordData): string {
  const parent = r.parentSpanId === undefined ? '' : `"parentSpanId":"${r.parentSpanId}",`;
  const status =
    r.statusCode === 0 && r.statusMessage === undefined
      ? ''
      : r.statusMessage === undefined
        ? `"status":{"code":${r.statusCode}},`
        : `"status":{"code":${r.statusCode},"message":${JSON.stringify(r.statusMessage)}},`;
  const flags = r.parentSpanId !== undefined && r.parentRemote ? FLAGS_REMOTE_PARENT : FLAGS_LOCAL_PARENT;
  return (
    `{"traceId":"${r.traceId}","spanId":"${r.spanId}",${parent}"name":${quote(r.name)},"kind":${r.kind + 1},` +
    `"startTimeUnixNano":"${unixNano(r.startMs)}","endTimeUnixNano":"${unixNano(r.endMs)}",` +
    `"attributes":${encodeAttributes(r.attributes)},${status}"flags":${flags}}`
  );
}

export interface OtlpResource {
  attributes: Record<string, SpanAttributeValue>;
  scope: { name: string; version?: string };
}

/** The request body: one resource, one instrumentation scope, the batch's spans. */
export function encodeRequest(resource: OtlpResource, spans: string): string {
  const scope = resource.scope.version === undefined ? `{"name":${JSON.stringify(resource.scope.name)}}` : `{"name":${JSON.stringify(resource.scope.name)},"version":${JSON.stringify(resource.scope.version)}}`;
  return `{"resourceSpans":[{"resource":{"attributes":${encodeAttributes(resource.attributes)}},"scopeSpans":[{"scope":${scope},"spans":[${spans}]}]}]}`;
}
