/**
 * W3C Trace Context `traceparent` (https://www.w3.org/TR/trace-context/#traceparent-header):
 * `00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>`. Parsed here so that the broker can
 * carry it in MQTT 5 User Properties without the OpenTelemetry propagator packages.
 */
export interface TraceparentFields {
  traceId: string;
  spanId: string;
  /** Bit 0 = sampled. */
  flags: number;
}

const RE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The fields of a valid `traceparent`, or undefined (all-zero ids and version ff are invalid). */
export function parseTraceparent(value: string): TraceparentFields | undefined {
  const m = RE.exec(value.trim());
  if (m === null) return undefined;
  const [, version, traceId, spanId, flags] = m;
  if (version === 'ff') return undefined;
  // A future version may append fields; version 00 has exactly these (3.2.4).
  if (version === '00' && value.trim().length !== 55) return undefined;
  if (/^0+$/.test(traceId!) || /^0+$/.test(spanId!)) return undefined;
  return { traceId: traceId!, spanId: spanId!, flags: parseInt(flags!, 16) };
}

export function formatTraceparent(f: TraceparentFields): string {
  return `00-${f.traceId}-${f.spanId}-${(f.flags & 0xff).toString(16).padStart(2, '0')}`;
}
