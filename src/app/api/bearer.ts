/** Bearer tokens of http.tokens: the role of an Authorization header (timing-safe comparison). */
import { timingSafeEqual } from 'node:crypto';
import type { Role } from './route.js';

export interface ApiToken {
  token: string;
  role: Role;
}

/** The role of `Authorization: Bearer TOKEN`, or undefined when absent or unknown. */
export function bearerRole(header: string | undefined, tokens: readonly ApiToken[] | undefined): Role | undefined {
  if (tokens === undefined || header === undefined || !/^bearer /i.test(header)) return undefined;
  const given = Buffer.from(header.slice(7).trim());
  let role: Role | undefined;
  // Every token is compared, so the time taken does not say which one (or whether one) matched.
  for (const t of tokens) {
    const want = Buffer.from(t.token);
    if (want.length === given.length && timingSafeEqual(want, given) && role === undefined) role = t.role;
  }
  return role;
}

/** Read tokens may only read. */
export function mayCall(role: Role, method: string): boolean {
  return role === 'admin' || method === 'GET' || method === 'HEAD';
}
