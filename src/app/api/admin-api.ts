/**
 * The admin HTTP API (issue 5): fastify, mounted behind the probe server
 * (src/app/http-server.ts hands it every `/api/` path except /api/slo and /api/bans, which
 * stay where they were, unchanged). Described by /api/openapi.json (no token needed).
 *
 * - Auth: `Authorization: Bearer TOKEN` from http.tokens; no or unknown token -> 401
 *   UNAUTHORIZED (also for unknown paths, which say nothing to strangers); a read token on
 *   anything but GET/HEAD -> 403 FORBIDDEN.
 * - Input: params, query and body validated by the route's zod schema (strict: unknown
 *   keys are errors) -> 400 INVALID_INPUT with `details: [{ path, problem }]`. Bodies are
 *   JSON only (else 415), at most `bodyLimitBytes` (else 413 PAYLOAD_TOO_LARGE).
 * - Errors: api-errors.ts (PlatformError codes -> statuses of contracts.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fastify, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Logger } from '../../observability/logger.js';
import type { Platform } from '../../platform/contracts.js';
import { ApiError, errorHandler, invalidInput, sendError } from './api-errors.js';
import { bearerRole, mayCall, type ApiToken } from './bearer.js';
import { buildOpenApi } from './openapi.js';
import { NO_BODY, NO_PARAMS, NO_QUERY, type AnyRoute, type HttpMethod, type Role } from './route.js';
import { brokerRoutes } from './routes-broker.js';
import { bridgeRoutes, type BridgesApi } from './routes-bridges.js';
import { commandRoutes } from './routes-commands.js';
import { credentialRoutes } from './routes-credentials.js';
import { deviceRoutes } from './routes-devices.js';
import { shadowRoutes } from './routes-shadows.js';

export interface AdminApiDeps {
  /** The device platform's routes (devices, credentials, shadows, commands, broker); absent when it is off. */
  platform?: Platform | undefined;
  /** /api/bridges (issue 9); absent when no bridges are configured. */
  bridges?: BridgesApi | undefined;
  /** http.tokens. Empty: every call but /api/openapi.json is 401. */
  tokens: readonly ApiToken[];
  logger: Logger;
  /** In the OpenAPI document. */
  version?: string;
  /** Largest request body (default 1 MiB). */
  bodyLimitBytes?: number;
  /** Longest long-poll (?waitMs) a request may ask for (default 60 000 ms). */
  maxWaitMs?: number;
}

export interface AdminApi {
  readonly fastify: FastifyInstance;
  readonly routes: readonly AnyRoute[];
  readonly openapi: Record<string, unknown>;
  /** Call (and await) before the first `handle`. */
  ready(): Promise<void>;
  /** Serves one request of the enclosing node:http server. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Ends pending long-polls (503 UNAVAILABLE) and closes fastify. */
  close(): Promise<void>;
}

export const OPENAPI_PATH = '/api/openapi.json';
const METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PATCH', 'DELETE'];

export function createAdminApi(deps: AdminApiDeps): AdminApi {
  const maxWaitMs = deps.maxWaitMs ?? 60_000;
  const p = deps.platform;
  const routes: AnyRoute[] = [
    ...(p === undefined
      ? []
      : [...deviceRoutes(p), ...credentialRoutes(p), ...shadowRoutes(p), ...commandRoutes(p, maxWaitMs), ...brokerRoutes(p)]),
    ...(deps.bridges === undefined ? [] : bridgeRoutes(deps.bridges)),
  ];
  const openapi = buildOpenApi(routes, deps.version ?? '0.0.0');
  const app = fastify({
    logger: false,
    bodyLimit: deps.bodyLimitBytes ?? 1024 * 1024,
    return503OnClosing: false,
    // Device ids are up to 128 characters, URL-encoded up to 3x that.
    routerOptions: { maxParamLength: 1024 },
  });
  const roles = new WeakMap<FastifyRequest, Role>();
  const pending = new Set<AbortController>();

  // JSON only; an empty body is no body (POST .../disable with content-type set and nothing in it).
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    json(req, text, done);
  });

  app.addHook('onRequest', async (req, reply) => {
    if (pathOf(req.url) === OPENAPI_PATH) return;
    const role = bearerRole(req.headers.authorization, deps.tokens);
    if (role === undefined) {
      reply.header('www-authenticate', 'Bearer');
      return sendError(reply, 401, { error: 'UNAUTHORIZED', message: 'a bearer token from http.tokens is required (Authorization: Bearer TOKEN)' });
    }
    if (!mayCall(role, req.method)) return sendError(reply, 403, { error: 'FORBIDDEN', message: `a read token cannot ${req.method} (admin token needed)` });
    roles.set(req, role);
  });
  app.setErrorHandler(errorHandler(deps.logger));
  app.setNotFoundHandler((req, reply) => sendError(reply, 404, { error: 'NOT_FOUND', message: `no route for ${req.method} ${pathOf(req.url)}` }));

  app.get(OPENAPI_PATH, async (_req, reply) => reply.header('cache-control', 'no-store').send(openapi));

  const signalFor = (reply: FastifyReply): AbortSignal => {
    const ac = new AbortController();
    pending.add(ac);
    reply.raw.once('close', () => {
      pending.delete(ac);
      if (!reply.raw.writableFinished) ac.abort(new ApiError('UNAVAILABLE', 'the client went away'));
    });
    return ac.signal;
  };

  for (const r of routes) {
    app.route({
      method: r.method,
      url: r.url,
      handler: async (req, reply) => {
        const params = parse('params', r.params ?? NO_PARAMS, req.params);
        const query = parse('query', r.query ?? NO_QUERY, req.query);
        const body = parse('body', r.body ?? NO_BODY, req.body);
        const out = await r.handler({ params, query, body, signal: signalFor(reply), role: roles.get(req) ?? 'read' });
        reply.code(out.status).header('cache-control', 'no-store');
        for (const [k, v] of Object.entries(out.headers ?? {})) reply.header(k, v);
        return out.body === undefined ? reply.send() : reply.send(out.body);
      },
    });
  }
  // A known path with another method: 405 with Allow (fastify alone would say 404).
  const byUrl = new Map<string, Set<string>>();
  for (const r of [...routes, { url: OPENAPI_PATH, method: 'GET' }]) byUrl.set(r.url, (byUrl.get(r.url) ?? new Set()).add(r.method));
  for (const [url, have] of byUrl) {
    const allow = [...have, ...(have.has('GET') ? ['HEAD'] : [])].join(', ');
    const others = METHODS.filter((m) => !have.has(m));
    if (others.length === 0) continue;
    app.route({
      method: [...others, 'PUT'],
      url,
      handler: async (req, reply) => {
        reply.header('allow', allow);
        return sendError(reply, 405, { error: 'METHOD_NOT_ALLOWED', message: `${req.method} is not allowed on ${pathOf(req.url)} (allowed: ${allow})` });
      },
    });
  }

  return {
    fastify: app,
    routes,
    openapi,
    ready: async () => {
      await app.ready();
    },
    handle: (req, res) => app.routing(req, res),
    close: async () => {
      for (const ac of pending) ac.abort(new ApiError('UNAVAILABLE', 'the server is stopping'));
      pending.clear();
      await app.close();
    },
  };
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function parse<T extends z.ZodType>(part: 'params' | 'query' | 'body', schema: T, value: unknown): z.output<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw invalidInput(part, r.error.issues);
  return r.data;
}
