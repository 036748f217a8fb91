/**
 * One connection's MQTT state machine (MQTT 3.1.1 and 5.0). Pure: packets come in through
 * handleIn(), packets go out through the ChannelOutput port, and everything that reaches
 * other connections goes through the broker core. No sockets, no timers: the broker's
 * sweep calls check(now).
 *
 *   awaiting-connect --CONNECT--> authenticating --(auth ok)--> connected --> closed
 *                                        \--(refused)--> closed
 *
 * The packet handlers live in connect-flow.ts, publish-flow.ts and subscribe-flow.ts;
 * this file holds the state, the way out (send / close) and the session-facing side
 * (SessionSink) and the backpressure side (PressureWaiter).
 */
import type { AckPacket, Packet, Properties, ProtocolVersion, PublishPacket, QoS, WillMessage } from '../../codec/mqtt/packets.js';
import { encode, type CodecError } from '../../codec/mqtt/index.js';
import { RC } from '../../codec/mqtt/reason-codes.js';
import type { Broker } from '../broker.js';
import type { ClientInfo, DisconnectCause } from '../hooks.js';
import type { Message } from '../session/message.js';
import type { Session } from '../session/session.js';
import type { PressureWaiter, SessionSink, SinkPressure } from '../session/session-sink.js';
import type { PendingWill } from '../session/will.js';
import type { TraceSpan } from '../../ports/tracer.js';
import type { TokenBucket } from '../../resilience/index.js';
import { AckQueue } from './ack-queue.js';
import { minimalConnack, withoutProblemInfo } from './packet-fit.js';
import type { ChannelOutput } from './channel-output.js';
import type { Negotiated } from './connect-checks.js';
import { handleAuth, handleConnect } from './connect-flow.js';
import { handleAck, handlePublish, handlePubrel } from './publish-flow.js';
import { connackRefusal, connackUnsupportedVersion, refuse, serverDisconnect, type Refusal } from './reasons.js';
import { handleSubscribe, handleUnsubscribe } from './subscribe-flow.js';
import { traceConnectRefused, traceDelivery, withTraceparent } from './trace-flow.js';
import type { InboundAliases, OutboundAliases } from './topic-alias.js';

export type ChannelState = 'awaiting-connect' | 'authenticating' | 'connected' | 'closed';

/** At a graceful stop, how long a connection accepted just before may take to send its CONNECT (answered with CONNACK 0x88). */
const SHUTDOWN_CONNECT_GRACE_MS = 1_000;

export class Channel implements SessionSink, PressureWaiter {
  state: ChannelState = 'awaiting-connect';
  version: ProtocolVersion = 4;
  client: ClientInfo | undefined;
  session: Session | null = null;
  neg: Negotiated | undefined;
  /** The will of this connection until a normal DISCONNECT removes it (MQTT-3.1.2-10). */
  will: WillMessage | undefined;
  inAliases: InboundAliases | undefined;
  outAliases: OutboundAliases | undefined;
  /** CONNACK with success was sent: from now on errors are DISCONNECTs (MQTT-3.14.0-1). */
  connackSent = false;
  /** Enhanced authentication in progress or done with this method (MQTT5 4.12). */
  authMethod: string | undefined;
  authStep = 0;
  /** Clean Start / Clean Session of the CONNECT. */
  cleanStartRequested = false;
  /** An asynchronous step (auth hook) is running: input waits. */
  asyncPending = false;
  lastPacketAt: number;
  readonly openedAt: number;
  private blockers: Set<object> | undefined;
  private inputStopped = false;
  /** Set by the transport at accept when admission refused this connection: its CONNECT gets this answer. */
  admissionRefusal: Refusal | undefined;
  /** Per-client publish rate (clientLimits.publishRatePerS), created at CONNECT when configured. */
  publishBucket: TokenBucket | undefined;
  private throttled = false;
  private overloaded = false;
  /** The publish read when overload level 2 began: handled when it ends. */
  private heldPublish: PublishPacket | undefined;
  private acks: AckQueue | undefined;
  /** A graceful server stop waiting for this channel's acknowledgements (store commits), or for its CONNECT, before it closes. */
  private closingFor: { reasonCode: number; serverReference: string | undefined; since: number } | undefined;
  private maxOut = Infinity;
  /** Tracing (trace-flow.ts): this client is sampled; the open connect span of a sampled client. */
  traced = false;
  connectSpan: TraceSpan | undefined;

