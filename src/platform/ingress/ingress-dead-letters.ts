/**
 * The ingress's dead letters (sink `ingress:<name>`): a poison message as it came from
 * JetStream (subject as `topic`, body, headers as user properties, stream sequence as
 * `messageId`), and replay: published to its subject again under a new Nats-Msg-Id.
 */
import { headers as natsHeaders, millis, type JetStreamClient, type JsMsg } from 'nats';
import type { DeadLetter, Store } from '../../ports/store.js';
import { headerPairs } from './ingress-consumer.js';

export function ingressDeadLetter(sink: string, m: JsMsg, error: string, now: number): DeadLetter {
  const pairs = headerPairs(m);
  return {
    sink,
    messageId: m.seq,
    topic: m.subject,
    payload: Buffer.from(m.data),
    qos: 0,
    retain: false,
    properties: pairs.length > 0 ? { userProperties: pairs } : undefined,
    publisherId: undefined,
    createdAt: millis(m.info.timestampNanos),
    attempts: m.info.deliveryCount,
    error,
    failedAt: now,
  };
}

/** Publishes the listed dead letters of `sink` again and deletes them; returns how many went. */
export async function replayIngressDeadLetters(
  store: Pick<Store, 'deadLetters' | 'deleteDeadLetters' | 'flush'>,
  js: JetStreamClient,
  sink: string,
  messageIds: readonly number[],
): Promise<number> {
  const wanted = new Set(messageIds);
  let after = 0;
  let done = 0;
  for (;;) {
    const page = await store.deadLetters(sink, after, 500);
    if (page.length === 0) break;
    for (const l of page) {
      after = l.messageId;
      if (!wanted.has(l.messageId)) continue;
      const h = natsHeaders();
      for (const [k, v] of l.properties?.userProperties ?? []) if (k.toLowerCase() !== 'nats-msg-id') h.append(k, v);
      await js.publish(l.topic, l.payload, { headers: h, msgID: `replay-${sink}-${l.messageId}-${l.failedAt}` });
      store.deleteDeadLetters(sink, [l.messageId]);
      done++;
    }
  }
  await store.flush();
  return done;
}
