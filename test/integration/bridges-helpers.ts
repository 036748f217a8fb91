/**
 * Helpers of the bridge tests: a real webhook receiver (node:http) that records what
 * arrives and answers what the test says, and a broker on a SQLite store with the bridge
 * engine wired the way the app wires it (admitPublish hook, start after the broker).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { northboundSinks } from '../../src/adapters/northbound/index.js';
import type { Hooks } from '../../src/broker/hooks.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { Store } from '../../src/ports/store.js';
import type { Tracer } from '../../src/ports/tracer.js';
import type { StoreClient } from '../helpers/store-clients.js';
import { removeDir } from '../helpers/store-fixtures.js';
import { createBridges, parseBridgesConfig, type BridgeEngine, type BridgesConfigInput } from '../../src/platform/bridges/index.js';
import { startTestBroker, type DeepPartial, type TestBroker } from '../helpers/broker.js';
import type { BrokerConfig } from '../../src/broker/config.js';

export interface WebhookRequest {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface BatchItem {
  idempotencyKey: string;
  messageId: number;
  topic: string;
  clientId: string | null;
  qos: number;
  timestamp: number;
  attempt: number;
  payload?: unknown;
  payloadBase64?: string;
}

export type Responder = (req: WebhookRequest) => number;

export class WebhookServer {
  readonly requests: WebhookRequest[] = [];
  /** Kept only when `keep` is true (the volume tests count instead). */
  keep = true;
  respond: Responder = () => 200;
  onRequest: ((req: WebhookRequest, status: number) => void) | undefined;
  connections = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  /** Listens on `port` (0: any free one); returns the port. */
  async listen(port = this.port): Promise<number> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r: WebhookRequest = { headers: req.headers, body: Buffer.concat(chunks) };
        const status = this.respond(r);
        if (this.keep) this.requests.push(r);
        this.onRequest?.(r, status);
        if (status === 0) return; // never answer
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(status >= 300 ? `status ${status} from the test receiver` : 'ok');
      });
    });
    server.on('connection', (s: Socket) => {
      this.connections++;
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  /** Stops listening and drops every connection (keep-alive ones too): the receiver is down. */
  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s === undefined) return;
    for (const sock of this.sockets) sock.destroy();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }
}

/** A port that was free a moment ago (listen, then close): for a receiver that is "not listening" yet. */
export async function freePort(): Promise<number> {
  const w = new WebhookServer();
  const port = await w.listen(0);
  await w.close();
  return port;
}

export function batchItems(req: WebhookRequest): BatchItem[] {
  return (JSON.parse(req.body.toString('utf8')) as { messages: BatchItem[] }).messages;
}

export interface BridgedBroker {
  tb: TestBroker;
  bridges: BridgeEngine;
  /** Bridges first (as the app stops them), then the broker (flush, close). */
  stop(): Promise<void>;
}

/** A broker on `store` with the bridges of `bridges` (wired like the app: hooks.admitPublish, start after broker.start()). */
export async function startBridgedBroker(opts: { store: Store; bridges: BridgesConfigInput; config?: DeepPartial<BrokerConfig>; tracer?: Tracer }): Promise<BridgedBroker> {
  const hooks: Hooks = {};
  const tb = await startTestBroker({ store: opts.store, hooks, config: opts.config });
  const bridges = createBridges({ broker: tb.broker, store: opts.store, config: parseBridgesConfig(opts.bridges), logger: silentLogger(), sinks: northboundSinks, ...(opts.tracer ? { tracer: opts.tracer } : {}) });
  hooks.admitPublish = bridges.hooks.admitPublish;
  await bridges.start();
  return {
    tb,
    bridges,
    async stop() {
      await bridges.stop();
      await tb.stop();
    },
  };
}

/** Waits for a condition made true by I/O (checked every 5 ms, with a deadline). */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timeout after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * What one bridge test sets up (a broker, a webhook receiver, a data dir, MQTT clients), torn
 * down after it: `const rig = new BridgesRig(); afterEach(() => rig.tearDown());`.
 */
export class BridgesRig {
  b: BridgedBroker | undefined;
  hook: WebhookServer | undefined;
  dir: string | undefined;
  readonly clients: StoreClient[] = [];

  async tearDown(): Promise<void> {
    for (const c of this.clients.splice(0)) c.destroy();
    await this.b?.stop();
    await this.hook?.close();
    if (this.dir !== undefined) removeDir(this.dir);
    this.b = undefined;
    this.hook = undefined;
    this.dir = undefined;
  }
}
