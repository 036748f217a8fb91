/**
 * Drives test/fixtures/load/flood-client.mjs in a child process: a fast MQTT.js subscriber
 * and a raw publisher that live outside the test process, so that memory measured in the
 * test process is the broker's (plus the test's own bounded raw sockets), not the load
 * generator's.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { withTimeout } from './transport-wait.js';

const SCRIPT = fileURLToPath(new URL('../fixtures/load/flood-client.mjs', import.meta.url));

export interface FloodConfig {
  port: number;
  topic: string;
  count: number;
  size: number;
  qos: 0 | 1;
  /** QoS 1: most unacknowledged publishes at once. */
  window: number;
  subscriberId: string;
  publisherId: string;
}

export interface Published {
  acked: number;
  ackedInOrder: boolean;
  refused: number;
  writeStalls: number;
  ms: number;
}

export interface Received {
  count: number;
  /** Index of the first message out of order or missing, -1 if none. */
  firstBad: number;
  ms: number;
}

type ChildMessage =
  | { type: 'ready' }
  | ({ type: 'published' } & Published)
  | ({ type: 'received' } & Received)
  | { type: 'error'; message: string }
  | { type: 'subscriber-closed'; count: number }
  | { type: 'publisher-closed' };

export class FloodChild {
  private readonly messages: ChildMessage[] = [];
  private waiters: (() => void)[] = [];
  private exited = false;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: ChildMessage) => {
      this.messages.push(m);
      this.wake();
    });
    child.on('exit', () => {
      this.exited = true;
      this.wake();
    });
  }

  /** Forks the generator and waits until its subscriber and publisher are connected. */
  static async start(cfg: FloodConfig): Promise<FloodChild> {
    const child = fork(SCRIPT, [JSON.stringify(cfg)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const fc = new FloodChild(child);
    await fc.next('ready', 15_000);
    return fc;
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  private next<T extends ChildMessage['type']>(type: T, timeoutMs: number): Promise<Extract<ChildMessage, { type: T }>> {
    return withTimeout(
      new Promise((resolve, reject) => {
        const check = () => {
          const err = this.messages.find((m) => m.type === 'error');
          if (err !== undefined) return reject(new Error(`load generator: ${(err as { message: string }).message}`));
          const i = this.messages.findIndex((m) => m.type === type);
          if (i >= 0) return resolve(this.messages.splice(i, 1)[0] as Extract<ChildMessage, { type: T }>);
          if (this.exited) return reject(new Error(`load generator exited while waiting for ${type}`));
          this.waiters.push(check);
        };
        check();
      }),
      timeoutMs,
      `load generator message '${type}'`,
    );
  }

  /** Starts publishing; resolves when all were written (QoS 0) or acknowledged (QoS 1). */
  async publish(timeoutMs: number): Promise<Published> {
    this.child.send({ type: 'go' });
    return this.next('published', timeoutMs);
  }

  /** Resolves when the subscriber has every message (or, on timeout, asks for the count so far). */
  async received(timeoutMs: number): Promise<Received> {
    try {
      return await this.next('received', timeoutMs);
    } catch (err) {
      if (this.exited) throw err;
      this.child.send({ type: 'report' });
      return this.next('received', 5_000);
    }
  }

  /** True if the generator reported that its subscriber or publisher connection closed. */
  get lostConnection(): boolean {
    return this.messages.some((m) => m.type === 'subscriber-closed' || m.type === 'publisher-closed');
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.send({ type: 'exit' });
    await withTimeout(gone, 5_000, 'load generator exit').catch(() => this.child.kill('SIGKILL'));
  }
}
