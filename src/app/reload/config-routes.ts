/**
 * GET /api/config and POST /api/config/reload (docs/api.md), served by the probe server
 * (src/app/http-server.ts) so that they work with or without the device platform:
 * - GET  (read or admin token): the running revision, its hash, when it was applied, the
 *   settings pending a restart and the config with its secrets redacted.
 * - POST (admin token): reload now. 200 with the outcome when applied or unchanged; 422
 *   CONFIG_INVALID with every problem (and its setting's path) when refused, the running
 *   config untouched; 500 CONFIG_APPLY_FAILED when a section failed while being applied.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerRole, type ApiToken } from '../api/bearer.js';
import type { ConfigReloader, ReloadOutcome } from './reloader.js';
import { redactConfig } from './revision.js';

export type ConfigAdmin = Pick<ConfigReloader, 'running' | 'reload'>;

export function isConfigPath(path: string): boolean {
  return path === '/api/config' || path === '/api/config/reload';
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

/** "acl.rules[0].topic: not a valid MQTT topic filter (holdfast.yaml:4:5)" -> path and problem. */
export function problemDetail(line: string): { path: string; problem: string } {
  const m = /^([A-Za-z0-9_.[\]-]+): (.*)$/s.exec(line);
  return m !== null ? { path: m[1]!, problem: m[2]! } : { path: '(file)', problem: line };
}

export function runningView(admin: ConfigAdmin): Record<string, unknown> {
  const r = admin.running;
  return {
    revision: r.revision,
    hash: r.hash,
    appliedAt: new Date(r.appliedAt).toISOString(),
    pendingRestart: r.pendingRestart,
    config: redactConfig(r.snapshot.config),
  };
}

function outcomeBody(o: ReloadOutcome): { status: number; body: Record<string, unknown> } {
  switch (o.result) {
    case 'applied':
    case 'unchanged':
      return { status: 200, body: { ...o } };
    case 'invalid':
      return {
        status: 422,
        body: {
          error: 'CONFIG_INVALID',
          message: `the new config (${o.source}) was refused, revision ${o.revision} keeps running: ${o.problems.length} problem(s)`,
          result: o.result,
          revision: o.revision,
          hash: o.hash,
          problems: o.problems,
          details: o.problems.map(problemDetail),
        },
      };
    case 'failed':
      return {
        status: 500,
        body: { error: 'CONFIG_APPLY_FAILED', message: 'applying the new config failed in part (see the log)', result: o.result, revision: o.revision, hash: o.hash, problems: o.problems },
      };
  }
}

export async function routeConfig(req: IncomingMessage, res: ServerResponse, path: string, admin: ConfigAdmin, tokens: readonly ApiToken[] | undefined): Promise<void> {
  const role = bearerRole(req.headers.authorization, tokens);
  if (role === undefined) {
    res.setHeader('www-authenticate', 'Bearer');
    return send(res, 401, { error: 'UNAUTHORIZED', message: 'a bearer token from http.tokens is required (Authorization: Bearer TOKEN)' });
  }
  if (path === '/api/config') {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(res, 405, { error: 'METHOD_NOT_ALLOWED', message: `${req.method ?? '?'} is not allowed on ${path}` });
    }
    return send(res, 200, runningView(admin));
  }
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    return send(res, 405, { error: 'METHOD_NOT_ALLOWED', message: `${req.method ?? '?'} is not allowed on ${path}` });
  }
  if (role !== 'admin') return send(res, 403, { error: 'FORBIDDEN', message: 'a read token cannot reload the config' });
  req.resume(); // no body is needed; whatever was sent is drained
  const { status, body } = outcomeBody(await admin.reload('api'));
  return send(res, status, body);
}
