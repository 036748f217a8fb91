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

export function socketWire(socket: Socket, listener: string, events: WireEvents): Wire {
  socket.setNoDelay(true); // small packets: latency matters more than Nagle's batching
  socket.on('data', (chunk: Buffer) => events.onData(chunk));
  socket.on('close', (hadError: boolean) => events.onClose(hadError));
  socket.on('error', (err: Error) => events.onError(err));
  let certificate: PeerCertificateInfo | undefined;
  if ((socket as TLSSocket).encrypted) {
    const tls = socket as TLSSocket;
    const cert = tls.getPeerCertificate();
    if (cert && cert.fingerprint256) {
      const cn = cert.subject?.CN;
      certificate = {
        subjectCN: Array.isArray(cn) ? cn[0] : cn,
        fingerprint256: cert.fingerprint256,
        authorized: tls.authorized,
      };
    }
  }
  return {
    remoteAddress: addressOf(socket.remoteAddress, socket.remotePort),
    listener,
    certificate,
    write: (bytes, onWritten) => {
      socket.write(bytes, onWritten);
    },
    bufferedBytes: () => socket.writableLength,
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    end: () => {
      if (socket.destroyed) return;
      socket.end();
      socket.once('finish', () => socket.destroy());
    },
    destroy: () => socket.destroy(),
  };
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
