/**
 * Acknowledgements of inbound publishes (and PUBREL / PUBCOMP) that wait for the store:
 * they leave in the order the packets arrived (MQTT-4.6.0-2/3), each once its commit is
 * durable. An ack whose commit was given up (the store closed) is reported as failed.
 */
import type { AckPacket } from '../../codec/mqtt/packets.js';

interface QueuedAck {
  packet: AckPacket;
  ready: boolean;
  failed: boolean;
  since: number;
}

export class AckQueue {
  private readonly q: QueuedAck[] = [];
  /** QoS 1 PUBACKs not yet sent, for Receive Maximum accounting. */
  pendingQos1 = 0;

  constructor(private readonly release: (packet: AckPacket, failed: boolean) => void) {}

  get size(): number {
    return this.q.length;
  }

  /** When the oldest still-waiting ack was queued (undefined if none waits). */
  oldestWaitingSince(): number | undefined {
    const head = this.q[0];
    return head !== undefined && !head.ready ? head.since : undefined;
  }

  push(packet: AckPacket, commit: Promise<void> | undefined, now: number): void {
    const entry: QueuedAck = { packet, ready: commit === undefined, failed: false, since: now };
    this.q.push(entry);
    if (packet.type === 4) this.pendingQos1++;
    if (commit === undefined) {
      this.flush();
      return;
    }
    commit.then(
      () => {
        entry.ready = true;
        this.flush();
      },
      () => {
        entry.ready = true;
        entry.failed = true;
        this.flush();
      },
    );
  }

  private flush(): void {
    const q = this.q;
    while (q.length > 0 && q[0].ready) {
      const e = q.shift()!;
      if (e.packet.type === 4) this.pendingQos1--;
      this.release(e.packet, e.failed);
    }
  }
}
