/**
 * The operator's HTTP endpoints (INTERFACES.md, docs/observability.md), on node:http:
 * - GET /livez   200 while the process serves requests at all.
 * - GET /readyz  200 only when ready (listeners open, store writable, not shedding, not
 *                draining), else 503; `?verbose` lists every condition.
 * - GET /healthz application/health+json from the health registry; 503 when it says fail;
 *                `?verbose` renders it as text lines for a person.
 * - GET /metrics Prometheus text format (when metrics are enabled).
 * - GET /api/slo the SLO engine's budgets, burn rates and alerts (when enabled).
 * - /api/bans   flapping bans (bearer token).
 * - /api/...     every other /api/ path goes to the admin API (fastify, src/app/api/admin-api.ts)
 *                when one is given; it has its own auth, errors and /api/openapi.json.
 * Anything else: 404 (405 for a method other than GET/HEAD) with a JSON body. API calls
 * are traced when a tracer is given (sampled, or carrying a sampled `traceparent`, or failed).
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { InheritedListener } from '../broker/transport/listeners-api.js';
import { HoldfastError } from '../errors/index.js';
import { formatHealthText, type HealthRegistry } from '../observability/health.js';
import type { Logger } from '../observability/logger.js';
import type { Readiness } from '../observability/readiness.js';
import type { TraceSpan, Tracer } from '../ports/tracer.js';
import { isConfigPath, routeConfig, type ConfigAdmin } from './reload/config-routes.js';

export interface HttpServerDeps {
  health: HealthRegistry;
  /** Readiness: the broker serves and its listeners accept connections. */
  readiness: () => Readiness;
  logger: Logger;
  /** /metrics; absent = 404. */
  metrics?: { text(): Promise<string>; readonly contentType: string };
  /** /api/slo; absent = 404. */
  slo?: { status(): unknown };
  tracer?: Tracer;
  /** Flapping bans (issue 6): list and lift; absent = 404. */
  bans?: BanAdmin;
  /** Bearer tokens for the admin endpoints. */
  tokens?: readonly { token: string; role: 'admin' | 'read' }[];
  /** The admin API: serves every /api/ path but /api/slo, /api/bans and /api/config (absent = those 404). */
  api?: MountedApi;
  /** GET /api/config, POST /api/config/reload (hot reload, src/app/reload/config-routes.ts); absent = 404. */
  config?: ConfigAdmin;
}

/** What the server needs of the admin API (src/app/api/admin-api.ts AdminApi). */
export interface MountedApi {
  ready(): Promise<void>;
  handle(req: IncomingMessage, res: ServerResponse): void;
  close(): Promise<void>;
}

/** The /api/ paths this server keeps answering itself, exactly as before the admin API. */
function isProbeServerPath(path: string): boolean {
  return path === '/api/slo' || path === '/api/bans' || path.startsWith('/api/bans/');
}

export interface BanAdmin {
  list(): { clientId: string; since: number; until: number; reason: string }[];
  lift(clientId: string): boolean;
}

const ROUTES = new Set(['/livez', '/readyz', '/healthz', '/metrics', '/api/slo']);

/** The role of the request's bearer token, or undefined (timing-safe comparison). */
function roleOf(req: IncomingMessage, tokens: HttpServerDeps['tokens']): 'admin' | 'read' | undefined {
  const h = req.headers.authorization;
  if (tokens === undefined || h === undefined || !h.startsWith('Bearer ')) return undefined;
  const given = Buffer.from(h.slice(7));
  for (const t of tokens) {
    const want = Buffer.from(t.token);
    if (want.length === given.length && timingSafeEqual(want, given)) return t.role;
  }
  return undefined;
}

/** GET /api/bans, DELETE /api/bans/{clientId}: visible and liftable flapping bans. */
function routeBans(req: IncomingMessage, res: ServerResponse, path: string, deps: HttpServerDeps): void {
  const role = roleOf(req, deps.tokens);
  if (role === undefined) {
    res.setHeader('www-authenticate', 'Bearer');
    return send(res, 401, { error: 'unauthorized', message: 'a bearer token from http.tokens is required' });
  }
  if (path === '/api/bans') {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method_not_allowed', message: `${req.method} is not allowed on ${path}` });
    return send(res, 200, { bans: deps.bans!.list() });
  }
  const clientId = decodeURIComponent(path.slice('/api/bans/'.length));
  if (req.method !== 'DELETE') return send(res, 405, { error: 'method_not_allowed', message: `${req.method} is not allowed on ${path}` });
  if (role !== 'admin') return send(res, 403, { error: 'forbidden', message: 'a read token cannot lift a ban' });
  if (!deps.bans!.lift(clientId)) return send(res, 404, { error: 'not_found', message: `no ban for client id ${clientId}` });
  return send(res, 200, { lifted: clientId });
}

