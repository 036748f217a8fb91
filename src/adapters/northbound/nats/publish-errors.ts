/**
 * What a failed JetStream publish means for the message (docs/bridges-nats-postgres.md):
 *
 *   retry      timeout, connection closed / draining / lost, JetStream temporarily
 *              unavailable (503 with an API error), storage limits reached (the stream
 *              may get room), permission or authorization violations (an operator can
 *              fix them: retried, and the error says why), anything unknown.
 *   permanent  the message can never be stored as it is: payload over the server's
 *              max_payload or the stream's max_msg_size (JetStream 10054), a stream other
 *              than the configured one captures the subject (10060, Nats-Expected-Stream),
 *              the stream is sealed (10109), a bad subject or header.
 *   no-stream  "no responders" (503 without an API error): nothing listens on the subject.
 *              Either no stream captures it, or JetStream is not up (yet). The sink asks
 *              the server which (STREAM.NAMES for the subject) before deciding: no stream
 *              -> permanent (or created, with ensureStream); cannot tell -> retry.
 */
import type { NatsError } from 'nats';
import { describe } from './nats-link.js';

export type PublishFailure = { readonly kind: 'retry' | 'permanent' | 'no-stream'; readonly error: string };

/** JetStream API error codes (nats-server server/errors.json). */
export const JS_ERR = {
  STREAM_NOT_FOUND: 10059,
  STREAM_MISMATCH: 10060,
  MESSAGE_TOO_BIG: 10054,
  STREAM_SEALED: 10109,
} as const;

const PERMANENT_CLIENT_CODES = new Set(['MAX_PAYLOAD_EXCEEDED', 'BAD_SUBJECT', 'BAD_HEADER', 'BAD_PAYLOAD', 'INVALID_PAYLOAD']);
const PERMANENT_API_CODES = new Set<number>([JS_ERR.MESSAGE_TOO_BIG, JS_ERR.STREAM_MISMATCH, JS_ERR.STREAM_SEALED]);

export function classifyPublishError(err: unknown): PublishFailure {
  const ne = err as Partial<NatsError> & { code?: unknown };
  const code = typeof ne.code === 'string' ? ne.code : undefined;
  const api = ne.api_error;
  if (api !== undefined) {
    const text = `JetStream ${api.code}${api.err_code !== undefined ? `/${api.err_code}` : ''}: ${api.description}`;
    if (api.err_code !== undefined && PERMANENT_API_CODES.has(api.err_code)) return { kind: 'permanent', error: text };
    if (api.err_code === JS_ERR.STREAM_NOT_FOUND) return { kind: 'no-stream', error: text };
    return { kind: 'retry', error: text };
  }
  if (code === '503') return { kind: 'no-stream', error: 'no responders: no JetStream stream answered for the subject' };
  if (code !== undefined && PERMANENT_CLIENT_CODES.has(code)) return { kind: 'permanent', error: describe(err) };
  if (code === 'PERMISSIONS_VIOLATION' || code === 'AUTHORIZATION_VIOLATION') {
    return { kind: 'retry', error: `not allowed by the NATS server (fix its permissions): ${describe(err)}` };
  }
  return { kind: 'retry', error: describe(err) };
}
