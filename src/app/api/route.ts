/**
 * One admin API route as data: method, path, zod schemas of its inputs, documented
 * responses and a handler that gets validated input. The same table registers the routes
 * on fastify (admin-api.ts) and generates /api/openapi.json (openapi.ts).
 */
import { z } from 'zod';

export type Role = 'admin' | 'read';
export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';
export type Tag = 'devices' | 'credentials' | 'shadows' | 'commands' | 'broker' | 'bridges';

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** Aborted when the client goes away or the API closes (long polls end early). */
  signal: AbortSignal;
  role: Role;
}

export interface RouteResult {
  status: number;
  /** Sent as JSON; absent = no body (204). */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ResponseDoc {
  description: string;
  schema?: z.ZodType;
}

export interface RouteDef<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  method: HttpMethod;
  /** fastify syntax: `/api/devices/:id`, `/api/retained/*`. */
  url: string;
  operationId: string;
  tag: Tag;
  summary: string;
  description?: string;
  params?: P;
  query?: Q;
  body?: B;
  /** Success and route-specific errors; 400/401/403/500 are added for every route. */
  responses: Record<number, ResponseDoc>;
  handler(input: RouteInput<z.output<P>, z.output<Q>, z.output<B>>): Promise<RouteResult>;
}

/** No path parameters, no query parameters (unknown ones are 400), no body (or `{}`). */
export const NO_PARAMS = z.strictObject({});
export const NO_QUERY = z.strictObject({});
export const NO_BODY = z.strictObject({}).optional();

export type AnyRoute = RouteDef<z.ZodType, z.ZodType, z.ZodType>;

export function defineRoute<
  P extends z.ZodType = typeof NO_PARAMS,
  Q extends z.ZodType = typeof NO_QUERY,
  B extends z.ZodType = typeof NO_BODY,
>(def: RouteDef<P, Q, B>): AnyRoute {
  return def as unknown as AnyRoute;
}

/** A page of a list whose items are ordered by `key`: the cursor is the last key when the page is full. */
export function page<T>(items: T[], limit: number, key: (t: T) => string): { items: T[]; nextCursor?: string } {
  const last = items[items.length - 1];
  return items.length >= limit && last !== undefined ? { items, nextCursor: key(last) } : { items };
}
