/**
 * Zero-downtime restart (issue 8), the new process's side: a listening socket received from
 * the old process accepts from the moment it arrives. A connection accepted before the other
 * handles (and `handles-sent`) arrived must wait in its gate and reach the listener later,
 * not be lost (open, unread, never answered: an MQTT client waiting for its CONNACK until
 * its own timeout).
 */
import { EventEmitter } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/app/config/index.js';
import type { HandoverMessage } from '../../../src/app/lifecycle/handover-protocol.js';
import { takeOver, type TakeoverChannel } from '../../../src/app/lifecycle/takeover.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { waitUntil } from '../../helpers/transport-wait.js';

class FakeOldProcess extends EventEmitter {
  readonly sent: HandoverMessage[] = [];
  send(m: HandoverMessage): boolean {
    this.sent.push(m);
    return true;
  }
}

describe('takeOver: connections accepted while the handles arrive', () => {
  const cleanup: Array<() => void> = [];
  afterEach(() => {
    for (const c of cleanup.splice(0)) c();
  });

  it('a connection accepted between the handle and handles-sent is handed to the listener with its bytes', async () => {
    // Like the server Node builds for a received handle: listening, no 'connection' listener.
    const server: Server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    cleanup.push(() => server.close());
    const old = new FakeOldProcess();
    const config = configSchema.parse({ listeners: { warmupConnections: 0, mqtt: { port: 0 } } });
    const taking = takeOver(config, silentLogger(), old as unknown as TakeoverChannel);

    await waitUntil(() => old.sent.some((m) => m.hf === 'prepared'), 5_000, 'prepared');
    old.emit('message', { hf: 'handle', name: 'mqtt' }, server);
    // The client connects and sends before the old process has sent the other handles.
    const client: Socket = connect(port, '127.0.0.1');
    cleanup.push(() => client.destroy());
    await new Promise<void>((r) => client.once('connect', () => r()));
    client.write('hello');
    const connections = (): Promise<number> => new Promise((r) => server.getConnections((_e, n) => r(n)));
    for (let i = 0; i < 500 && (await connections()) === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await connections(), 'connections this process accepted before handles-sent').toBe(1);

    old.emit('message', { hf: 'handles-sent', names: ['mqtt'] });
    await waitUntil(() => old.sent.some((m) => m.hf === 'handles-taken'), 5_000, 'handles-taken');
    old.emit('message', { hf: 'released' });
    const { inherited } = await taking;
    const gate = inherited.mqtt!;
    expect(gate).toBeDefined();

    const got: Buffer[] = [];
    gate.accept((s) => s.on('data', (d: Buffer) => got.push(d)));
    await waitUntil(() => Buffer.concat(got).toString() === 'hello', 5_000, 'the early connection to reach the listener', () => Buffer.concat(got).toString());
    await gate.close();
  });
});
