/**
 * The webhook signature: `X-Holdfast-Signature: sha256=<hex HMAC-SHA256 of the exact body
 * bytes, keyed with the sink's secret>`. `verifyWebhookSignature` is what a receiver runs
 * (constant-time comparison); replays of a captured request are harmless because the
 * receiver dedupes on the Idempotency-Key it carries.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-holdfast-signature';
export const TIMESTAMP_HEADER = 'x-holdfast-timestamp';

export function signWebhookBody(secret: string, body: Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function verifyWebhookSignature(secret: string, body: Buffer, header: string | undefined): boolean {
  if (header === undefined) return false;
  const expected = Buffer.from(signWebhookBody(secret, body));
  const got = Buffer.from(header);
  return got.length === expected.length && timingSafeEqual(got, expected);
}
