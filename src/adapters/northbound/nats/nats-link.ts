/**
 * The sink's connection to NATS. The client library reconnects by itself after a lost
 * connection (bounded by maxReconnectAttempts); after that, or when the first connection
 * could not be made, the next batch opens a new one. While the client is reconnecting no
 * batch is handed to it: nats.js buffers outgoing data without a bound while disconnected,
 * and a down server must cost the broker nothing but disk (the outbox).
 */
import { connect, type ConnectionOptions, type NatsConnection } from 'nats';
import { HoldfastError } from '../../../errors/index.js';
import type { Logger } from '../../../observability/logger.js';
import type { NatsConnectionOptions } from './nats-sink-options.js';
import { abortable } from '../../../resilience/abortable.js';

export type LinkState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** Ping period: a server that went silent (not closed) is noticed after ~3 of them. */
const PING_INTERVAL_MS = 10_000;
const MAX_PINGS_OUT = 3;

export function natsClientOptions(o: NatsConnectionOptions, name: string): ConnectionOptions {
  return {
    servers: o.servers,
    name,
    timeout: o.connectTimeoutMs,
    reconnect: o.maxReconnectAttempts !== 0,
    maxReconnectAttempts: o.maxReconnectAttempts,
    reconnectTimeWait: o.reconnectTimeWaitMs,
    pingInterval: PING_INTERVAL_MS,
    maxPingOut: MAX_PINGS_OUT,
    waitOnFirstConnect: false,
    ...(o.user !== undefined ? { user: o.user, pass: o.pass } : {}),
    ...(o.token !== undefined ? { token: o.token } : {}),
    ...(o.tls !== undefined ? { tls: { ...o.tls } } : {}),
  };
}

export class NatsLink {
  private nc: NatsConnection | undefined;
  private opening: Promise<NatsConnection> | undefined;
  private current: LinkState = 'idle';
  private stopped = false;
  /** Why the connection is not up, for the sink's state and logs. */
  lastError: string | undefined;

  constructor(
    private readonly options: NatsConnectionOptions,
    private readonly clientName: string,
    private readonly logger: Logger | undefined,
  ) {}

  get state(): LinkState {
    return this.current;
  }

  /** Opens the connection in the background; failures only set lastError. */
  start(): void {
    this.open().catch(() => undefined);
  }

  /**
   * The connection, opened if there is none. Rejects NATS_UNAVAILABLE at once while the
   * client is reconnecting, and when it cannot connect before the connect timeout or `signal`.
   */
  async ready(signal: AbortSignal): Promise<NatsConnection> {
    if (this.stopped) throw unavailable('the sink is closed');
    if (this.current === 'connected' && this.nc !== undefined) return this.nc;
    if (this.current === 'reconnecting') throw unavailable(`reconnecting to NATS${this.lastError !== undefined ? ` (${this.lastError})` : ''}`);
    return abortable(this.open(), signal, () => unavailable('batch deadline passed while connecting to NATS'));
  }

  async close(): Promise<void> {
    this.stopped = true;
    const pending = this.opening;
    if (pending !== undefined) await pending.catch(() => undefined);
    const nc = this.nc;
    this.nc = undefined;
    this.current = 'closed';
    if (nc !== undefined && !nc.isClosed()) await nc.close().catch(() => undefined);
  }

  private open(): Promise<NatsConnection> {
    if (this.opening !== undefined) return this.opening;
    if (this.nc !== undefined && !this.nc.isClosed()) return Promise.resolve(this.nc);
    this.current = 'connecting';
    const opening = connect(natsClientOptions(this.options, this.clientName)).then(
      (nc) => {
        if (this.stopped) {
          void nc.close();
          throw unavailable('the sink is closed');
        }
        this.attach(nc);
        return nc;
      },
      (err: unknown) => {
        this.current = 'closed';
        this.lastError = describe(err);
        throw unavailable(`cannot connect to NATS ${this.options.servers.join(',')}: ${this.lastError}`, err);
      },
    );
    this.opening = opening;
    void opening.catch(() => undefined).finally(() => {
      if (this.opening === opening) this.opening = undefined;
    });
    return opening;
  }

  private attach(nc: NatsConnection): void {
    this.nc = nc;
    this.current = 'connected';
    this.lastError = undefined;
    this.logger?.info({ sink: this.clientName, server: nc.getServer() }, 'NATS sink connected');
    void (async () => {
      for await (const s of nc.status()) {
        if (this.nc !== nc) return;
        if (s.type === 'disconnect') {
          this.current = 'reconnecting';
          this.lastError = 'disconnected';
          this.logger?.warn({ sink: this.clientName }, 'NATS sink disconnected: batches wait until the client reconnects');
        } else if (s.type === 'reconnect') {
          this.current = 'connected';
          this.lastError = undefined;
          this.logger?.info({ sink: this.clientName, server: nc.getServer() }, 'NATS sink reconnected');
        }
      }
    })().catch(() => undefined);
    void nc.closed().then((err) => {
      if (this.nc !== nc) return;
      this.nc = undefined;
      this.current = 'closed';
      this.lastError = err !== undefined ? describe(err) : 'connection closed (reconnect attempts exhausted)';
      if (!this.stopped) this.logger?.warn({ sink: this.clientName, reason: this.lastError }, 'NATS sink connection closed: reopened on the next batch');
    });
  }
}

export function unavailable(message: string, cause?: unknown): HoldfastError {
  return new HoldfastError('NATS_UNAVAILABLE', message, cause === undefined ? {} : { cause });
}

export function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && code !== err.message ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
