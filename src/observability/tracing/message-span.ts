/**
 * The span a message was published under rides on the message itself, under a private
 * symbol, for both tracers (otel-tracer.ts, record-tracer.ts). Not a WeakMap: a WeakMap with
 * thousands of live keys makes every garbage collection process its entries (ephemerons),
 * which cost about as much as the spans themselves (bench/micro/tracing-span-cost.mjs). A plain
 * property (Object.defineProperty made the objects slow again). Symbol keys are skipped by
 * JSON, structuredClone and the store codecs. (A copy made with a spread, as for a retained
 * message, takes the span along, as the same object kept in the index does.)
 */
import type { TraceSpan } from '../../ports/tracer.js';

const MESSAGE_SPAN = Symbol('holdfast.messageSpan');

export function messageSpanOf(message: object): TraceSpan | undefined {
  return (message as { [MESSAGE_SPAN]?: TraceSpan })[MESSAGE_SPAN];
}

/** `undefined` too: every message published while tracing is on gets the slot (see trace-flow.ts tracePublish). */
export function attachMessageSpan(message: object, span: TraceSpan | undefined): void {
  (message as { [MESSAGE_SPAN]?: TraceSpan })[MESSAGE_SPAN] = span;
}
