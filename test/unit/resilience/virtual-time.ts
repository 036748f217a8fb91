/** A clock and a scheduler that tests move by hand: no real sleeps. */
import type { Clock } from '../../../src/ports/clock.js';
import type { Scheduler } from '../../../src/resilience/scheduler.js';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  live: boolean;
}

export class VirtualTime implements Clock, Scheduler {
  private timers: Timer[] = [];
  private seq = 0;

  constructor(private t = 1_700_000_000_000) {}

  now(): number {
    return this.t;
  }

  schedule(fn: () => void, ms: number): () => void {
    const timer: Timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, live: true };
    this.timers.push(timer);
    return () => {
      timer.live = false;
    };
  }

  /** Timers scheduled and neither fired nor cancelled. */
  get pending(): number {
    return this.timers.filter((x) => x.live).length;
  }

  /** Moves time forward by `ms`, firing due timers in order and letting promise callbacks run after each. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await flush(); // let work started just before schedule its timers
    for (;;) {
      const due = this.timers.filter((x) => x.live && x.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) break;
      this.t = Math.max(this.t, due.at);
      due.live = false;
      due.fn();
      await flush();
    }
    this.timers = this.timers.filter((x) => x.live);
    this.t = end;
    await flush();
  }
}

/** Lets every queued promise callback run. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
