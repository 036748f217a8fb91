/**
 * Dead letters: listing them (for /api/bridges and the CLI) and replaying them, i.e.
 * moving them back to their sink's outbox with the attempts reset. A replay puts the
 * entry back and deletes the letter in one store batch (one commit), under the sink's
 * lock, then rewinds the dispatcher so that it reads them (they keep their message ids,
 * hence their idempotency keys, and are sent before newer messages still waiting).
 */
import type { DeadLetter, Store } from '../../ports/store.js';
import type { SinkRuntime } from './sink-runtime.js';
import type { DeadLetterPage, DeadLetterQuery, DeadLetterView, ReplayRequest, ReplayResult } from './types.js';

const PAGE = 1_000;

export function deadLetterView(d: DeadLetter, instanceId: string): DeadLetterView {
  return {
    sink: d.sink,
    messageId: d.messageId,
    idempotencyKey: `${instanceId}-${d.messageId}`,
    topic: d.topic,
    publisherId: d.publisherId,
    qos: d.qos,
    retain: d.retain,
    createdAt: d.createdAt,
    failedAt: d.failedAt,
    attempts: d.attempts,
    error: d.error,
    payloadBytes: d.payload.length,
    payloadBase64: d.payload.toString('base64'),
  };
}

export async function listDeadLetters(store: Store, instanceId: string, q: DeadLetterQuery = {}): Promise<DeadLetterPage> {
  const limit = Math.min(1000, Math.max(1, Math.floor(q.limit ?? 100)));
  const rows = await store.deadLetters(q.sink, q.afterMessageId ?? 0, limit);
  return {
    items: rows.map((d) => deadLetterView(d, instanceId)),
    next: rows.length === limit ? rows[rows.length - 1]!.messageId : undefined,
  };
}

/** Moves dead letters back to the outboxes of their sinks (letters of sinks no longer configured stay). */
export async function replayDeadLetters(store: Store, runtimes: ReadonlyMap<string, SinkRuntime>, req: ReplayRequest = {}): Promise<ReplayResult> {
  const limit = Math.min(100_000, Math.max(1, Math.floor(req.limit ?? 1000)));
  const wanted = req.messageIds === undefined ? undefined : new Set(req.messageIds);
  const result: ReplayResult = { replayed: 0, bySink: {} };
  let after = 0;
  while (result.replayed < limit) {
    const page = await store.deadLetters(req.sink, after, PAGE);
    if (page.length === 0) break;
    after = page[page.length - 1]!.messageId;
    const bySink = new Map<string, DeadLetter[]>();
    for (const d of page) {
      if (wanted !== undefined && !wanted.has(d.messageId)) continue;
      if (!runtimes.has(d.sink)) continue;
      const list = bySink.get(d.sink) ?? [];
      list.push(d);
      bySink.set(d.sink, list);
    }
    for (const [sink, letters] of bySink) {
      const room = limit - result.replayed;
      if (room <= 0) break;
      const moved = await moveBack(store, runtimes.get(sink)!, letters.slice(0, room));
      result.replayed += moved;
      result.bySink[sink] = (result.bySink[sink] ?? 0) + moved;
    }
    if (page.length < PAGE) break;
  }
  return result;
}

async function moveBack(store: Store, rt: SinkRuntime, letters: readonly DeadLetter[]): Promise<number> {
  if (letters.length === 0) return 0;
  await rt.lock.run(() => {
    for (const d of letters) {
      const { error: _error, failedAt: _failedAt, ...entry } = d;
      store.putOutbox({ ...entry, attempts: 0 });
      rt.account.add(d.payload.length, d.createdAt);
    }
    store.deleteDeadLetters(rt.name, letters.map((d) => d.messageId));
    rt.stats.deadLetters = Math.max(0, rt.stats.deadLetters - letters.length);
    rt.stats.totals.replayed += letters.length;
  });
  rt.dispatcher?.rewind(letters[0]!.messageId);
  return letters.length;
}
