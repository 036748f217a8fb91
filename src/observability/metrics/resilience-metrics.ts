/**
 * Breaker states and limiter refusals. Protective components register here (a circuit
 * breaker reports its state, a limiter its refusal count) and the metrics read them at
 * scrape time: `holdfast_breaker_state{breaker,state}` (one-hot) and
 * `holdfast_limiter_refusals_total{limiter}`. Names are fixed per component (bounded).
 */
import type { Registry } from 'prom-client';
import { scrapeCounter, scrapeGauge, type LabelSet } from './scrape-metrics.js';

export type BreakerState = 'closed' | 'open' | 'half-open';
const STATES: readonly BreakerState[] = ['closed', 'open', 'half-open'];

export class ResilienceRegistry {
  private readonly breakers = new Map<string, () => BreakerState>();
  private readonly limiters = new Map<string, () => number>();

  addBreaker(name: string, state: () => BreakerState): void {
    this.breakers.set(name, state);
  }

  addLimiter(name: string, refusals: () => number): void {
    this.limiters.set(name, refusals);
  }

  breakerStates(): Array<[string, BreakerState]> {
    return [...this.breakers].map(([n, f]) => [n, f()]);
  }

  register(registry: Registry): void {
    scrapeGauge(registry, {
      name: 'holdfast_breaker_state',
      help: 'Circuit breaker state (1 for the current state of each breaker).',
      labelNames: ['breaker', 'state'],
      read: () => {
        const out: Array<[LabelSet, number]> = [];
        for (const [name, f] of this.breakers) {
          const st = f();
          for (const s of STATES) out.push([{ breaker: name, state: s }, s === st ? 1 : 0]);
        }
        return out;
      },
    });
    scrapeCounter(registry, {
      name: 'holdfast_limiter_refusals_total',
      help: 'Work refused by a limit (connections while stopping, receive maximum, retained limit, slow consumers...).',
      labelNames: ['limiter'],
      read: () => [...this.limiters].map(([n, f]) => [{ limiter: n }, f()] as [LabelSet, number]),
    });
  }
}