  constructor(
    readonly broker: Broker,
    readonly out: ChannelOutput,
    now: number,
  ) {
    this.openedAt = now;
    this.lastPacketAt = now;
  }

  get clientId(): string | undefined {
    return this.client?.clientId;
  }

  // ---- input -----------------------------------------------------------------------------

  /**
   * Handles one decoded packet. Returns false when the channel wants no more input for now
   * (authentication running, or a subscriber it publishes to is congested); the transport
   * then stops decoding and reading until out.resumeInput() is called.
   */
  handleIn(p: Packet, now: number): boolean {
    if (this.state === 'closed') return false;
    // Graceful stop: nothing more is read; what was read is acknowledged, then the channel closes.
    // A CONNECT still awaited is read: it gets CONNACK 0x88 (connect-flow) rather than a silent close.
    if (this.closingFor !== undefined && this.state !== 'awaiting-connect') return false;
    this.lastPacketAt = now;
    const stats = this.broker.stats;
    stats.packetsIn++;
    stats.packetsInByType[p.type]++;
    if (this.state === 'awaiting-connect') {
      if (p.type !== 1) {
        // MQTT-3.1.0-1: the first packet must be CONNECT.
        this.closeWith(refuse(RC.PROTOCOL_ERROR, 'The first packet must be CONNECT'), 'protocol-error');
        return false;
      }
      handleConnect(this, p, now);
      return this.acceptingInput();
    }
    if (this.state === 'authenticating' && p.type !== 15 && p.type !== 14) {
      // MQTT-3.1.2-30 / MQTT-3.2.0-1: before CONNACK only AUTH (or DISCONNECT) may arrive.
      this.protocolError('Only AUTH or DISCONNECT may be sent before CONNACK');
      return false;
    }
    switch (p.type) {
      case 3:
        if (!this.broker.admission.admitPublishes()) {
          // Overload level 2: this publish waits with the rest (handled when the level drops).
          this.heldPublish = p;
          this.pauseForOverload();
          return false;
        }
        handlePublish(this, p, now);
        if (this.publishBucket !== undefined) this.limitPublishRate();
        break;
      case 4:
      case 5:
      case 7:
        handleAck(this, p, now);
        break;
      case 6:
        handlePubrel(this, p);
        break;
      case 8:
        handleSubscribe(this, p);
        break;
      case 10:
        handleUnsubscribe(this, p);
        break;
      case 12:
        this.send({ type: 13 });
        break;
      case 14:
        this.onClientDisconnect(p.reasonCode ?? 0, p.properties);
        break;
      case 15:
        handleAuth(this, p, now);
        break;
      case 1:
        this.protocolError('A second CONNECT on the same connection'); // MQTT-3.1.0-2
        break;
      default:
        // CONNACK, SUBACK, UNSUBACK, PINGRESP are server-to-client only.
        this.protocolError(`Unexpected packet type ${p.type} from a client`);
    }
    return this.acceptingInput();
  }

  acceptingInput(): boolean {
    const ok = this.inputMayFlow();
    if (!ok) this.inputStopped = true;
    return ok;
  }

  private inputMayFlow(): boolean {
    return (
      this.state !== 'closed' &&
      (this.closingFor === undefined || this.state === 'awaiting-connect') &&
      !this.asyncPending &&
      !this.throttled &&
      !this.overloaded &&
      (this.blockers === undefined || this.blockers.size === 0)
    );
  }

  /** Input may flow again (async step finished or pressure relieved). */
  releaseInput(): void {
    if (this.inputStopped && this.inputMayFlow()) {
      this.inputStopped = false;
      this.out.resumeInput();
    }
  }

  // ---- rate limits and overload (issue 6) -------------------------------------------

