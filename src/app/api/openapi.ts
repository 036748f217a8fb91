/**
 * /api/openapi.json (OpenAPI 3.1, JSON Schema 2020-12), generated from the route table's
 * zod schemas: inputs as the API accepts them, outputs as it sends them. Schemas with an
 * id (`.meta({ id })`) become components.
 */
import { z } from 'zod';
import { ErrorBody } from './schemas.js';
import type { AnyRoute, ResponseDoc } from './route.js';

type Json = Record<string, unknown>;

const COMPONENT_REF = '#/components/schemas/';

/** A schema as JSON Schema, its `$defs` hoisted into `components`. */
function toJson(schema: z.ZodType, io: 'input' | 'output', components: Json): Json {
  const s = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Json;
  delete s.$schema;
  const defs = (s.$defs ?? {}) as Record<string, Json>;
  delete s.$defs;
  const rewrite = (x: Json): Json => JSON.parse(JSON.stringify(x).replaceAll('"#/$defs/', `"${COMPONENT_REF}`)) as Json;
  for (const [id, def] of Object.entries(defs)) components[id] ??= rewrite(def);
  const out = rewrite(s);
  // A top-level schema with an id is itself a component: refer to it.
  const id = z.globalRegistry.get(schema)?.id;
  if (typeof id === 'string') {
    components[id] ??= out;
    return { $ref: `${COMPONENT_REF}${id}` };
  }
  return out;
}

function objectProperties(schema: z.ZodType, components: Json): { name: string; schema: Json; required: boolean; description?: string }[] {
  const js = toJson(schema, 'input', components);
  const props = (js.properties ?? {}) as Record<string, Json>;
  const required = new Set((js.required ?? []) as string[]);
  return Object.entries(props).map(([name, p]) => ({
    name,
    schema: p,
    // Query parameters with a default are optional for the caller.
    required: required.has(name) && p.default === undefined,
    ...(typeof p.description === 'string' ? { description: p.description } : {}),
  }));
}

function response(doc: ResponseDoc, components: Json): Json {
  if (doc.schema === undefined) return { description: doc.description };
  return { description: doc.description, content: { 'application/json': { schema: toJson(doc.schema, 'output', components) } } };
}

