/**
 * Where the channel records traces (issue 7): connect/auth, and publish -> store ->
 * deliver, through the Tracer port (src/ports/tracer.ts; the broker never imports
 * OpenTelemetry). Every function here is called only after a `broker.tracer.enabled`
 * check, so none of this runs, or allocates, when tracing is off.
 *
 * - Sampling: a client is sampled by a stable hash of its client id (the device id), once
 *   per connection (`ch.traced`). A PUBLISH carrying a sampled W3C `traceparent` in its
 *   MQTT 5 User Properties is traced whatever its publisher's sampling said.
 * - Errors are always traced: a refused CONNECT or PUBLISH and a failed store commit get
 *   a span even when the client is not sampled.
 * - Propagation: a traced message that arrives without a `traceparent` reaches v5
 *   subscribers with one appended (the broker's deliver span), so the subscriber can
 *   continue the trace. A `traceparent` the publisher sent is forwarded unaltered, like
 *   every User Property (MQTT-3.3.2-17, order kept: MQTT-3.3.2-18).
 */
import type { Properties, QoS, UserProperty } from '../../codec/mqtt/packets.js';
import type { TraceSpan } from '../../ports/tracer.js';
import type { Message } from '../session/message.js';
import type { Channel } from './channel.js';

export const TRACEPARENT = 'traceparent';

function traceparentOf(props: Properties | undefined): string | undefined {
  const ups = props?.userProperties;
  if (ups === undefined) return undefined;
  for (const [k, v] of ups) if (k === TRACEPARENT) return v;
  return undefined;
}

/** The trace-flags byte of a `traceparent` says "sampled" (W3C Trace Context 3.2.2.5). */
function remoteSampled(tp: string): boolean {
  return tp.length === 55 && (parseInt(tp.slice(53, 55), 16) & 1) === 1;
}

// ---- connect / auth ------------------------------------------------------------------

/** CONNECT received and its client id known: decide sampling, open the connect span. */
export function traceConnectStart(ch: Channel): void {
  const tracer = ch.broker.tracer;
  const client = ch.client!;
  ch.traced = tracer.sampled(client.clientId);
  if (!ch.traced) return;
  ch.connectSpan = tracer.startSpan('mqtt connect', {
    kind: 'server',
    startTimeMs: ch.openedAt,
    attributes: {
      'messaging.system': 'mqtt',
      'messaging.client_id': client.clientId,
      'mqtt.protocol_version': ch.version,
      'holdfast.listener': client.listener,
    },
  });
}

/** A child span of the connect span around the authentication hook (sampled clients only). */
export function traceAuthStart(ch: Channel, method: string | undefined): TraceSpan | undefined {
  const parent = ch.connectSpan;
  if (parent === undefined) return undefined;
  return ch.broker.tracer.startSpan('holdfast authenticate', {
    parent,
    kind: 'internal',
    attributes: { 'holdfast.auth.method': method ?? 'password' },
  });
}

export function endSpan(span: TraceSpan | undefined, failure?: string): void {
  if (span === undefined) return;
  if (failure !== undefined) span.fail(failure);
  span.end();
}

/** CONNACK with success sent. */
export function traceConnectAccepted(ch: Channel, sessionPresent: boolean): void {
  const span = ch.connectSpan;
  if (span === undefined) return;
  ch.connectSpan = undefined;
  span.setAttribute('mqtt.session_present', sessionPresent);
  span.setAttribute('mqtt.reason_code', 0);
  span.end();
}

/** A CONNECT refused (CONNACK >= 0x80 or closed): traced whether the client is sampled or not. */
export function traceConnectRefused(ch: Channel, reasonCode: number, reason: string): void {
  let span = ch.connectSpan;
  ch.connectSpan = undefined;
  if (span === undefined) {
    span = ch.broker.tracer.startSpan('mqtt connect', {
      kind: 'server',
      startTimeMs: ch.openedAt,
      attributes: { 'messaging.system': 'mqtt', 'messaging.client_id': ch.client?.clientId, 'mqtt.protocol_version': ch.version },
    });
  }
  span.setAttribute('mqtt.reason_code', reasonCode);
  span.fail(reason);
  span.end();
}