  /** Per-client publish rate: over it, stop reading until back within it (or disconnect, 0x96). */
  private limitPublishRate(): void {
    const pauseMs = this.publishBucket!.consume(1);
    if (pauseMs <= 0 || this.state === 'closed') return;
    this.broker.stats.rateLimited++;
    if (this.broker.config.clientLimits.onExceed === 'disconnect') {
      this.rateExceeded('publishes per second');
      return;
    }
    if (this.throttled) return;
    this.throttled = true;
    const t = setTimeout(() => {
      this.throttled = false;
      this.releaseInput();
    }, Math.ceil(pauseMs));
    t.unref();
  }

  rateExceeded(what: string): void {
    this.closeWith(refuse(RC.MESSAGE_RATE_TOO_HIGH, `Over the limit of ${what}`), 'rate-limited');
  }

  /** Overload level 2: no more publishes are read from anyone until the level drops (the sweep wakes us). */
  private pauseForOverload(): void {
    if (this.overloaded) return;
    this.overloaded = true;
    this.broker.stats.overloadPauses++;
    this.broker.overloadPaused.add(this);
  }

  overloadRelieved(): void {
    this.overloaded = false;
    const held = this.heldPublish;
    this.heldPublish = undefined;
    if (held !== undefined && this.state === 'connected') {
      const now = this.broker.clock.now();
      handlePublish(this, held, now);
      if (this.publishBucket !== undefined) this.limitPublishRate();
    }
    this.releaseInput();
  }

  /** The decoder refused the byte stream (MQTT5 4.13: 0x81 malformed, 0x82 protocol error, 0x95 too large). */
  handleDecodeError(err: CodecError): void {
    if (this.state === 'closed') return;
    this.broker.stats.malformedPackets++;
    if (err.reasonCode === RC.UNSUPPORTED_PROTOCOL_VERSION && !this.connackSent) {
      const requested = err.details?.protocolVersion as number | undefined;
      this.emit(connackUnsupportedVersion(requested), requested !== undefined && requested >= 5 ? 5 : 4);
      this.finish('protocol-error', RC.UNSUPPORTED_PROTOCOL_VERSION);
      this.out.end();
      return;
    }
    const rc = err.reasonCode ?? RC.MALFORMED_PACKET;
    const version = err.details?.protocolVersion;
    if (this.state === 'awaiting-connect' && version === 5) this.version = 5;
    this.closeWith(refuse(rc, err.message), 'protocol-error');
  }

  /** An unexpected exception while handling this connection's input: close it (v5 0x83). */
  internalError(): void {
    this.closeWith(refuse(RC.IMPLEMENTATION_SPECIFIC_ERROR, 'Internal error'), 'protocol-error');
  }

  /** The socket closed or failed. */
  connectionLost(cause: DisconnectCause): void {
    if (this.state === 'closed') return;
    this.finish(cause, RC.UNSPECIFIED_ERROR);
  }

  /** Periodic check from the broker's sweep: connect deadline, keepalive, stalled publishers' blockers. */
  check(now: number): void {
    if (this.state === 'closed') return;
    const cfg = this.broker.config;
    const c = this.closingFor;
    if (c !== undefined && this.state === 'awaiting-connect' && now - c.since > SHUTDOWN_CONNECT_GRACE_MS) {
      this.closeWith(refuse(c.reasonCode, 'Server shutting down'), 'server-shutdown', c.serverReference);
      return;
    }
    if (this.state !== 'connected') {
      const late = now - this.openedAt > cfg.mqtt.connectTimeoutMs;
      if (!late) return;
      if (this.state === 'awaiting-connect') {
        // No CONNECT: close without a packet (MQTT5 4.13 does not allow a CONNACK before a CONNECT).
        this.closeWith(refuse(RC.MAXIMUM_CONNECT_TIME, 'No CONNECT within the connect timeout'), 'protocol-error');
      } else if (!this.asyncPending) {
        // Enhanced authentication the client did not finish (MQTT5 4.12).
        this.closeWith(refuse(RC.NOT_AUTHORIZED, 'Authentication did not complete within the connect timeout'), 'auth-failed');
      } else if (now - this.openedAt > cfg.mqtt.connectTimeoutMs + 1000) {
        // The hook's own deadline normally answers first (0x88); this is the backstop.
        this.closeWith(refuse(RC.SERVER_UNAVAILABLE, 'Authentication did not complete within the connect timeout'), 'auth-failed');
      }
      return;
    }
    const ka = this.neg!.keepaliveS;
    if (this.inputStopped) {
      // The server holds this client's input (authentication hook, backpressure): what it sent
      // waits in our buffer, so it is not silent. The keepalive clock restarts on release.
      this.lastPacketAt = now;
    } else if (ka > 0 && now - this.lastPacketAt > ka * 1500) {
      // MQTT-3.1.2-24: nothing received for 1.5 x Keep Alive.
      this.closeWith(refuse(RC.KEEP_ALIVE_TIMEOUT, `Nothing received for ${ka * 1.5} s`), 'keepalive-timeout');
      return;
    }
    if (this.blockers !== undefined) {
      for (const b of [...this.blockers]) (b as Session).releaseIfStalled(now, cfg.limits.stallDetectMs);
    }
    const waitingSince = this.acks?.oldestWaitingSince();
    if (waitingSince !== undefined && now - waitingSince > cfg.limits.ackWaitTimeoutMs) {
      // The store has not committed for too long: close without the acknowledgement; the client resends.
      this.closeWith(refuse(RC.UNSPECIFIED_ERROR, 'Storage unavailable: the publication was not acknowledged'), 'protocol-error');
    }
  }

