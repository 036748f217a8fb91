/**
 * Command records and their transitions: queued -> sent -> acked | failed | expired
 * (queued -> expired when the deadline passes before delivery).
 *
 * Deadlines: a queued command must be sent by `createdAt + timeoutMs`; each attempt must be
 * acknowledged within `timeoutMs` of being sent. The record has no timeoutMs field: it is
 * kept as the invariant `deadlineAt - createdAt` while queued and `deadlineAt - updatedAt`
 * while sent (every write of a sent record sets both), so it survives restarts in any store.
 */
import { randomUUID } from 'node:crypto';
import type { CommandRecord, CommandState } from '../../ports/platform-store.js';
import type { NewCommand } from '../contracts.js';
import { PlatformError } from '../errors.js';

export const OPEN_STATES: readonly CommandState[] = ['queued', 'sent'];
export const FINAL_STATES: readonly CommandState[] = ['acked', 'failed', 'expired'];

/** Longest command timeout accepted: 30 days. */
export const MAX_TIMEOUT_MS = 30 * 24 * 3600 * 1000;
export const MAX_ATTEMPTS = 100;
export const MAX_NAME_LENGTH = 128;

export function isFinal(state: CommandState): boolean {
  return state === 'acked' || state === 'failed' || state === 'expired';
}

export interface CommandDefaults {
  defaultTimeoutMs: number;
  maxAttempts: number;
  maxPayloadBytes: number;
}

/** Checks a command from the API (INVALID_INPUT with the reason) and fills in the defaults. */
export function checkNewCommand(cmd: NewCommand, d: CommandDefaults): { timeoutMs: number; maxAttempts: number } {
  const bad = (message: string): PlatformError => new PlatformError('INVALID_INPUT', message);
  if (typeof cmd !== 'object' || cmd === null) throw bad('a command must be an object');
  if (typeof cmd.name !== 'string' || cmd.name.length === 0 || cmd.name.length > MAX_NAME_LENGTH) {
    throw bad(`the command name must be a string of 1..${MAX_NAME_LENGTH} characters`);
  }
  const timeoutMs = cmd.timeoutMs ?? d.defaultTimeoutMs;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS) {
    throw bad(`timeoutMs must be an integer in 1..${MAX_TIMEOUT_MS}`);
  }
  const maxAttempts = cmd.maxAttempts ?? d.maxAttempts;
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > MAX_ATTEMPTS) {
    throw bad(`maxAttempts must be an integer in 1..${MAX_ATTEMPTS}`);
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(cmd.payload ?? null);
  } catch {
    throw bad('the command payload must be JSON');
  }
  if (json === undefined && cmd.payload !== undefined) throw bad('the command payload must be JSON');
  const bytes = Buffer.byteLength(json ?? 'null', 'utf8');
  if (bytes > d.maxPayloadBytes) throw bad(`the command payload is ${bytes} bytes, over the ${d.maxPayloadBytes} bytes cap`);
  return { timeoutMs, maxAttempts };
}

export function newCommandRecord(
  deviceId: string,
  seq: number,
  cmd: NewCommand,
  limits: { timeoutMs: number; maxAttempts: number },
  now: number,
): CommandRecord {
  return {
    id: randomUUID(),
    deviceId,
    seq,
    name: cmd.name,
    payload: cmd.payload,
    state: 'queued',
    createdAt: now,
    updatedAt: now,
    deadlineAt: now + limits.timeoutMs,
    attempts: 0,
    maxAttempts: limits.maxAttempts,
    result: undefined,
    error: undefined,
  };
}

/** The command's relative timeout (see the invariant above). */
export function timeoutOf(c: CommandRecord): number {
  return Math.max(1, c.state === 'queued' ? c.deadlineAt - c.createdAt : c.deadlineAt - c.updatedAt);
}

/** A new attempt (first send or retry): sent, one more attempt, acknowledged within the timeout. */
export function attempted(c: CommandRecord, now: number): CommandRecord {
  return { ...c, state: 'sent', attempts: c.attempts + 1, updatedAt: now, deadlineAt: now + timeoutOf(c) };
}

export function acked(c: CommandRecord, result: unknown, now: number): CommandRecord {
  return { ...c, state: 'acked', result, error: undefined, updatedAt: now };
}

export function failed(c: CommandRecord, error: string, now: number): CommandRecord {
  return { ...c, state: 'failed', error, updatedAt: now };
}

export function expired(c: CommandRecord, now: number): CommandRecord {
  return { ...c, state: 'expired', error: 'the deadline passed before the command could be delivered', updatedAt: now };
}
