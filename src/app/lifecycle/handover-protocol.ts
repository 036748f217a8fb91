/**
 * The messages of a zero-downtime restart (issue 8), over the IPC channel between the old
 * process (O, serving) and the new one (N, started by O with HOLDFAST_HANDOVER=1):
 *
 *   N -> O  prepared        config loaded and valid, connect path warmed up
 *   O -> N  handle (x n)    each listening socket (MQTT, WebSocket, TLS, HTTP), with the handle
 *   O -> N  handles-sent    the list of names sent
 *   N -> O  handles-taken   N accepts on them now (connections wait in N, unread)
 *           O stops: its copies close, clients drain (DISCONNECT 0x8B), the store closes
 *   O -> N  released        the data dir is N's now
 *           N opens the store, restores the sessions, takes the waiting connections
 *   N -> O  ready           N serves and is ready (/readyz); O exits 0
 *   N -> O  failed          N could not start; O stops it and serves again
 *
 * The store is never open in both processes: the broker keeps its sessions in memory, so
 * two writers on one data dir would diverge even though SQLite would serialise them.
 */
import type { HandoverName } from './stop-options.js';

/** Set in the new process's environment: take over from the parent instead of binding ports. */
export const HANDOVER_ENV = 'HOLDFAST_HANDOVER';

export type HandoverMessage =
  | { hf: 'prepared' }
  | { hf: 'handle'; name: HandoverName }
  | { hf: 'handles-sent'; names: HandoverName[] }
  | { hf: 'handles-taken' }
  | { hf: 'released' }
  | { hf: 'ready'; pid: number; ports: Record<string, number | null> }
  | { hf: 'failed'; reason: string };

export function isHandoverMessage(m: unknown): m is HandoverMessage {
  return typeof m === 'object' && m !== null && typeof (m as { hf?: unknown }).hf === 'string';
}
