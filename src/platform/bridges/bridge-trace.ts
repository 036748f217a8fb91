/**
 * Client spans of bridge calls (issue 7: "spans for ... bridge calls"): one span per batch a
 * sink sends (`bridge <sink> send`, kind client). A batch mixes many devices, so it is not
 * sampled by device: the tracer's hash sampler is asked about the sink and the batch's
 * sequence number (the configured share of batches), and a batch that failed, whole or in
 * part, is always traced (errors always are). The span is made once the outcome is known,
 * with the batch's start time: nothing is allocated for an unsampled batch that went well.
 */
import type { Tracer } from '../../ports/tracer.js';

export interface BatchTrace {
  sink: string;
  kind: string;
  /** Increasing per sink. */
  seq: number;
  messages: number;
  /** ms since the epoch when the send started. */
  startedAtMs: number;
  /** The whole batch failed (no answer, timeout, refused): why. */
  failure: string | undefined;
  /** Messages the sink answered with a failure (retry or permanent). */
  failedMessages: number;
}

/** Called only when `tracer.enabled` (the caller checks, so nothing is built for the no-op tracer). */
export function traceBatch(tracer: Tracer, b: BatchTrace): void {
  const failed = b.failure !== undefined || b.failedMessages > 0;
  if (!failed && !tracer.sampled(`bridge/${b.sink}/${b.seq}`)) return;
  const span = tracer.startSpan(`bridge ${b.sink} send`, {
    kind: 'client',
    startTimeMs: b.startedAtMs,
    attributes: {
      'holdfast.bridge.sink': b.sink,
      'holdfast.bridge.kind': b.kind,
      'messaging.batch.message_count': b.messages,
      'holdfast.bridge.failed_messages': b.failure !== undefined ? b.messages : b.failedMessages,
    },
  });
  if (b.failure !== undefined) span.fail(b.failure);
  else if (b.failedMessages > 0) span.fail(`${b.failedMessages} of ${b.messages} messages failed`);
  span.end();
}
