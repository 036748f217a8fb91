/**
 * JetStream helpers for tests: a uniquely named stream per test run (deleted afterwards)
 * and reading back everything a stream holds.
 */
import { randomBytes } from 'node:crypto';
import { connect, StorageType, nanos, type NatsConnection, type MsgHdrs } from 'nats';

export interface StoredNatsMessage {
  seq: number;
  subject: string;
  data: Buffer;
  headers: MsgHdrs | undefined;
  msgId: string | undefined;
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`.toUpperCase();
}

export async function natsConnect(url: string): Promise<NatsConnection> {
  return connect({ servers: url, name: 'holdfast-test', maxReconnectAttempts: 30, reconnectTimeWait: 200 });
}

export async function createStream(
  nc: NatsConnection,
  name: string,
  subjects: string[],
  opts: { duplicateWindowMs?: number; storage?: 'file' | 'memory'; maxMsgSize?: number } = {},
): Promise<void> {
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({
    name,
    subjects,
    storage: opts.storage === 'memory' ? StorageType.Memory : StorageType.File,
    duplicate_window: nanos(opts.duplicateWindowMs ?? 120_000),
    ...(opts.maxMsgSize !== undefined ? { max_msg_size: opts.maxMsgSize } : {}),
  });
}

export async function deleteStream(nc: NatsConnection, name: string): Promise<void> {
  const jsm = await nc.jetstreamManager();
  await jsm.streams.delete(name).catch(() => undefined);
}

/** Every message the stream holds, in sequence order. */
export async function readStream(nc: NatsConnection, name: string): Promise<StoredNatsMessage[]> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(name);
  const out: StoredNatsMessage[] = [];
  if (info.state.messages === 0) return out;
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(name, { seq }).catch(() => undefined);
    if (m === undefined) continue; // deleted slot
    out.push({ seq: m.seq, subject: m.subject, data: Buffer.from(m.data), headers: m.header, msgId: m.header?.get('Nats-Msg-Id') || undefined });
  }
  return out;
}

export async function streamCount(nc: NatsConnection, name: string): Promise<number> {
  const jsm = await nc.jetstreamManager();
  return (await jsm.streams.info(name)).state.messages;
}
