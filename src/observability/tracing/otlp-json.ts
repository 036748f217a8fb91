/**
 * Span records (span-record.ts) as OTLP/HTTP JSON (OpenTelemetry Protocol, "JSON Protobuf
 * Encoding": lowerCamelCase field names, trace and span ids as hex, enums as integers, 64-bit
 * times as decimal strings), the body of a POST to a collector's /v1/traces.
 *
 * Written out directly instead of through the SDK's transformer: the broker's thread encodes a
 * batch in one tight loop, and what crosses to the export worker is one string (a copy, no
 * structured clone of objects). The output is the SDK's JsonTraceSerializer's for the same
 * spans (test/unit/observability/otlp-json.test.ts compares them).
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

export function encodeAttributes(attributes: Record<string, SpanAttributeValue | undefined>): string {
  let out = '';
  for (const key in attributes) {
    const v = attributes[key];
    if (v === undefined) continue;
    out += `${out === '' ? '' : ','}{"key":${JSON.stringify(key)},"value":${attributeValue(v)}}`;
  }
  return `[${out}]`;
}

/** One span as an OTLP JSON object. Ids are lowercase hex already (W3C Trace Context). */
export function encodeSpan(r: SpanRecordData): string {
  const parent = r.parentSpanId === undefined ? '' : `"parentSpanId":"${r.parentSpanId}",`;
  const status = r.statusMessage === undefined ? `{"code":${r.statusCode}}` : `{"code":${r.statusCode},"message":${JSON.stringify(r.statusMessage)}}`;
  const flags = r.parentSpanId !== undefined && r.parentRemote ? FLAGS_REMOTE_PARENT : FLAGS_LOCAL_PARENT;
  return (
    `{"traceId":"${r.traceId}","spanId":"${r.spanId}",${parent}"name":${JSON.stringify(r.name)},"kind":${r.kind + 1},` +
    `"startTimeUnixNano":"${unixNano(r.startMs)}","endTimeUnixNano":"${unixNano(r.endMs)}",` +
    `"attributes":${encodeAttributes(r.attributes)},"droppedAttributesCount":0,"events":[],"droppedEventsCount":0,` +
    `"status":${status},"links":[],"droppedLinksCount":0,"flags":${flags}}`
  );
}

/** A batch of spans, comma-separated encodeSpan() objects. */
export function encodeSpans(records: readonly SpanRecordData[]): string {
  let out = '';
  for (let i = 0; i < records.length; i++) out += (i === 0 ? '' : ',') + encodeSpan(records[i]!);
  return out;
}

export interface OtlpResource {
  attributes: Record<string, SpanAttributeValue>;
  scope: { name: string; version?: string };
}

/** The request body: one resource, one instrumentation scope, the batch's spans. */
export function encodeRequest(resource: OtlpResource, spans: string): string {
  const scope = resource.scope.version === undefined ? `{"name":${JSON.stringify(resource.scope.name)}}` : `{"name":${JSON.stringify(resource.scope.name)},"version":${JSON.stringify(resource.scope.version)}}`;
  return `{"resourceSpans":[{"resource":{"attributes":${encodeAttributes(resource.attributes)},"droppedAttributesCount":0},"scopeSpans":[{"scope":${scope},"spans":[${spans}]}]}]}`;
}
