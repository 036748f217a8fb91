/**
 * Waits for handover messages (handover-protocol.ts) on an IPC channel, each under a
 * deadline; rejects when the other side exits or disconnects first, or sends `failed`.
 */
import type { Socket, Server as NetServer } from 'node:net';
import { HoldfastError } from '../../errors/index.js';
import { isHandoverMessage, type HandoverMessage } from './handover-protocol.js';

/** The part of a ChildProcess (or of `process` in the child) used here. */
export interface IpcPeer {
  on(event: 'message', fn: (m: unknown, handle?: NetServer | Socket) => void): unknown;
  on(event: 'disconnect', fn: () => void): unknown;
  off(event: 'message', fn: (m: unknown, handle?: NetServer | Socket) => void): unknown;
  off(event: 'disconnect', fn: () => void): unknown;
}

type Kind = HandoverMessage['hf'];
type Received = { m: HandoverMessage; handle: NetServer | Socket | undefined };

export class IpcInbox {
  private readonly queue: Received[] = [];
  private waiter: (() => void) | undefined;
  private gone: string | undefined;
  private readonly onMessage = (m: unknown, handle?: NetServer | Socket): void => {
    if (!isHandoverMessage(m)) return;
    this.queue.push({ m, handle });
    this.waiter?.();
  };
  private readonly onDisconnect = (): void => this.end('the other process closed the IPC channel');

  constructor(private readonly peer: IpcPeer) {
    peer.on('message', this.onMessage);
    peer.on('disconnect', this.onDisconnect);
  }

  /** The other side is gone (exited): pending and later waits reject with `why`. */
  end(why: string): void {
    this.gone ??= why;
    this.waiter?.();
  }

  close(): void {
    this.peer.off('message', this.onMessage);
    this.peer.off('disconnect', this.onDisconnect);
  }

  /** The next message of kind `kind`; any other kind (or `failed`) before it is an error. */
  async next<K extends Kind>(kind: K, timeoutMs: number): Promise<{ m: Extract<HandoverMessage, { hf: K }>; handle: NetServer | Socket | undefined }> {
    const r = await this.nextAny(timeoutMs, kind);
    if (r.m.hf === kind) return r as { m: Extract<HandoverMessage, { hf: K }>; handle: NetServer | Socket | undefined };
    if (r.m.hf === 'failed') throw new HoldfastError('APP_RESTART_FAILED', `the new process failed: ${r.m.reason}`);
    throw new HoldfastError('APP_RESTART_FAILED', `restart protocol: expected ${kind}, got ${r.m.hf}`);
  }

  /** The next message, whatever its kind. */
  async nextAny(timeoutMs: number, what = 'a message'): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = this.queue.shift();
      if (r !== undefined) return r;
      if (this.gone !== undefined) throw new HoldfastError('APP_RESTART_FAILED', `waiting for ${what}: ${this.gone}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new HoldfastError('APP_RESTART_FAILED', `no ${what} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, left);
        function done(): void {
          clearTimeout(t);
          resolve();
        }
        this.waiter = done;
      });
      this.waiter = undefined;
    }
  }
}
