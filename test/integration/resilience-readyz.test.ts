/**
 * Issue 6 through the app (startHoldfast, config file shape): "Readiness turns false while
 * shedding" and "all configurable, all counted in metrics". The overload signal here is the
 * real one, memory: overload.refuseConnectsAtHeapRatio is set so low that any heap is over
 * it (the event-loop threshold is out of reach), so the broker's own shedder enters level 1
 * at its first sample and stays there (the heap never drops below it).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ConnackPacket, Packet } from '../../src/codec/mqtt/packets.js';
import { CONNACK_V3, RC } from '../../src/codec/mqtt/reason-codes.js';
import { RawClient } from '../helpers/raw-client.js';
import { startResilienceApp, type ResilienceApp } from '../helpers/resilience-app.js';
import { waitUntil } from '../helpers/resilience-broker.js';

let app: ResilienceApp | undefined;
const clients: RawClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await app?.close();
  app = undefined;
});

async function connack(port: number, version: 4 | 5, clientId: string): Promise<ConnackPacket> {
  const c = await RawClient.open(port, version);
  clients.push(c);
  c.send({ type: 1, protocolName: 'MQTT', protocolVersion: version, clean: true, keepalive: 60, clientId } as Packet);
  return (await c.next(2)) as ConnackPacket;
}

const metric = (text: string, re: RegExp): number | undefined => {
  const m = re.exec(text);
  return m === null ? undefined : Number(m[1]);
};

describe('overload through the app (issue 6)', () => {
  it('MQTT5 3.2.2.2 while the broker sheds load (heap over overload.refuseConnectsAtHeapRatio): /readyz 503 "shedding load", CONNECT gets 0x89 (3.1.1: 0x03), and the metrics show the level and the refusals', async () => {
    app = await startResilienceApp({
      overload: {
        enabled: true,
        refuseConnectsAtDelayMs: 600_000,
        pausePublishesAtDelayMs: 600_000,
        refuseConnectsAtHeapRatio: 0.000001,
        pausePublishesAtHeapRatio: 1,
        recoverAfterMs: 60_000,
      },
    });
    const a = app;
    const ready = await waitUntil(async () => {
      const r = await a.http('/readyz?verbose');
      return r.status === 503 ? r : undefined;
    }, '/readyz to fail while shedding');
    expect(ready.json()).toMatchObject({ status: 'fail', output: 'shedding load' });
    expect(app.isReady()).toBe(false);
    expect(app.broker.isReady()).toBe(false);
    expect((await a.http('/livez')).status).toBe(200); // alive, just not taking new work

    const v5 = await connack(app.mqttPort, 5, 'busy-v5');
    expect(v5.reasonCode).toBe(RC.SERVER_BUSY);
    expect(v5.properties?.reasonString).toBe('Server busy: overloaded, try again later');
    expect((await connack(app.mqttPort, 4, 'busy-v311')).reasonCode).toBe(CONNACK_V3.SERVER_UNAVAILABLE);

    const m = (await a.http('/metrics')).body;
    expect(metric(m, /holdfast_load_shed_level\{shedder="overload"\} (\d+)/)).toBe(1);
    expect(metric(m, /holdfast_limiter_refusals_total\{limiter="admission:overload"\} (\d+)/)).toBe(2);
  });

  it('admission settings from the config: admission.maxConnections refuses with 0x97 and the refusal is counted in /metrics', async () => {
    app = await startResilienceApp({ admission: { maxConnections: 1 } });
    expect((await connack(app.mqttPort, 5, 'first')).reasonCode).toBe(RC.SUCCESS);
    const over = await connack(app.mqttPort, 5, 'second');
    expect(over.reasonCode).toBe(RC.QUOTA_EXCEEDED);
    const m = (await app.http('/metrics')).body;
    expect(metric(m, /holdfast_limiter_refusals_total\{limiter="admission:max-connections"\} (\d+)/)).toBe(1);
    // Not shedding: a connection limit is not overload, readiness stays true.
    expect((await app.http('/readyz')).status).toBe(200);
  });
});
