/**
 * /api/bridges: per sink state, breaker, outbox depth and age, rates and dead letters;
 * the dead letters (paged) and their replay (issue 9, docs/bridges.md). Mounted whenever
 * bridges are configured, with or without the device platform.
 */
import type { DeadLetterPage, DeadLetterQuery, ReplayRequest, ReplayResult } from '../../platform/bridges/index.js';
import type { BridgesView } from '../bridges.js';
import { ApiError } from './api-errors.js';
import { BridgesStatusSchema, DeadLetterPageSchema, DeadLettersQuery, ReplayBody, ReplayResultSchema } from './bridges-schemas.js';
import { defineRoute, type AnyRoute } from './route.js';
import { ErrorBody } from './schemas.js';

/** What the routes need (src/app/bridges.ts BridgesHandle). */
export interface BridgesApi {
  status(): BridgesView;
  deadLetters(q?: DeadLetterQuery): Promise<DeadLetterPage>;
  replay(req?: ReplayRequest): Promise<ReplayResult>;
  hasSink(sink: string): boolean;
}

export function bridgeRoutes(bridges: BridgesApi): AnyRoute[] {
  const known = (sink: string | undefined): void => {
    if (sink !== undefined && !bridges.hasSink(sink)) throw new ApiError('SINK_NOT_FOUND', `no bridge sink or ingress named ${sink} is configured`);
  };
  return [
    defineRoute({
      method: 'GET',
      url: '/api/bridges',
      operationId: 'bridgesStatus',
      tag: 'bridges',
      summary: 'Per sink: state, breaker, outbox depth and oldest age, rates, dead letters; and the JetStream ingress',
      responses: { 200: { description: 'Status', schema: BridgesStatusSchema } },
      async handler() {
        return { status: 200, body: bridges.status() };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/bridges/dead-letters',
      operationId: 'listDeadLetters',
      tag: 'bridges',
      summary: 'Dead letters (messages a sink refused for good, or failed maxAttempts times), ordered by message id',
      query: DeadLettersQuery,
      responses: {
        200: { description: 'A page; pass nextCursor as cursor for the next one', schema: DeadLetterPageSchema },
        404: { description: 'SINK_NOT_FOUND', schema: ErrorBody },
      },
      async handler({ query }) {
        known(query.sink);
        const page = await bridges.deadLetters({
          ...(query.sink !== undefined ? { sink: query.sink } : {}),
          ...(query.cursor !== undefined ? { afterMessageId: Number(query.cursor) } : {}),
          limit: query.limit,
        });
        return { status: 200, body: page.next === undefined ? { items: page.items } : { items: page.items, nextCursor: String(page.next) } };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/bridges/dead-letters/replay',
      operationId: 'replayDeadLetters',
      tag: 'bridges',
      summary: 'Replay dead letters: back to their sink\'s outbox (same idempotency key, attempts reset); ingress letters are published to NATS again',
      description: 'By sink, by message ids, or both. Letters of sinks no longer configured stay where they are.',
      body: ReplayBody,
      responses: {
        200: { description: 'How many were replayed, per sink', schema: ReplayResultSchema },
        404: { description: 'SINK_NOT_FOUND', schema: ErrorBody },
      },
      async handler({ body }) {
        known(body.sink);
        const result = await bridges.replay({
          ...(body.sink !== undefined ? { sink: body.sink } : {}),
          ...(body.messageIds !== undefined ? { messageIds: body.messageIds } : {}),
          limit: body.limit ?? body.messageIds?.length ?? 1000,
        });
        return { status: 200, body: result };
      },
    }),
  ];
}