export interface HttpServer {
  /**
   * Resolves with the bound port; rejects TRANSPORT_ADDRESS_IN_USE when it is taken. With
   * `inherited` (zero-downtime restart, issue 8) the port is not bound: its connections are taken.
   */
  listen(port: number, host: string, inherited?: InheritedListener): Promise<number>;
  close(): Promise<void>;
  /** The listening socket, to pass to a new process at a restart. */
  listeningServer(): NetServer | undefined;
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': `${type}; charset=utf-8`,
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

function sendText(res: ServerResponse, status: number, text: string, type: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

async function route(req: IncomingMessage, res: ServerResponse, deps: HttpServerDeps): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  const path = url.pathname;
  const verbose = url.searchParams.has('verbose');
  if (deps.config !== undefined && isConfigPath(path)) return routeConfig(req, res, path, deps.config, deps.tokens);
  if (deps.api !== undefined && path.startsWith('/api/') && !isProbeServerPath(path)) return deps.api.handle(req, res);
  if (deps.bans !== undefined && (path === '/api/bans' || path.startsWith('/api/bans/'))) return routeBans(req, res, path, deps);
  const known = ROUTES.has(path) && (path !== '/metrics' || deps.metrics !== undefined) && (path !== '/api/slo' || deps.slo !== undefined);
  if (!known) return send(res, 404, { error: 'not_found', message: `no route for ${path}` });
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return send(res, 405, { error: 'method_not_allowed', message: `${req.method ?? '?'} is not allowed on ${path}` });
  }
  if (path === '/livez') return send(res, 200, { status: 'pass' });
  if (path === '/readyz') {
    const r = deps.readiness();
    const body = r.ready ? { status: 'pass' } : { status: 'fail', output: r.reason ?? 'not ready' };
    return send(res, r.ready ? 200 : 503, verbose && r.conditions !== undefined ? { ...body, conditions: r.conditions } : body);
  }
  if (path === '/metrics') return sendText(res, 200, await deps.metrics!.text(), deps.metrics!.contentType);
  if (path === '/api/slo') return send(res, 200, { slos: deps.slo!.status() });
  const report = await deps.health.run();
  const status = report.status === 'fail' ? 503 : 200;
  if (verbose) return sendText(res, status, formatHealthText(report), 'text/plain; charset=utf-8');
  return send(res, status, report, 'application/health+json');
}

/** A span for an API call when the tracer is on and the call is sampled (or fails: see finishSpan). */
function startApiSpan(req: IncomingMessage, deps: HttpServerDeps, path: string): TraceSpan | undefined {
  const tracer = deps.tracer;
  if (tracer === undefined || !tracer.enabled || !path.startsWith('/api/')) return undefined;
  const header = req.headers.traceparent;
  const parent = typeof header === 'string' ? header : undefined;
  const remoteSampled = parent !== undefined && parent.length === 55 && parent.endsWith('1');
  if (!remoteSampled && !tracer.sampled(req.socket.remoteAddress ?? '')) return undefined;
  return tracer.startSpan(`${req.method ?? 'GET'} ${path}`, {
    parent,
    kind: 'server',
    attributes: { 'http.request.method': req.method ?? 'GET', 'url.path': path },
  });
}

export function createHttpServer(deps: HttpServerDeps): HttpServer {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const span = startApiSpan(req, deps, path);
    if (span !== undefined) {
      res.once('finish', () => {
        span.setAttribute('http.response.status_code', res.statusCode);
        if (res.statusCode >= 500) span.fail(`HTTP ${res.statusCode}`);
        span.end();
      });
    }
    route(req, res, deps).catch((err: unknown) => {
      deps.logger.error({ err, url: req.url }, 'http handler failed');
      if (span === undefined && deps.tracer?.enabled === true && path.startsWith('/api/')) {
        // Errors are always traced, sampled or not.
        const s = deps.tracer.startSpan(`${req.method ?? 'GET'} ${path}`, { kind: 'server', attributes: { 'url.path': path } });
        s.fail(err instanceof Error ? err.message : String(err));
        s.end();
      }
      if (!res.headersSent) send(res, 500, { error: 'internal', message: 'internal error' });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;

  let adopted: InheritedListener | undefined;
  return {
    async listen(port, host, inherited) {
      await deps.api?.ready();
      if (inherited !== undefined) {
        adopted = inherited;
        inherited.accept((socket) => server.emit('connection', socket));
        return inherited.port;
      }
      return new Promise((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException): void => {
          if (err.code === 'EADDRINUSE') {
            reject(
              new HoldfastError('TRANSPORT_ADDRESS_IN_USE', `port ${port} is already in use (HTTP server)`, {
                cause: err,
                details: { listener: 'http', host, port },
              }),
            );
          } else reject(err);
        };
        server.once('error', onError);
        server.listen({ port, host }, () => {
          server.off('error', onError);
          resolve((server.address() as AddressInfo).port);
        });
      });
    },
    async close() {
      // Pending long-polls answer (503) before their connections are dropped below.
      await deps.api?.close().catch((err: unknown) => deps.logger.warn({ err }, 'closing the admin API failed'));
      await adopted?.close();
      if (adopted !== undefined) server.closeAllConnections();
      return new Promise((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeIdleConnections();
        // Probes are short: whatever is still open after close() is dropped.
        server.closeAllConnections();
      });
    },
    listeningServer: () => adopted?.server ?? (server.listening ? server : undefined),
  };
}
