/**
 * The classic `$SYS/broker/...` topics of Mosquitto-era tooling (mosquitto_sub -t
 * '$SYS/#', MQTT Explorer, old dashboards), published retained every N seconds. Like
 * Mosquitto, a topic is published only when its value changed since the last round, so
 * an idle broker publishes only its uptime. Clients cannot publish to $SYS (the broker
 * refuses it, v5 0x87); topics starting with $ are not matched by # or + at the first
 * level (MQTT-4.7.2-1), so only explicit $SYS subscribers see them.
 */
import { sessionTotals, subscriptionCounts, type BrokerView } from './metrics/broker-view.js';

const PUBLISH = 3;

/** topic -> value for one round. */
export function sysTopicValues(broker: BrokerView, startedAtMs: number, nowMs: number, version: string): Array<[string, string]> {
  const s = broker.stats;
  const t = sessionTotals(broker.sessions);
  const subs = subscriptionCounts(broker.router);
  let dropped = s.messagesNoSubscriber;
  for (const n of s.messagesDropped.values()) dropped += n;
  const mem = process.memoryUsage();
  const v: Array<[string, number | string]> = [
    ['version', `holdfast ${version}`],
    ['uptime', `${Math.max(0, Math.floor((nowMs - startedAtMs) / 1000))} seconds`],
    ['clients/connected', t.online],
    ['clients/active', t.online],
    ['clients/disconnected', t.offline],
    ['clients/inactive', t.offline],
    ['clients/total', t.online + t.offline],
    ['clients/expired', s.sessionsExpired],
    ['connections/current', broker.connections.size],
    ['messages/received', s.packetsIn],
    ['messages/sent', s.packetsOut],
    ['messages/stored', t.queued + broker.router.retained.size],
    ['messages/inflight', t.inflight],
    ['publish/messages/received', s.packetsInByType[PUBLISH] ?? 0],
    ['publish/messages/sent', s.packetsOutByType[PUBLISH] ?? 0],
    ['publish/messages/dropped', dropped],
    ['bytes/received', s.bytesIn],
    ['bytes/sent', s.bytesOut],
    ['retained messages/count', broker.router.retained.size],
    ['subscriptions/count', subs.plain + subs.shared],
    ['store/messages/count', t.queued],
    ['heap/current', mem.heapUsed],
  ];
  return v.map(([k, x]) => [`$SYS/broker/${k}`, String(x)]);
}

export interface SysPublisherOptions {
  intervalMs: number;
  values: () => Array<[string, string]>;
  /** Publishes one retained message. */
  publish: (topic: string, payload: string) => void;
  onError?: (err: unknown) => void;
}

export class SysPublisher {
  private readonly last = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  published = 0;

  constructor(private readonly opts: SysPublisherOptions) {}

  start(): void {
    this.publishNow();
    this.timer = setInterval(() => this.publishNow(), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One round: every value that changed. */
  publishNow(): void {
    try {
      for (const [topic, value] of this.opts.values()) {
        if (this.last.get(topic) === value) continue;
        this.last.set(topic, value);
        this.opts.publish(topic, value);
        this.published++;
      }
    } catch (err) {
      this.opts.onError?.(err);
    }
  }
}
