/**
 * The `authenticate` hook for users listed in the config file (auth.users).
 *
 * - A client that sends a username: the user must exist and the password must verify,
 *   otherwise CONNACK 0x86 Bad User Name or Password (3.1.1: return code 4). An unknown
 *   user costs the same scrypt work as a known one, so timing does not reveal who exists.
 * - A client without a username is anonymous: accepted only when anonymous access is
 *   allowed, otherwise 0x87 Not authorized (3.1.1: return code 5), as Mosquitto does.
 * - `allowAnonymous` unset: anonymous clients are accepted when no users are configured
 *   and refused as soon as there is one (configuring users means "clients must log in").
 */
import { randomBytes } from 'node:crypto';
import type { AuthRequest, AuthResult, Hooks } from '../../broker/hooks.js';
import { RC } from '../../codec/mqtt/reason-codes.js';
import type { UserEntry } from '../../broker/config.js';
import { DEFAULT_SCRYPT_PARAMS, hashPassword, parsePasswordHash, verifyPassword, type ParsedPasswordHash } from './password-hash.js';
import { HoldfastError } from '../../errors/index.js';

export interface StaticAuthOptions {
  users: readonly UserEntry[];
  /** undefined: allowed exactly when `users` is empty. */
  allowAnonymous: boolean | undefined;
}

/** The effective anonymous policy for a config, documented above. */
export function anonymousAllowed(opts: StaticAuthOptions): boolean {
  return opts.allowAnonymous ?? opts.users.length === 0;
}

const BAD_CREDENTIALS: AuthResult = { ok: false, reasonCode: RC.BAD_USER_NAME_OR_PASSWORD, reason: 'bad user name or password' };
const ANONYMOUS_REFUSED: AuthResult = { ok: false, reasonCode: RC.NOT_AUTHORIZED, reason: 'anonymous access is not allowed' };

/**
 * Builds the hook, or returns undefined when it would accept everyone (no users and
 * anonymous allowed): then the broker skips authentication entirely.
 */
export function createStaticAuth(opts: StaticAuthOptions): Hooks['authenticate'] {
  const allowAnonymous = anonymousAllowed(opts);
  if (opts.users.length === 0 && allowAnonymous) return undefined;

  const users = new Map<string, ParsedPasswordHash>();
  for (const u of opts.users) {
    const parsed = parsePasswordHash(u.passwordHash);
    if (parsed.value === undefined) {
      throw new HoldfastError('AUTH_BAD_PASSWORD_HASH', `user "${u.username}": ${parsed.problem ?? 'malformed hash'}`);
    }
    users.set(u.username, parsed.value);
  }
  // Verified against when the user does not exist, so that a miss costs what a hit costs
  // (same scrypt parameters as the configured users).
  const decoyParams = users.values().next().value?.params ?? DEFAULT_SCRYPT_PARAMS;
  let decoy: Promise<ParsedPasswordHash> | undefined;
  const getDecoy = (): Promise<ParsedPasswordHash> =>
    (decoy ??= hashPassword(randomBytes(16), decoyParams).then((h) => parsePasswordHash(h).value!));

  return async function authenticate(req: AuthRequest, signal: AbortSignal): Promise<AuthResult> {
    signal.throwIfAborted();
    const username = req.client.username;
    if (username === undefined) return allowAnonymous ? { ok: true } : ANONYMOUS_REFUSED;
    const entry = users.get(username);
    const password = req.password ?? Buffer.alloc(0);
    const ok = await abortable(verifyPassword(password, entry ?? (await getDecoy())), signal);
    return ok && entry !== undefined && req.password !== undefined ? { ok: true } : BAD_CREDENTIALS;
  };
}

/** scrypt cannot be cancelled, but the caller must not wait past its deadline. */
function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
