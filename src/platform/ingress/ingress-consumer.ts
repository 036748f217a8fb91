/**
 * The NATS side of the ingress: the connection, the durable pull consumer (created when
 * missing), and a NATS message seen through the mapping's IngressMessage interface.
 */
import {
  AckPolicy,
  DeliverPolicy,
  Match,
  connect,
  nanos,
  type ConnectionOptions,
  type JsMsg,
  type NatsConnection,
} from 'nats';
import { HoldfastError } from '../../errors/index.js';
import type { Logger } from '../../observability/logger.js';
import type { IngressMessage } from './ingress-mapping.js';
import { durableName, type IngressOptions } from './ingress-options.js';

/** JetStream API error code: consumer not found (nats-server errors.json). */
const JS_CONSUMER_NOT_FOUND = 10014;
const JS_STREAM_NOT_FOUND = 10059;

export function connectIngress(o: IngressOptions): Promise<NatsConnection> {
  const opts: ConnectionOptions = {
    servers: o.servers,
    name: `holdfast-ingress-${o.name}`,
    timeout: o.connectTimeoutMs,
    // The ingress keeps trying for as long as it runs: it holds nothing while disconnected.
    maxReconnectAttempts: -1,
    reconnectTimeWait: o.reconnectTimeWaitMs,
    pingInterval: 10_000,
    maxPingOut: 3,
    ...(o.user !== undefined ? { user: o.user, pass: o.pass } : {}),
    ...(o.token !== undefined ? { token: o.token } : {}),
    ...(o.tls !== undefined ? { tls: { ...o.tls } } : {}),
  };
  return connect(opts);
}

function apiErrCode(err: unknown): number | undefined {
  return (err as { api_error?: { err_code?: number } }).api_error?.err_code;
}

/**
 * Makes sure the durable consumer exists (creating it when allowed) and returns the
 * stream's creation time: part of the dedupe id of messages without Nats-Msg-Id, so that
 * the sequence numbers of a re-created stream are not taken for old ones.
 */
export async function ensureConsumer(
  nc: NatsConnection,
  o: IngressOptions,
  logger: Logger | undefined,
  resumeAt: (streamCreated: string) => Promise<number | undefined>,
): Promise<string> {
  const jsm = await nc.jetstreamManager({ checkAPI: false, timeout: o.connectTimeoutMs });
  let created: string;
  try {
    created = (await jsm.streams.info(o.stream)).created;
  } catch (err) {
    if (apiErrCode(err) === JS_STREAM_NOT_FOUND) throw new HoldfastError('INGRESS_NO_STREAM', `stream ${o.stream} does not exist`, { cause: err });
    throw err;
  }
  const durable = durableName(o);
  try {
    await jsm.consumers.info(o.stream, durable);
    return created;
  } catch (err) {
    if (apiErrCode(err) !== JS_CONSUMER_NOT_FOUND) throw err;
    if (!o.createConsumer) throw new HoldfastError('INGRESS_NO_CONSUMER', `consumer ${durable} of stream ${o.stream} does not exist`, { cause: err });
  }
  // A consumer that was deleted (not a first start) resumes after what this ingress has
  // handled of this very stream, instead of replaying the stream from the start.
  const startSeq = await resumeAt(created);
  await jsm.consumers.add(o.stream, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(o.ackWaitMs),
    max_ack_pending: o.maxAckPending,
    // Poison messages are ours to count (maxAttempts) and to dead-letter: the server never gives up.
    max_deliver: -1,
    ...(startSeq !== undefined
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startSeq }
      : { deliver_policy: o.deliverPolicy === 'new' ? DeliverPolicy.New : DeliverPolicy.All }),
    ...(o.filterSubject !== undefined ? { filter_subject: o.filterSubject } : {}),
  });
  logger?.info({ ingress: o.name, stream: o.stream, durable, startSeq }, 'JetStream ingress: durable consumer created');
  return created;
}

/** A JsMsg as the mapping sees it; header names are matched case-insensitively. */
export function viewOf(m: JsMsg): IngressMessage {
  const h = m.headers;
  return {
    subject: m.subject,
    data: m.data,
    header: (name) => (h !== undefined && h.has(name, Match.IgnoreCase) ? h.get(name, Match.IgnoreCase) : undefined),
    headerNames: () => (h !== undefined ? h.keys() : []),
  };
}

/** The headers as ordered name/value pairs (kept with a dead letter, for replay). */
export function headerPairs(m: JsMsg): [string, string][] {
  const out: [string, string][] = [];
  if (m.headers === undefined) return out;
  for (const name of m.headers.keys()) for (const v of m.headers.values(name)) out.push([name, v]);
  return out;
}
