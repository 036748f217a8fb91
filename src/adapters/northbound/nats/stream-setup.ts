/**
 * The stream side of the NATS sink: creating the stream when `ensureStream` is set, and
 * finding out whether any stream captures a subject (to tell "no stream" from
 * "JetStream not up" after a no-responders answer).
 */
import { DiscardPolicy, RetentionPolicy, StorageType, nanos, type JetStreamManager, type NatsConnection } from 'nats';
import { HoldfastError } from '../../../errors/index.js';
import type { Logger } from '../../../observability/logger.js';
import { describe, unavailable } from './nats-link.js';
import { JS_ERR } from './publish-errors.js';

export interface StreamSpec {
  name: string;
  subjects: string[];
  storage: 'file' | 'memory';
  replicas: number;
  duplicateWindowMs: number;
}

function manager(nc: NatsConnection, timeoutMs: number): Promise<JetStreamManager> {
  // checkAPI: false: no account-info round trip (it fails the same way the next call would).
  return nc.jetstreamManager({ checkAPI: false, timeout: timeoutMs });
}

function apiErrCode(err: unknown): number | undefined {
  return (err as { api_error?: { err_code?: number } }).api_error?.err_code;
}

/**
 * Makes sure the stream exists: creates it when the server says it does not. An existing
 * stream is left as it is (its subjects, limits and duplicate window are the operator's);
 * a duplicate window shorter than asked is logged once. Throws NATS_UNAVAILABLE when the
 * server cannot answer, NATS_STREAM_SETUP when it refuses to create the stream.
 */
export async function ensureStream(nc: NatsConnection, spec: StreamSpec, timeoutMs: number, logger: Logger | undefined): Promise<'exists' | 'created'> {
  const jsm = await manager(nc, timeoutMs);
  try {
    const info = await jsm.streams.info(spec.name);
    const windowMs = info.config.duplicate_window / 1e6;
    if (windowMs < spec.duplicateWindowMs) {
      logger?.warn(
        { stream: spec.name, duplicateWindowMs: windowMs, wantedMs: spec.duplicateWindowMs },
        'NATS stream has a shorter duplicate window than configured: retries after it are not deduplicated',
      );
    }
    return 'exists';
  } catch (err) {
    if (apiErrCode(err) !== JS_ERR.STREAM_NOT_FOUND) throw unavailable(`cannot look up stream ${spec.name}: ${describe(err)}`, err);
  }
  try {
    await jsm.streams.add({
      name: spec.name,
      subjects: spec.subjects,
      storage: spec.storage === 'memory' ? StorageType.Memory : StorageType.File,
      num_replicas: spec.replicas,
      duplicate_window: nanos(spec.duplicateWindowMs),
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
    });
    logger?.info({ stream: spec.name, subjects: spec.subjects }, 'NATS stream created');
    return 'created';
  } catch (err) {
    if (apiErrCode(err) !== undefined) {
      // e.g. 10065 "subjects overlap with an existing stream": configuration, not weather.
      throw new HoldfastError('NATS_STREAM_SETUP', `cannot create stream ${spec.name}: ${describe(err)}`, { cause: err });
    }
    throw unavailable(`cannot create stream ${spec.name}: ${describe(err)}`, err);
  }
}

export type StreamLookup = 'captured' | 'none' | 'unknown';

/** Whether some stream captures `subject`: 'unknown' when the server cannot say (JetStream down). */
export async function lookupSubject(nc: NatsConnection, subject: string, timeoutMs: number): Promise<StreamLookup> {
  try {
    const jsm = await manager(nc, timeoutMs);
    await jsm.streams.find(subject);
    return 'captured';
  } catch (err) {
    // nats.js throws a plain Error (not a NatsError) when STREAM.NAMES answered with no stream.
    const code = (err as { code?: unknown }).code;
    if (code === undefined && err instanceof Error && err.message === 'no stream matches subject') return 'none';
    return 'unknown';
  }
}
