/**
 * A span record (span-record.ts) as the OpenTelemetry SDK's `ReadableSpan`, the input of every
 * SDK span exporter (OTLP, in-memory, console...). Runs where the export runs (the export
 * worker, or in process for an exporter handed in); the broker's thread only records.
 * Only types come from the SDK here: it stays an optional dependency.
 */
import type { HrTime, SpanContext } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { SpanAttributeValue } from '../../ports/tracer.js';
import { splitEpochMs, type SpanRecordData } from './span-record.js';

/** ms since the epoch (fractional) as [seconds, nanoseconds], to the microsecond (splitEpochMs). */
export function msToHrTime(ms: number): HrTime {
  const [s, us] = splitEpochMs(ms);
  return [s, us * 1000];
}

export type SpanResource = ReadableSpan['resource'];
export type SpanScope = ReadableSpan['instrumentationScope'];

/** Sampled (flags 01): only sampled spans are recorded. */
const SAMPLED = 1;

export function toReadableSpan(r: SpanRecordData, resource: SpanResource, scope: SpanScope): ReadableSpan {
  const context: SpanContext = { traceId: r.traceId, spanId: r.spanId, traceFlags: SAMPLED };
  const attributes: Record<string, SpanAttributeValue> = {};
  for (const key in r.attributes) {
    const v = r.attributes[key];
    if (v !== undefined) attributes[key] = v;
  }
  return {
    name: r.name,
    kind: r.kind,
    spanContext: () => context,
    parentSpanContext: r.parentSpanId === undefined ? undefined : { traceId: r.traceId, spanId: r.parentSpanId, traceFlags: SAMPLED, isRemote: r.parentRemote },
    startTime: msToHrTime(r.startMs),
    endTime: msToHrTime(r.endMs),
    duration: msToHrTime(Math.max(0, r.endMs - r.startMs)),
    status: r.statusMessage === undefined ? { code: r.statusCode } : { code: r.statusCode, message: r.statusMessage },
    attributes,
    links: [],
    events: [],
    ended: true,
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}
