/**
 * A byte pipe to one client: a TCP or TLS socket, or a WebSocket carrying MQTT in binary
 * frames (MQTT5 6.0). The connection sees only this interface.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { WebSocket } from 'ws';
import type { PeerCertificateInfo } from '../hooks.js';

export interface WireEvents {
  onData(chunk: Buffer): void;
  onClose(hadError: boolean): void;
  onError(err: Error): void;
}

export interface Wire {
  readonly remoteAddress: string;
  /** The remote IP address alone (for per-address limits). */
  readonly remoteHost: string;
  readonly listener: string;
  readonly certificate: PeerCertificateInfo | undefined;
  write(bytes: Buffer, onWritten: () => void): void;
  /** Bytes accepted by write() and not yet handed to the kernel. */
  bufferedBytes(): number;
  pause(): void;
  resume(): void;
  /** Flush what was written, then close. */
  end(): void;
  /** Close now, dropping anything unsent. */
  destroy(): void;
}

function addressOf(host: string | undefined, port: number | undefined): string {
  if (host === undefined) return 'unknown';
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

const kEvents = Symbol('holdfast.wireEvents');
type EventedSocket = Socket & { [kEvents]: WireEvents };

// One set of listener functions for every socket (they find their connection through
// `this`), instead of three closures per connection.
function onSocketData(this: EventedSocket, chunk: Buffer): void {
  this[kEvents].onData(chunk);
}
function onSocketClose(this: EventedSocket, hadError: boolean): void {
  this[kEvents].onClose(hadError);
}
function onSocketError(this: EventedSocket, err: Error): void {
  this[kEvents].onError(err);
}
function onSocketFinish(this: Socket): void {
  this.destroy();
}

/** A TCP or TLS socket as a Wire. Methods live on the prototype: nothing is allocated per connection but this object. */
class SocketWire implements Wire {
  private address: string | undefined;
  readonly certificate: PeerCertificateInfo | undefined;

  constructor(
    private readonly socket: Socket,
    readonly listener: string,
    events: WireEvents,
  ) {
    socket.setNoDelay(true); // small packets: latency matters more than Nagle's batching
    (socket as EventedSocket)[kEvents] = events;
    socket.on('data', onSocketData);
    socket.on('close', onSocketClose);
    socket.on('error', onSocketError);
    this.certificate = (socket as TLSSocket).encrypted ? peerCertificate(socket as TLSSocket) : undefined;
  }

  /** Looked up on first use (a getpeername(2) per connection otherwise). */
  get remoteAddress(): string {
    return (this.address ??= addressOf(this.socket.remoteAddress, this.socket.remotePort));
  }

  get remoteHost(): string {
    return this.socket.remoteAddress ?? 'unknown';
  }

  write(bytes: Buffer, onWritten: () => void): void {
    this.socket.write(bytes, onWritten);
  }

  bufferedBytes(): number {
    return this.socket.writableLength;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  end(): void {
    const socket = this.socket;
    if (socket.destroyed) return;
    socket.end();
    socket.once('finish', onSocketFinish);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function peerCertificate(tls: TLSSocket): PeerCertificateInfo | undefined {
  const cert = tls.getPeerCertificate();
  if (!cert || !cert.fingerprint256) return undefined;
  const cn = cert.subject?.CN;
  return { subjectCN: Array.isArray(cn) ? cn[0] : cn, fingerprint256: cert.fingerprint256, authorized: tls.authorized };
}

export function socketWire(socket: Socket, listener: string, events: WireEvents): Wire {
  return new SocketWire(socket, listener, events);
}

export function webSocketWire(
  ws: WebSocket,
  remote: { address: string | undefined; port: number | undefined },
  listener: string,
  certificate: PeerCertificateInfo | undefined,
  events: WireEvents,
): Wire {
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) {
      // MQTT-6.0.0-1: MQTT control packets are sent in binary frames only.
      events.onError(new Error('text WebSocket frame'));
      ws.close(1003, 'MQTT needs binary frames');
      return;
    }
    events.onData(data);
  });
  ws.on('close', () => events.onClose(false));
  ws.on('error', (err: Error) => events.onError(err));
  return {
    remoteAddress: addressOf(remote.address, remote.port),
    remoteHost: remote.address ?? 'unknown',
    listener,
    certificate,
    write: (bytes, onWritten) => ws.send(bytes, { binary: true }, onWritten),
    bufferedBytes: () => ws.bufferedAmount,
    pause: () => ws.pause(),
    resume: () => ws.resume(),
    end: () => {
      if (ws.readyState === ws.OPEN) ws.close(1000);
    },
    destroy: () => ws.terminate(),
  };
}
