/** /api/clients, /api/sessions, /api/retained: what the broker itself holds. */
import type { Platform } from '../../platform/contracts.js';
import { ApiError } from './api-errors.js';
import { defineRoute, page, type AnyRoute } from './route.js';
import { ClientParams, ConnectedClient, ErrorBody, itemsOf, PageQuery, RetainedMessage, RetainedParams, RetainedQuery, SessionView } from './schemas.js';

export function brokerRoutes(platform: Platform): AnyRoute[] {
  const { broker } = platform;
  return [
    defineRoute({
      method: 'GET',
      url: '/api/clients',
      operationId: 'listClients',
      tag: 'broker',
      summary: 'Connected clients, ordered by client id',
      query: PageQuery,
      responses: { 200: { description: 'A page; pass nextCursor as after for the next one', schema: itemsOf(ConnectedClient) } },
      async handler({ query }) {
        return { status: 200, body: page(broker.clients(query.limit, query.after), query.limit, (c) => c.clientId) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/api/clients/:id',
      operationId: 'kickClient',
      tag: 'broker',
      summary: 'Disconnect a client (v5: DISCONNECT 0x98 administrative action)',
      params: ClientParams,
      responses: { 204: { description: 'Disconnected' }, 404: { description: 'CLIENT_NOT_CONNECTED', schema: ErrorBody } },
      async handler({ params }) {
        if (!broker.kick(params.id)) throw new ApiError('CLIENT_NOT_CONNECTED', `no client ${params.id} is connected`);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/sessions',
      operationId: 'listSessions',
      tag: 'broker',
      summary: 'Sessions (online and offline), ordered by client id',
      query: PageQuery,
      responses: { 200: { description: 'A page', schema: itemsOf(SessionView) } },
      async handler({ query }) {
        return { status: 200, body: page(broker.sessions(query.limit, query.after), query.limit, (s) => s.clientId) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/retained',
      operationId: 'listRetained',
      tag: 'broker',
      summary: 'Retained messages matching a topic filter',
      query: RetainedQuery,
      responses: { 200: { description: 'Retained messages (at most limit)', schema: itemsOf(RetainedMessage) } },
      async handler({ query }) {
        return { status: 200, body: { items: broker.retained(query.filter, query.limit) } };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/api/retained/*',
      operationId: 'deleteRetained',
      tag: 'broker',
      summary: 'Delete the retained message of a topic',
      params: RetainedParams,
      responses: { 204: { description: 'Deleted' }, 404: { description: 'RETAINED_NOT_FOUND', schema: ErrorBody } },
      async handler({ params }) {
        const topic = params['*'];
        if (!broker.deleteRetained(topic)) throw new ApiError('RETAINED_NOT_FOUND', `no retained message on ${topic}`);
        return { status: 204 };
      },
    }),
  ];
}
