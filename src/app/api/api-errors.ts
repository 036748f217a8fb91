/**
 * Errors of the admin API: one JSON body for every failure,
 * `{ "error": CODE, "message": "...", "details"?: [{ "path", "problem" }] }`, with stable
 * codes (docs/api.md). PlatformError codes map to statuses as src/platform/contracts.ts
 * lists them; the API's own codes are below. Anything else is a 500 INTERNAL whose
 * message says nothing about the internals (the error is logged).
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { isHoldfastError } from '../../errors/index.js';
import type { Logger } from '../../observability/logger.js';
import type { PlatformErrorCode } from '../../platform/contracts.js';

export type ApiOwnErrorCode =
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RETAINED_NOT_FOUND'
  | 'SINK_NOT_FOUND'
  | 'UNAVAILABLE'
  | 'INTERNAL';

export type ApiErrorCode = PlatformErrorCode | ApiOwnErrorCode;

/** HTTP status of each stable code (the first block is contracts.ts's table). */
export const STATUS_OF: Readonly<Record<ApiErrorCode, number>> = {
  DEVICE_NOT_FOUND: 404,
  DEVICE_EXISTS: 409,
  CREDENTIAL_NOT_FOUND: 404,
  INVALID_INPUT: 400,
  SHADOW_VERSION_MISMATCH: 409,
  SHADOW_TOO_LARGE: 413,
  COMMAND_NOT_FOUND: 404,
  COMMAND_QUEUE_FULL: 429,
  CLIENT_NOT_CONNECTED: 404,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RETAINED_NOT_FOUND: 404,
  SINK_NOT_FOUND: 404,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

export interface ErrorDetail {
  /** Where: `body.labels.site`, `query.limit`, `params.id`. */
  path: string;
  problem: string;
}

export interface ErrorBody {
  error: ApiErrorCode;
  message: string;
  details?: ErrorDetail[];
}

/** An error the API answers with as it is. */
export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get status(): number {
    return STATUS_OF[this.code];
  }
}

/** zod issues as details: `part.path.to.key` + what is wrong. */
export function invalidInput(part: 'params' | 'query' | 'body', issues: readonly z.core.$ZodIssue[]): ApiError {
  const details = issues.map((i) => ({ path: [part, ...i.path.map(String)].join('.'), problem: i.message }));
  const first = details[0];
  const message = first === undefined ? `invalid ${part}` : `${first.path}: ${first.problem}${details.length > 1 ? ` (and ${details.length - 1} more)` : ''}`;
  return new ApiError('INVALID_INPUT', message, details);
}

const PLATFORM_CODES: Readonly<Record<PlatformErrorCode, true>> = {
  DEVICE_NOT_FOUND: true,
  DEVICE_EXISTS: true,
  CREDENTIAL_NOT_FOUND: true,
  INVALID_INPUT: true,
  SHADOW_VERSION_MISMATCH: true,
  SHADOW_TOO_LARGE: true,
  COMMAND_NOT_FOUND: true,
  COMMAND_QUEUE_FULL: true,
  CLIENT_NOT_CONNECTED: true,
};
const isPlatformCode = (code: string): code is PlatformErrorCode => Object.hasOwn(PLATFORM_CODES, code);

function detailsOf(raw: unknown): ErrorDetail[] | undefined {
  if (raw === undefined || raw === null || typeof raw !== 'object') return undefined;
  const issues = (raw as { issues?: unknown }).issues;
  if (Array.isArray(issues)) {
    return issues
      .filter((d): d is ErrorDetail => typeof d === 'object' && d !== null && typeof (d as ErrorDetail).path === 'string')
      .map((d) => ({ path: d.path, problem: String(d.problem) }));
  }
  return Object.entries(raw as Record<string, unknown>).map(([path, v]) => ({ path, problem: typeof v === 'string' ? v : JSON.stringify(v) }));
}

/** Any thrown value as the body to answer with (and whether it is a server fault to log). */
export function toErrorBody(err: unknown): { status: number; body: ErrorBody; fault: boolean } {
  if (err instanceof ApiError) {
    return { status: err.status, body: { error: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) }, fault: false };
  }
  if (isHoldfastError(err) && isPlatformCode(err.code)) {
    const details = err.code === 'INVALID_INPUT' ? detailsOf(err.details) : undefined;
    return { status: STATUS_OF[err.code], body: { error: err.code, message: err.message, ...(details ? { details } : {}) }, fault: false };
  }
  const fe = err as Partial<FastifyError>;
  if (typeof fe.code === 'string' && fe.code.startsWith('FST_')) {
    // Fastify's own refusals while reading the request (body parser, limits).
    if (fe.statusCode === 413) return own('PAYLOAD_TOO_LARGE', fe.message ?? 'request body too large');
    if (fe.statusCode === 415) return own('UNSUPPORTED_MEDIA_TYPE', 'send JSON: content-type application/json');
    // The JSON parser (secure-json-parse) also refuses `__proto__` and `constructor.prototype` keys.
    if (fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY') return own('INVALID_INPUT', 'the body is not valid JSON (or has a __proto__ key)');
    if (fe.statusCode === 400) return own('INVALID_INPUT', fe.message ?? 'bad request');
  }
  return { status: 500, body: { error: 'INTERNAL', message: 'internal error' }, fault: true };
}

function own(code: ApiOwnErrorCode | 'INVALID_INPUT', message: string): { status: number; body: ErrorBody; fault: boolean } {
  return { status: STATUS_OF[code], body: { error: code, message }, fault: false };
}

export function sendError(reply: FastifyReply, status: number, body: ErrorBody): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(body);
}

/** fastify's error handler: every failure as an ErrorBody. */
export function errorHandler(logger: Logger) {
  return (err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const { status, body, fault } = toErrorBody(err);
    if (fault) logger.error({ err, method: req.method, url: req.url }, 'admin API request failed');
    return sendError(reply, status, body);
  };
}