  // ---- output ----------------------------------------------------------------------------

  /** Encodes and sends a packet, honouring the client's Maximum Packet Size (MQTT-3.1.2-24/25). */
  send(p: Packet): boolean {
    if (this.version === 5 && p.type !== 2 && p.type !== 3 && p.type !== 14 && this.neg?.requestProblemInformation === false) {
      // MQTT-3.1.2-29: no Reason String or User Property except on PUBLISH, CONNACK, DISCONNECT.
      p = withoutProblemInfo(p);
    }
    let bytes = encode(p, this.version);
    if (bytes.length > this.maxOut) {
      if (p.type === 3) return false;
      // Drop the Reason String and User Properties first (MQTT5 3.1.2.11.4, MQTT-3.2.2-19/20)...
      p = withoutProblemInfo(p);
      bytes = encode(p, this.version);
      // ...then, for CONNACK, the capability properties, which all have defaults.
      if (bytes.length > this.maxOut && p.type === 2) {
        p = minimalConnack(p);
        bytes = encode(p, this.version);
      }
      if (bytes.length > this.maxOut) return false;
    }
    this.emit(p, this.version, bytes);
    return true;
  }

  private emit(p: Packet, version: ProtocolVersion, bytes = encode(p, version)): void {
    const stats = this.broker.stats;
    stats.packetsOut++;
    stats.packetsOutByType[p.type]++;
    this.out.send(p, bytes);
  }

  /** Sends an acknowledgement of an inbound publish, in order, once `commit` (the store) is durable. */
  ack(packet: AckPacket, commit: Promise<void> | undefined): void {
    if (commit === undefined && (this.acks === undefined || this.acks.size === 0)) {
      this.send(packet);
      return;
    }
    (this.acks ??= new AckQueue((p, failed) => this.releaseAck(p, failed))).push(packet, commit, this.lastPacketAt);
  }

  /** QoS 1 PUBACKs not yet sent (waiting for the store), for Receive Maximum accounting. */
  get pendingQos1(): number {
    return this.acks?.pendingQos1 ?? 0;
  }

  private releaseAck(packet: AckPacket, failed: boolean): void {
    if (this.state === 'closed') return;
    if (failed) {
      if (this.version !== 5) {
        // 3.1.1 cannot refuse a publish: close without the ack, the client resends.
        this.closeWith(refuse(RC.UNSPECIFIED_ERROR, 'Store write failed'), 'protocol-error');
        return;
      }
      packet.reasonCode = RC.UNSPECIFIED_ERROR;
      packet.properties = { reasonString: 'Store write failed; the message was not accepted' };
      if (packet.type === 5) this.session?.releaseInboundQos2(packet.packetId);
    }
    this.send(packet);
    const c = this.closingFor;
    if (c !== undefined && this.acks !== undefined && this.acks.size === 0) {
      this.closeWith(refuse(c.reasonCode, 'Server shutting down'), 'server-shutdown', c.serverReference);
    }
  }

