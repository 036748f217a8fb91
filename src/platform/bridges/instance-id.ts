/**
 * The stable id of this installation: the first half of every idempotency key
 * (`${instanceId}-${messageId}`), so that keys stay the same across restarts and retries
 * and differ between installations feeding one sink. Configured (`bridges.instanceId`), or
 * made at random once and kept in the store under `bridges/instanceId`; a fresh id is
 * committed before it is used, so a crash cannot send one message under two keys.
 */
import { randomBytes } from 'node:crypto';
import type { Store } from '../../ports/store.js';

export const INSTANCE_ID_KEY = 'bridges/instanceId';

export async function loadInstanceId(store: Store, configured: string | undefined): Promise<string> {
  if (configured !== undefined) return configured;
  const kept = await store.getMeta(INSTANCE_ID_KEY);
  if (kept !== undefined && kept.length > 0) return kept.toString('utf8');
  const id = randomBytes(9).toString('base64url');
  store.putMeta(INSTANCE_ID_KEY, Buffer.from(id, 'utf8'));
  await store.flush();
  return id;
}