// ---- publish -> store -> deliver -------------------------------------------------------

/** Few attributes: every one is copied and kept by the SDK until export (GC cost at high rates). */
function publishAttributes(ch: Channel, topic: string, qos: QoS) {
  return { 'messaging.system': 'mqtt', 'messaging.destination.name': topic, 'messaging.client_id': ch.client?.clientId, 'mqtt.qos': qos };
}

/**
 * An accepted PUBLISH about to be routed: its span when the publisher is sampled or the
 * message carries a sampled `traceparent`, else undefined. The span is remembered for the
 * message so that deliveries (now or later, from a queue) become its children.
 */
export function tracePublish(ch: Channel, msg: Message, props: Properties | undefined): TraceSpan | undefined {
  const tracer = ch.broker.tracer;
  const remote = props === undefined ? undefined : traceparentOf(props);
  const traced = ch.traced || (remote !== undefined && remoteSampled(remote));
  const span = traced ? tracer.startSpan('mqtt publish', { parent: remote, kind: 'server', attributes: publishAttributes(ch, msg.topic, msg.qos) }) : undefined;
  // Every message gets the slot, traced or not: a property added to the traced 1% only would
  // give those a second hidden class, and every site in the router, the sessions and the
  // encoder that reads a message would see two shapes instead of one.
  tracer.setMessageSpan(msg, span);
  return span;
}

/** A refused PUBLISH (ACL, store unavailable, bad payload): always traced. */
export function tracePublishRefused(ch: Channel, topic: string, qos: QoS, props: Properties | undefined, reasonCode: number, reason: string): void {
  const span = ch.broker.tracer.startSpan('mqtt publish', {
    parent: traceparentOf(props),
    kind: 'server',
    attributes: { ...publishAttributes(ch, topic, qos), 'mqtt.reason_code': reasonCode },
  });
  span.fail(reason);
  span.end();
}

/**
 * The routed message's store step: a child span from now until the commit the
 * acknowledgement waits for (ended at once when the store is synchronous or for QoS 0).
 * The publish span ends with it: it covers routing and the commit, up to the PUBACK.
 */
export function traceStore(ch: Channel, publish: TraceSpan, matched: number, commit: Promise<void> | undefined): void {
  publish.setAttribute('holdfast.matched_sessions', matched);
  if (commit === undefined) {
    publish.end();
    return;
  }
  const store = ch.broker.tracer.startSpan('holdfast store commit', {
    parent: publish,
    kind: 'internal',
    attributes: { 'holdfast.store': ch.broker.store.kind },
  });
  commit.then(
    () => {
      store.end();
      publish.end();
    },
    (err: unknown) => {
      const why = err instanceof Error ? err.message : String(err);
      store.fail(why);
      store.end();
      publish.fail('store commit failed');
      publish.end();
    },
  );
}

/** One copy of a traced message sent to this channel's client: a child of the publish span. */
export function traceDelivery(ch: Channel, message: Message, qos: QoS, dup: boolean): TraceSpan | undefined {
  const tracer = ch.broker.tracer;
  const parent = tracer.messageSpan(message);
  if (parent === undefined) return undefined;
  return tracer.startSpan('mqtt deliver', {
    parent,
    kind: 'producer',
    // The topic is on the parent (publish) span.
    attributes: { 'messaging.client_id': ch.client?.clientId, 'mqtt.qos': qos, ...(dup ? { 'mqtt.dup': true } : {}) },
  });
}

/** Properties for a v5 copy: `traceparent` appended unless the publisher sent one (forwarded unaltered). */
export function withTraceparent(props: Properties | undefined, traceparent: string): Properties | undefined {
  if (traceparentOf(props) !== undefined) return props;
  const ups: UserProperty[] = props?.userProperties === undefined ? [] : [...props.userProperties];
  ups.push([TRACEPARENT, traceparent]);
  return { ...props, userProperties: ups };
}
