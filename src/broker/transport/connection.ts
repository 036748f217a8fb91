/**
 * Glue between one wire and one channel: bytes in -> decoder -> channel; packets out ->
 * a per-connection batch written once per event-loop turn. It owns the outbound side of
 * flow control:
 *
 * - pressure: 'ok' below `outboundHighWaterBytes` buffered; above it 'congested' while
 *   writes keep completing, 'stalled' once none completed for `stallDetectMs`;
 * - a socket that stays above the high-water mark for `drainTimeoutMs` is disconnected as
 *   a slow consumer (v5 0x97), so one stuck client cannot hold memory or publishers;
 * - input is paused (socket.pause, decoder keeps the rest) when the channel asks.
 */
import { CodecError, MqttDecoder, type Packet } from '../../codec/mqtt/index.js';
import type { Broker, ConnectionHandle } from '../broker.js';
import { TokenBucket } from '../../resilience/index.js';
import { Channel } from '../channel/channel.js';
import type { ChannelOutput } from '../channel/channel-output.js';
import type { PeerCertificateInfo } from '../hooks.js';
import type { SinkPressure } from '../session/session-sink.js';
import { scheduleFlush } from './flush-scheduler.js';
import type { Wire, WireEvents } from './wire.js';

/** How long a closing connection may take to flush its last packets. */
const CLOSE_GRACE_MS = 5_000;

export class Connection implements ChannelOutput, ConnectionHandle, WireEvents {
  readonly channel: Channel;
  wire!: Wire;
  private readonly decoder: MqttDecoder;
  private pending: Buffer[] | undefined;
  private pendingBytes = 0;
  private scheduled = false;
  private inputStopped = false;
  private held: Buffer[] | undefined;
  private now: number;
  private lastProgressAt: number;
  private congestedSince = 0;
  private closingSince = 0;
  private closed = false;
  private admitted = false;
  private bytesBucket: TokenBucket | undefined;
  private throttleTimer: NodeJS.Timeout | undefined;
  private readonly onPacket = (p: Packet): boolean => this.channel.handleIn(p, this.now);
  private readonly onWritten = (): void => this.written();

  constructor(readonly broker: Broker) {
    const now = broker.clock.now();
    this.now = now;
    this.lastProgressAt = now;
    this.decoder = new MqttDecoder({ maxPacketSize: broker.config.mqtt.maxPacketSizeBytes });
    this.channel = new Channel(broker, this, now);
  }

  /** Attaches the wire (created with this connection as its event sink) and registers with the broker. */
  start(wire: Wire): void {
    this.wire = wire;
    this.broker.connections.add(this);
    // Admission before anything expensive; a refused connection is told why at its CONNECT.
    this.channel.admissionRefusal = this.broker.admission.onAccept(wire.listener, () => wire.remoteHost);
    this.admitted = true;
  }

  get remoteAddress(): string {
    return this.wire.remoteAddress;
  }

  get listener(): string {
    return this.wire.listener;
  }

  get certificate(): PeerCertificateInfo | undefined {
    return this.wire.certificate;
  }

  // ---- inbound ------------------------------------------------------------------------

  onData(chunk: Buffer): void {
    this.broker.stats.bytesIn += chunk.length;
    if (this.closed) return;
    const limits = this.broker.config.clientLimits;
    if (limits.bytesPerS > 0) {
      this.bytesBucket ??= new TokenBucket({ capacity: limits.bytesBurst, refillPerSec: limits.bytesPerS, clock: this.broker.rateClock });
      const pauseMs = this.bytesBucket.consume(chunk.length);
      if (pauseMs > 0) {
        this.broker.stats.rateLimited++;
        if (limits.onExceed === 'disconnect') {
          this.channel.rateExceeded('bytes per second');
          return;
        }
        this.throttle(pauseMs);
      }
    }
    if (this.inputStopped) {
      (this.held ??= []).push(chunk);
      return;
    }
    this.now = this.broker.clock.now();
    this.decode(chunk);
  }

  private decode(chunk: Buffer | undefined): void {
    try {
      if (chunk !== undefined) this.decoder.push(chunk, this.onPacket);
      else this.decoder.resume(this.onPacket);
    } catch (err) {
      if (err instanceof CodecError) {
        this.channel.handleDecodeError(err);
      } else {
        // A bug must cost one connection, not the process.
        this.broker.stats.internalErrors++;
        this.broker.logger.error({ err, clientId: this.channel.clientId }, 'internal error while handling a packet; closing the connection');
        this.channel.internalError();
      }
      return;
    }
    if (!this.channel.acceptingInput() && !this.inputStopped && !this.closed) {
      this.inputStopped = true;
      this.wire.pause();
    }
  }

  /** Throttling by not reading (issue 6): the socket is paused for `ms`; what was read is still handled. */
  throttle(ms: number): void {
    if (this.closed) return;
    this.wire.pause();
    if (this.throttleTimer !== undefined) clearTimeout(this.throttleTimer);
    this.throttleTimer = setTimeout(() => {
      this.throttleTimer = undefined;
      if (!this.closed && !this.inputStopped) this.wire.resume();
    }, Math.ceil(ms));
    this.throttleTimer.unref();
  }