/** `/api/devices/:id` -> `/api/devices/{id}`; the wildcard of `/api/retained/*` is `{topic}`. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z]+)/g, '{$1}').replace(/\/\*$/, '/{topic}');
}

/** Served by the probe server (src/app/http-server.ts), described here for completeness. */
function legacyPaths(): Json {
  const errorRef = { $ref: `${COMPONENT_REF}Error` };
  const json = (schema: Json): Json => ({ 'application/json': { schema } });
  return {
    '/api/slo': {
      get: {
        tags: ['operations'],
        operationId: 'sloStatus',
        summary: 'SLO error budgets, burn rates and alerts (no token needed; `holdfast slo`)',
        security: [],
        responses: { 200: { description: 'SLO status', content: json({ type: 'object', properties: { slos: { type: 'array', items: {} } } }) }, 404: { description: 'SLO engine disabled' } },
      },
    },
    '/api/bans': {
      get: {
        tags: ['operations'],
        operationId: 'listBans',
        summary: 'Flapping bans (errors here use lower-case codes: unauthorized, forbidden, not_found)',
        responses: {
          200: {
            description: 'Bans',
            content: json({
              type: 'object',
              properties: {
                bans: {
                  type: 'array',
                  items: { type: 'object', properties: { clientId: { type: 'string' }, since: { type: 'number' }, until: { type: 'number' }, reason: { type: 'string' } } },
                },
              },
            }),
          },
          401: { description: 'unauthorized', content: json(errorRef) },
        },
      },
    },
    '/api/bans/{clientId}': {
      delete: {
        tags: ['operations'],
        operationId: 'liftBan',
        summary: 'Lift a ban (admin token)',
        parameters: [{ name: 'clientId', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          200: { description: 'Lifted', content: json({ type: 'object', properties: { lifted: { type: 'string' } } }) },
          401: { description: 'unauthorized' },
          403: { description: 'forbidden (read token)' },
          404: { description: 'not_found: no such ban' },
        },
      },
    },
    // Hot reload (src/app/reload/config-routes.ts, docs/operations.md).
    '/api/config': {
      get: {
        tags: ['operations'],
        operationId: 'runningConfig',
        summary: 'The running config: revision, hash, appliedAt, pendingRestart, config (secrets redacted)',
        responses: { 200: { description: 'Running config', content: json({ type: 'object' }) }, 401: { description: 'UNAUTHORIZED', content: json(errorRef) } },
      },
    },
    '/api/config/reload': {
      post: {
        tags: ['operations'],
        operationId: 'reloadConfig',
        summary: 'Reload the config now (admin token); refused configs change nothing',
        responses: {
          200: { description: 'applied, or unchanged (same hash: no new revision)', content: json({ type: 'object' }) },
          401: { description: 'UNAUTHORIZED', content: json(errorRef) },
          403: { description: 'FORBIDDEN (read token)', content: json(errorRef) },
          422: { description: 'CONFIG_INVALID: every problem with its path (details); the running config is kept', content: json(errorRef) },
          500: { description: 'CONFIG_APPLY_FAILED: a section failed while being applied', content: json(errorRef) },
        },
      },
    },
  };
}

export function buildOpenApi(routes: readonly AnyRoute[], version: string): Json {
  const components: Json = {};
  toJson(ErrorBody, 'output', components);
  const paths: Record<string, Json> = {};
  for (const r of routes) {
    const parameters = [
      ...(r.params === undefined ? [] : objectProperties(r.params, components).map((p) => ({ ...p, name: p.name === '*' ? 'topic' : p.name, in: 'path', required: true }))),
      ...(r.query === undefined ? [] : objectProperties(r.query, components).map((p) => ({ ...p, in: 'query', ...(p.name === 'label' || p.name === 'state' ? { style: 'form', explode: true } : {}) }))),
    ];
    const common: Record<number, ResponseDoc> = {
      400: { description: 'INVALID_INPUT (details name each problem)', schema: ErrorBody },
      401: { description: 'UNAUTHORIZED: no or unknown bearer token', schema: ErrorBody },
      500: { description: 'INTERNAL', schema: ErrorBody },
    };
    if (r.method !== 'GET') common[403] = { description: 'FORBIDDEN: a read token', schema: ErrorBody };
    const responses = Object.fromEntries(Object.entries({ ...common, ...r.responses }).map(([status, doc]) => [status, response(doc, components)]));
    const op: Json = {
      tags: [r.tag],
      operationId: r.operationId,
      summary: r.summary,
      ...(r.description === undefined ? {} : { description: r.description }),
      ...(parameters.length > 0 ? { parameters } : {}),
      responses,
    };
    if (r.body !== undefined) {
      const optional = r.body.safeParse(undefined).success;
      op.requestBody = { required: !optional, content: { 'application/json': { schema: toJson(r.body, 'input', components) } } };
    }
    const path = openApiPath(r.url);
    paths[path] = { ...paths[path], [r.method.toLowerCase()]: op };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'holdfast admin API',
      version,
      description: 'Devices, credentials, shadows, commands and the broker of a holdfast server. Errors: { error: CODE, message, details? } (docs/api.md).',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    tags: [
      { name: 'devices', description: 'Device registry' },
      { name: 'credentials', description: 'Secrets and X.509 certificate mappings' },
      { name: 'shadows', description: 'Desired / reported state' },
      { name: 'commands', description: 'Ordered, acknowledged commands (RPC)' },
      { name: 'broker', description: 'Clients, sessions, retained messages' },
      { name: 'bridges', description: 'Northbound bridges: sinks, outboxes, dead letters and replay' },
      { name: 'operations', description: 'SLOs, flapping bans, the running config and its reload' },
    ],
    paths: { ...paths, ...legacyPaths() },
    components: {
      schemas: components,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A token of http.tokens; role read may only GET.' } },
    },
  };
}
