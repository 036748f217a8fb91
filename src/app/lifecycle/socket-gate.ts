/**
 * A listening socket received from the old process at a zero-downtime restart (issue 8).
 * Node starts accepting on a received server at once; until this process's listeners are
 * up, accepted connections wait here, unread (bounded: past `maxQueued` they are closed,
 * and counted). Then `accept(onSocket)` hands them over, oldest first, and every later one.
 */
import type { Server as NetServer, Socket } from 'node:net';
import type { InheritedListener } from '../../broker/transport/listeners-api.js';

export class SocketGate implements InheritedListener {
  readonly port: number;
  private queued: Socket[] = [];
  private onSocket: ((socket: Socket) => void) | undefined;
  /** Connections closed because the queue was full. */
  dropped = 0;

  constructor(
    readonly server: NetServer,
    private readonly maxQueued = 65_536,
  ) {
    const addr = server.address();
    this.port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    // The connection's bytes stay in the kernel until the listener reads them.
    (server as NetServer & { pauseOnConnect: boolean }).pauseOnConnect = true;
    server.on('connection', (socket: Socket) => this.take(socket));
    server.on('error', () => undefined); // accept errors (EMFILE) are retried by libuv
  }

  /** Connections waiting for the listener. */
  get waiting(): number {
    return this.queued.length;
  }

  private take(socket: Socket): void {
    socket.setNoDelay(true);
    if (this.onSocket !== undefined) {
      handOver(socket, this.onSocket);
      return;
    }
    if (this.queued.length >= this.maxQueued) {
      this.dropped++;
      socket.destroy();
      return;
    }
    socket.on('error', () => undefined); // a client that gives up while queued
    this.queued.push(socket);
  }

  accept(onSocket: (socket: Socket) => void): void {
    this.onSocket = onSocket;
    const queued = this.queued;
    this.queued = [];
    for (const s of queued) {
      if (s.destroyed) continue;
      handOver(s, onSocket);
    }
  }

  close(): Promise<void> {
    for (const s of this.queued) s.destroy();
    this.queued = [];
    // Stops accepting at once; the connections it accepted belong to the listeners now (the
    // server's close callback would wait for every one of them to end).
    if (this.server.listening) this.server.close();
    return Promise.resolve();
  }
}

/** The listener takes the socket; reading starts only now (an HTTP or TLS server does not start it itself). */
function handOver(socket: Socket, onSocket: (socket: Socket) => void): void {
  onSocket(socket);
  if (!socket.destroyed) socket.resume();
}
