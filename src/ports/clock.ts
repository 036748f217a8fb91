/**
 * Time as a port, so that expiry, keepalive and SLO logic can be tested with an injected
 * clock. Milliseconds since the epoch, like Date.now().
 */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * Monotonic time on the same scale (epoch ms at process start, then performance.now()):
 * for rates and intervals, which a wall-clock step (NTP, a VM resumed) must not bend. A
 * backward step of the wall clock would otherwise empty every token bucket for as long as
 * the step, a forward one fill them.
 */
const origin = performance.timeOrigin;
export const monotonicClock: Clock = { now: () => origin + performance.now() };

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(private t = 1_700_000_000_000) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): number {
    this.t += ms;
    return this.t;
  }
  set(ms: number): void {
    this.t = ms;
  }
}