  // ---- closing ---------------------------------------------------------------------------

  /** Server-side close with a reason: CONNACK (before connect), DISCONNECT (v5 after), or a plain close (3.1.1). */
  closeWith(r: Refusal, cause: DisconnectCause, serverReference?: string): void {
    if (this.state === 'closed') return;
    this.broker.stats.reasonCode(r.reasonCode);
    if (this.state === 'authenticating') {
      // A CONNECT that was received and is not accepted: a failed attempt (availability SLO).
      this.broker.stats.connectRefused(r.reasonCode);
      if (this.broker.tracer.enabled) traceConnectRefused(this, r.reasonCode, r.reason);
    }
    if (this.connackSent) {
      if (this.version === 5) this.send(serverDisconnect(r, serverReference));
    } else if (this.state === 'authenticating' || (this.state === 'awaiting-connect' && this.version === 5)) {
      // MQTT5 4.13.1: errors before CONNACK are reported in a CONNACK.
      if (this.version === 5 || r.reasonCode !== RC.MAXIMUM_CONNECT_TIME) this.send(connackRefusal(this.version, r));
    }
    this.finish(cause, r.reasonCode);
    this.out.end();
  }

  protocolError(reason: string, reasonCode: number = RC.PROTOCOL_ERROR): void {
    this.broker.stats.malformedPackets++;
    this.closeWith(refuse(reasonCode, reason), 'protocol-error');
  }

  private onClientDisconnect(reasonCode: number, props: Properties | undefined): void {
    if (this.version === 5) {
      const se = props?.sessionExpiryInterval;
      if (se !== undefined && this.session !== null) {
        if (this.neg!.sessionExpiryS === 0 && se !== 0) {
          // MQTT-3.14.2-2: Session Expiry Interval cannot go from 0 to non-zero on DISCONNECT.
          this.protocolError('Session Expiry Interval was 0 at CONNECT and cannot be set on DISCONNECT');
          return;
        }
        this.session.setExpiry(Math.min(se, this.broker.config.mqtt.maxSessionExpiryS));
      }
    }
    // MQTT-3.14.4-3 / MQTT-3.1.2-10: only a normal DISCONNECT (0x00) deletes the will; 0x04 and errors keep it.
    if (this.version !== 5 || reasonCode === RC.NORMAL_DISCONNECTION) this.will = undefined;
    this.finish(reasonCode === RC.DISCONNECT_WITH_WILL ? 'client-disconnect-with-will' : 'client-disconnect', reasonCode);
    this.out.end(); // MQTT-3.14.4-1
  }

  private finish(cause: DisconnectCause, reasonCode: number): void {
    if (this.state === 'closed') return;
    const wasConnected = this.state === 'connected';
    this.state = 'closed';
    const broker = this.broker;
    broker.stats.closed(cause);
    if (this.session !== null) {
      const now = broker.clock.now();
      broker.connectionClosed(this.session, this, this.pendingWill(now), cause === 'server-shutdown');
    }
    this.blockers = undefined;
    if (wasConnected && this.client !== undefined && broker.hooks.onDisconnected) {
      try {
        broker.hooks.onDisconnected(this.client, cause, reasonCode);
      } catch (err) {
        broker.logger.error({ err }, 'onDisconnected hook failed');
      }
    }
  }

  private pendingWill(now: number): PendingWill | undefined {
    const w = this.will;
    if (w === undefined) return undefined;
    this.will = undefined;
    const delayS = this.version === 5 ? (w.properties?.willDelayInterval ?? 0) : 0;
    return {
      topic: w.topic,
      payload: Buffer.from(w.payload),
      qos: w.qos,
      retain: w.retain,
      properties: w.properties,
      fireAt: now + delayS * 1000,
    };
  }