  resumeInput(): void {
    if (!this.inputStopped || this.closed) return;
    // Deferred: this is called from other connections' handlers (pressure relieved), and
    // decoding here would nest one connection's routing inside another's.
    setImmediate(() => {
      if (!this.inputStopped || this.closed || !this.channel.acceptingInput()) return;
      this.inputStopped = false;
      this.now = this.broker.clock.now();
      this.decode(undefined);
      while (!this.inputStopped && !this.closed && this.held !== undefined && this.held.length > 0) {
        this.decode(this.held.shift()!);
      }
      if (this.held?.length === 0) this.held = undefined;
      if (!this.inputStopped && !this.closed && this.throttleTimer === undefined) this.wire.resume();
    });
  }

  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.broker.connections.delete(this);
    if (this.admitted) this.broker.admission.released(this.wire.listener);
    if (this.throttleTimer !== undefined) clearTimeout(this.throttleTimer);
    this.channel.connectionLost('socket-closed');
    this.pending = undefined;
  }

  onError(err: Error): void {
    this.broker.logger.debug({ err: err.message, remote: this.wire?.remoteAddress }, 'connection error');
    if (!this.closed) this.channel.connectionLost('socket-error');
  }

  // ---- outbound -----------------------------------------------------------------------

  send(_packet: Packet, bytes: Buffer): void {
    if (this.closed) return;
    const stats = this.broker.stats;
    stats.bytesOut += bytes.length;
    // Progress is measured from the moment data starts waiting, not from the last write before an idle spell.
    if (this.pending === undefined && this.wire.bufferedBytes() === 0) this.lastProgressAt = this.broker.clock.now();
    if (this.pending === undefined) this.pending = [bytes];
    else this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (!this.scheduled) {
      this.scheduled = true;
      scheduleFlush(this);
    }
  }

  /** Writes everything queued this turn as one buffer. */
  flush(): void {
    this.scheduled = false;
    const pending = this.pending;
    if (pending === undefined || this.closed) return;
    this.pending = undefined;
    const bytes = pending.length === 1 ? pending[0] : Buffer.concat(pending, this.pendingBytes);
    this.pendingBytes = 0;
    this.wire.write(bytes, this.onWritten);
    if (this.closingSince !== 0) this.wire.end();
  }

  private written(): void {
    const now = this.broker.clock.now();
    this.lastProgressAt = now;
    const session = this.channel.session;
    if (session === null) return;
    session.noteProgress(now);
    if (this.congestedSince !== 0 && this.bufferedBytes() < this.broker.config.limits.outboundHighWaterBytes) {
      this.congestedSince = 0;
      session.pump(now);
      session.maybeRelease();
    }
  }

  private bufferedBytes(): number {
    return this.pendingBytes + this.wire.bufferedBytes();
  }

  pressure(): SinkPressure {
    const limits = this.broker.config.limits;
    if (this.bufferedBytes() < limits.outboundHighWaterBytes) return 'ok';
    const now = this.broker.clock.now();
    if (this.congestedSince === 0) this.congestedSince = now;
    return now - this.lastProgressAt >= limits.stallDetectMs ? 'stalled' : 'congested';
  }

  end(): void {
    if (this.closed || this.closingSince !== 0) return;
    this.closingSince = this.broker.clock.now();
    this.inputStopped = true;
    this.wire.pause();
    if (this.scheduled) return; // flush() ends the wire after writing
    this.wire.end();
  }

  // ---- ConnectionHandle ----------------------------------------------------------------

  check(now: number): void {
    if (this.closed) return;
    if (this.closingSince !== 0) {
      // A peer that does not read its last packets is not waited for forever.
      if (now - this.closingSince > CLOSE_GRACE_MS) this.wire.destroy();
      return;
    }
    const limits = this.broker.config.limits;
    if (this.bufferedBytes() >= limits.outboundHighWaterBytes) {
      if (this.congestedSince === 0) this.congestedSince = now;
      else if (now - this.congestedSince > limits.drainTimeoutMs && this.channel.session !== null) {
        this.broker.slowConsumer(this.channel.session, `socket not writable for ${limits.drainTimeoutMs} ms`);
        return;
      }
    } else if (this.congestedSince !== 0) {
      this.congestedSince = 0;
      const s = this.channel.session;
      if (s !== null) {
        s.pump(now);
        s.maybeRelease();
      }
    }
    // Bytes held back by the byte-rate throttle are not the client's silence.
    if (this.throttleTimer !== undefined) this.channel.lastPacketAt = now;
    this.channel.check(now);
  }

  shutdown(reasonCode: number, serverReference: string | undefined, force = false): void {
    if (this.closed) return;
    this.channel.shutdown(reasonCode, serverReference, force);
    if (force && !this.closed) {
      // Cut: whatever could be written goes now; a peer that does not read is not waited for.
      this.flush();
      this.wire.destroy();
    }
  }
}
