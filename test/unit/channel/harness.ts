/**
 * Drives Channel state machines directly, without sockets: packets in, packets out as
 * data. A ManualClock moves time; broker.sweep(now) runs the timeouts.
 */
import { MemoryStore } from '../../../src/adapters/persistence/memory/index.js';
import { Broker } from '../../../src/broker/broker.js';
import { Channel } from '../../../src/broker/channel/channel.js';
import type { ChannelOutput } from '../../../src/broker/channel/channel-output.js';
import type { BrokerConfig } from '../../../src/broker/config.js';
import type { Hooks } from '../../../src/broker/hooks.js';
import type { SinkPressure } from '../../../src/broker/session/session-sink.js';
import type { ConnectPacket, Packet, ProtocolVersion } from '../../../src/codec/mqtt/packets.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { ManualClock } from '../../../src/ports/clock.js';
import { testConfig, type DeepPartial } from '../../helpers/broker.js';

export class FakeOutput implements ChannelOutput {
  readonly remoteAddress = '127.0.0.1:5555';
  readonly listener = 'mqtt';
  readonly certificate = undefined;
  out: Packet[] = [];
  ended = false;
  resumed = 0;
  pressureState: SinkPressure = 'ok';
  send(packet: Packet): void {
    if (!this.ended) this.out.push(packet);
  }
  end(): void {
    this.ended = true;
  }
  pressure(): SinkPressure {
    return this.pressureState;
  }
  resumeInput(): void {
    this.resumed++;
  }
  /** Packets sent since the last take(). */
  take(): Packet[] {
    const o = this.out;
    this.out = [];
    return o;
  }
}

export interface Harness {
  broker: Broker;
  clock: ManualClock;
  store: MemoryStore;
  open(): { ch: Channel; out: FakeOutput; in: (p: Packet) => Packet[] };
  connect(version: ProtocolVersion, fields?: Partial<ConnectPacket>): { ch: Channel; out: FakeOutput; in: (p: Packet) => Packet[]; connack: Packet };
}

export function harness(config: DeepPartial<BrokerConfig> = {}, hooks: Hooks = {}, store = new MemoryStore()): Harness {
  const clock = new ManualClock();
  const broker = new Broker(testConfig(config), { store, logger: silentLogger(), hooks, clock });
  let n = 0;
  const h: Harness = {
    broker,
    clock,
    store,
    open() {
      const out = new FakeOutput();
      const ch = new Channel(broker, out, clock.now());
      return {
        ch,
        out,
        in: (p: Packet) => {
          ch.handleIn(p, clock.now());
          return out.take();
        },
      };
    },
    connect(version, fields = {}) {
      const c = h.open();
      const packets = c.in({
        type: 1,
        protocolName: version === 3 ? 'MQIsdp' : 'MQTT',
        protocolVersion: version,
        clean: true,
        keepalive: 30,
        clientId: `c${++n}`,
        ...fields,
      });
      // Anything after the CONNACK (resent or queued messages) stays readable with out.take().
      c.out.out.unshift(...packets.slice(1));
      return { ...c, connack: packets[0] };
    },
  };
  return h;
}