  /**
   * Server shutdown (MQTT5 3.14.2.1 0x8B, with a Server Reference when configured, MQTT5
   * 3.14.2.2.5). Publishes already read are acknowledged first (their commits are waited for;
   * nothing more is read), then v5 clients get the DISCONNECT and 3.1.1 clients are closed.
   * `force` closes at once: acknowledgements still waiting are not sent (the client resends).
   */
  shutdown(reasonCode: number, serverReference: string | undefined, force = false): void {
    if (this.state === 'closed') return;
    const waitForConnect = this.state === 'awaiting-connect';
    if (!force && (waitForConnect || (this.state === 'connected' && this.acks !== undefined && this.acks.size > 0))) {
      this.closingFor = { reasonCode, serverReference, since: this.broker.clock.now() };
      return;
    }
    this.closeWith(refuse(reasonCode, 'Server shutting down'), 'server-shutdown', serverReference);
  }

  /** Connected: the client's limits are known. */
  setNegotiated(n: Negotiated): void {
    this.neg = n;
    this.maxOut = n.clientMaxPacketSize;
  }

  // ---- SessionSink -----------------------------------------------------------------------

  get sendWindow(): number {
    const cap = this.broker.config.mqtt.maxInflightMessages;
    if (this.version !== 5 || this.neg === undefined) return cap;
    return Math.min(cap, this.neg.clientReceiveMaximum); // MQTT-3.3.4-7
  }

  pressure(): SinkPressure {
    return this.out.pressure();
  }

  sendPublish(
    message: Message,
    qos: QoS,
    retain: boolean,
    subscriptionIds: number[] | undefined,
    packetId: number,
    dup: boolean,
  ): boolean {
    let topic = message.topic;
    let properties: Properties | undefined;
    let newAlias = false;
    if (this.version === 5) {
      properties = message.properties;
      const aliases = this.outAliases;
      if (subscriptionIds !== undefined || message.expiresAt !== 0 || aliases !== undefined) {
        const p: Properties = properties === undefined ? {} : { ...properties };
        if (subscriptionIds !== undefined) p.subscriptionIdentifiers = subscriptionIds;
        if (message.expiresAt !== 0) {
          // MQTT-3.3.2-6: forward the remaining lifetime.
          p.messageExpiryInterval = Math.max(1, Math.ceil((message.expiresAt - this.broker.clock.now()) / 1000));
        }
        if (aliases !== undefined) {
          const a = aliases.lookup(topic);
          if (a !== undefined) {
            p.topicAlias = a.alias;
            if (a.known) topic = '';
            else newAlias = true;
          }
        }
        properties = p;
      }
    }
    let span: TraceSpan | undefined;
    if (this.broker.tracer.enabled) {
      span = traceDelivery(this, message, qos, dup);
      if (span !== undefined && this.version === 5) properties = withTraceparent(properties, span.traceparent);
    }
    const packet: PublishPacket = {
      type: 3,
      topic,
      payload: message.payload,
      qos,
      retain,
      dup,
      packetId: qos > 0 ? packetId : undefined,
      properties,
    };
    const bytes = encode(packet, this.version);
    if (bytes.length > this.maxOut) {
      if (newAlias) this.outAliases!.forget(message.topic);
      if (span !== undefined) {
        span.fail('larger than the client Maximum Packet Size');
        span.end();
      }
      return false;
    }
    this.emit(packet, this.version, bytes);
    if (!dup) {
      const stats = this.broker.stats;
      const latencyS = (this.broker.clock.now() - message.createdAt) / 1000;
      stats.publishToDeliver.observe(latencyS);
      if (qos > 0) stats.publishToDeliverQos12.observe(latencyS);
    }
    span?.end();
    return true;
  }

  sendPubrel(packetId: number, reasonCode: number): void {
    this.send({ type: 6, packetId, reasonCode });
  }

  disconnect(reasonCode: number, reason: string, cause: DisconnectCause): void {
    this.closeWith(refuse(reasonCode, reason), cause);
  }

  // ---- PressureWaiter ----------------------------------------------------------------------

  pressureApplied(source: object): void {
    const b = (this.blockers ??= new Set());
    if (b.size === 0) this.broker.stats.backpressurePauses++;
    b.add(source);
  }

  pressureRelieved(source: object): void {
    const b = this.blockers;
    if (b === undefined) return;
    b.delete(source);
    if (b.size === 0) this.releaseInput();
  }
}
