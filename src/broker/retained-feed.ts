/**
 * Delivers the retained messages matching a new subscription (MQTT-3.3.1-9, MQTT5
 * 3.8.4 Retain Handling) without flooding the session or blocking the event loop: it
 * walks the retained index lazily, offers a batch per turn, and waits (as a pressure
 * waiter) whenever the session's queue or socket is full. 100,000 retained messages
 * reach a `#` subscriber in order and in bounded memory.
 */
import type { QoS } from '../codec/mqtt/packets.js';
import type { StoredSubscription } from '../ports/store.js';
import type { Broker } from './broker.js';
import type { Message } from './session/message.js';
import type { Session } from './session/session.js';
import type { PressureWaiter } from './session/session-sink.js';

const BATCH = 256;

export class RetainedFeed implements PressureWaiter {
  private readonly iter: Generator<[string, Message]>;
  private readonly subIds: number[] | undefined;
  private waiting = false;

  constructor(
    private readonly broker: Broker,
    private readonly session: Session,
    private readonly sub: StoredSubscription,
  ) {
    this.iter = broker.router.retained.match(sub.filter);
    this.subIds = sub.subscriptionId !== undefined ? [sub.subscriptionId] : undefined;
  }

  start(): void {
    this.step();
  }

  pressureApplied(): void {
    this.waiting = true;
  }

  pressureRelieved(): void {
    if (!this.waiting) return;
    this.waiting = false;
    setImmediate(() => this.step());
  }

  private step(): void {
    const session = this.session;
    const now = this.broker.clock.now();
    for (let n = 0; n < BATCH; n++) {
      if (session.ended || session.subscriptions.get(this.sub.filter) !== this.sub) return;
      const sink = session.sink;
      if (sink !== null) {
        if (sink.pressure() !== 'ok' || session.queuedCount >= session.pressureHigh()) {
          session.addWaiter(this);
          return;
        }
      } else if (session.queueFull) {
        // Offline and full: the rest would only displace queued messages.
        return;
      }
      const next = this.iter.next();
      if (next.done) return;
      const msg = next.value[1];
      if (msg.expiresAt !== 0 && msg.expiresAt <= now) continue; // MQTT-3.3.2-5
      const qos = (msg.qos < this.sub.qos ? msg.qos : this.sub.qos) as QoS;
      // MQTT-3.3.1-8: retained messages sent for a new subscription carry RETAIN=1.
      session.offer(msg, qos, true, this.subIds, undefined, undefined);
    }
    setImmediate(() => this.step());
  }
}
