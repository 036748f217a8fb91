/**
 * Request bodies of the webhook sink.
 * - single mode: the message body as is (the payload, or the route's template output),
 *   with a content type from the MQTT 5 Content Type property, else application/json when
 *   the body is JSON, else application/octet-stream.
 * - batch mode: one JSON document `{"messages":[...]}` with, per message, idempotencyKey,
 *   messageId, topic, clientId (null for the broker's own messages), qos, timestamp
 *   (ms since epoch, arrival at the broker), attempt, contentType (when the publisher set
 *   one), and exactly one of `payload` (the body itself when it is UTF-8 JSON) or
 *   `payloadBase64` (any other body).
 */
import { isUtf8 } from 'node:buffer';
import type { SinkMessage } from '../../../ports/sink.js';

/** The body's JSON text when it is valid UTF-8 JSON, else undefined. */
export function jsonTextOf(body: Buffer): string | undefined {
  if (body.length === 0 || !isUtf8(body)) return undefined;
  const text = body.toString('utf8');
  try {
    JSON.parse(text);
    return text;
  } catch {
    return undefined;
  }
}

export function contentTypeOf(m: SinkMessage): string {
  const declared = m.properties?.contentType;
  if (declared !== undefined && /^[\x20-\x7e]+$/.test(declared)) return declared;
  return jsonTextOf(m.body) !== undefined ? 'application/json' : 'application/octet-stream';
}

export function batchBody(batch: readonly SinkMessage[]): Buffer {
  const parts = batch.map((m) => {
    const json = jsonTextOf(m.body);
    const ct = m.properties?.contentType;
    return (
      `{"idempotencyKey":${JSON.stringify(m.idempotencyKey)},"messageId":${m.messageId},"topic":${JSON.stringify(m.topic)},` +
      `"clientId":${JSON.stringify(m.publisherId ?? null)},"qos":${m.qos},"timestamp":${m.createdAt},"attempt":${m.attempt}` +
      (ct !== undefined ? `,"contentType":${JSON.stringify(ct)}` : '') +
      (json !== undefined ? `,"payload":${json}}` : `,"payloadBase64":"${m.body.toString('base64')}"}`)
    );
  });
  return Buffer.from(`{"messages":[${parts.join(',')}]}`, 'utf8');
}
