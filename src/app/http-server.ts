/**
 * The operator's HTTP endpoints (INTERFACES.md), on node:http for now (the admin API will
 * bring fastify):
 * - GET /livez  200 while the process serves requests at all.
 * - GET /readyz 200 only when the broker is ready and its listeners are open, else 503.
 * - GET /healthz application/health+json from the health registry; 503 when it says fail.
 * Anything else: 404 (405 for a method other than GET/HEAD) with a JSON body.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HoldfastError } from '../errors/index.js';
import type { HealthRegistry } from '../observability/health.js';
import type { Logger } from '../observability/logger.js';

export interface HttpServerDeps {
  health: HealthRegistry;
  /** Readiness: the broker serves and its listeners accept connections. */
  readiness: () => { ready: boolean; reason?: string };
  logger: Logger;
}

export interface HttpServer {
  /** Resolves with the bound port; rejects TRANSPORT_ADDRESS_IN_USE when it is taken. */
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
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

async function route(req: IncomingMessage, res: ServerResponse, deps: HttpServerDeps): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  const known = path === '/livez' || path === '/readyz' || path === '/healthz';
  if (!known) return send(res, 404, { error: 'not_found', message: `no route for ${path}` });
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return send(res, 405, { error: 'method_not_allowed', message: `${req.method ?? '?'} is not allowed on ${path}` });
  }
  if (path === '/livez') return send(res, 200, { status: 'pass' });
  if (path === '/readyz') {
    const r = deps.readiness();
    return r.ready ? send(res, 200, { status: 'pass' }) : send(res, 503, { status: 'fail', output: r.reason ?? 'not ready' });
  }
  const report = await deps.health.run();
  return send(res, report.status === 'fail' ? 503 : 200, report, 'application/health+json');
}

export function createHttpServer(deps: HttpServerDeps): HttpServer {
  const server: Server = createServer((req, res) => {
    route(req, res, deps).catch((err: unknown) => {
      deps.logger.error({ err, url: req.url }, 'http handler failed');
      if (!res.headersSent) send(res, 500, { error: 'internal', message: 'internal error' });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;

  return {
    listen(port, host) {
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
    close() {
      return new Promise((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeIdleConnections();
        // Probes are short: whatever is still open after close() is dropped.
        server.closeAllConnections();
      });
    },
  };
}
