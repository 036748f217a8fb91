/**
 * Raw-socket clients for the rate-limit scenario tests (issue 6): connect and remember for
 * cleanup, subscribe, flood on a timer, and measure a counter's rate over a window.
 */
import { encode, type Packet, type PublishPacket } from '../../src/codec/mqtt/index.js';
import { RawClient } from './raw-client.js';
import { waitUntil } from './resilience-broker.js';

/** What a test opened: closed by cleanup() in afterEach. */
export class Scope {
  readonly clients: RawClient[] = [];
  readonly timers: NodeJS.Timeout[] = [];

  async connected(port: number, version: 4 | 5, clientId: string, keepalive = 60): Promise<RawClient> {
    const c = await RawClient.connected(port, version, { clientId, protocolName: 'MQTT', keepalive });
    this.clients.push(c);
    return c;
  }

  /**
   * Writes `perTick` copies of `packet` every 10 ms (perTick x 100 per second) until cleanup
   * or the socket closes. Returns a live count of packets written.
   */
  flood(c: RawClient, packet: PublishPacket, perTick: number): { written: number } {
    const one = encode(packet, c.version);
    const batch = Buffer.concat(Array.from({ length: perTick }, () => one));
    const n = { written: 0 };
    const t = setInterval(() => {
      if (c.closed) return;
      c.socket.write(batch);
      n.written += perTick;
    }, 10);
    this.timers.push(t);
    return n;
  }

  cleanup(): void {
    for (const t of this.timers.splice(0)) clearInterval(t);
    for (const c of this.clients.splice(0)) c.close();
  }
}

export async function subscribe(c: RawClient, filter: string): Promise<void> {
  c.send({ type: 8, packetId: 1, subscriptions: [{ topic: filter, qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
  await c.next(9);
}

export const qos0 = (topic: string, payload: Buffer): PublishPacket => ({ type: 3, topic, payload, qos: 0, retain: false, dup: false });

/** PUBLISH packets on `topic` this client received so far. */
export const publishes = (c: RawClient, topic: string): number => c.packets.reduce((n, p) => n + (p.type === 3 && p.topic === topic ? 1 : 0), 0);

/** `count()` over a window from now until `ms` have passed: the rate per second. */
export async function rateOver(count: () => number, ms: number): Promise<{ perS: number; n: number; ms: number }> {
  const n0 = count();
  const t0 = performance.now();
  await waitUntil(() => performance.now() - t0 >= ms, `${ms} ms of measurement`, ms + 5000);
  const elapsed = performance.now() - t0;
  const n = count() - n0;
  return { perS: (n * 1000) / elapsed, n, ms: elapsed };
}

export type { Packet };
