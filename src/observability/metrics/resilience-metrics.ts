/**
 * Breaker states, limiter refusals and load shedding. Protective components (the
 * src/resilience toolkit, or anything of the same shape) register here under a fixed name
 * (bounded labels) and the metrics read them at scrape time:
 * - `holdfast_breaker_state{breaker,state}` (one-hot) for single breakers;
 * - `holdfast_breakers_open{group}` for keyed breakers (BreakerRegistry: keys are never labels);
 * - `holdfast_limiter_refusals_total{limiter}` (TokenBucket / KeyedRateLimiter `counters.refused`...);
 * - `holdfast_load_shed_level{shedder}`, and `shedding()` for /readyz.
 * Structural types only: observability does not import the toolkit.
 */
import type { Registry } from 'prom-client';
import { scrapeCounter, scrapeGauge, type LabelSet } from './scrape-metrics.js';

export type BreakerState = 'closed' | 'open' | 'half-open';
const STATES: readonly BreakerState[] = ['closed', 'open', 'half-open'];

/** What a load shedder offers (resilience/load-shedder.ts LoadShedder has this shape). */
export interface ShedderView {
  readonly shedding: boolean;
  readonly level: number;
  readonly counters: { readonly shed: readonly number[] };
}

/** Keyed breakers (resilience/breaker-registry.ts BreakerRegistry): their state changes. */
export interface BreakerGroupView {
  onStateChange(listener: (key: string, t: { to: BreakerState }) => void): () => void;
}

export class ResilienceRegistry {
  private readonly breakers = new Map<string, () => BreakerState>();
  private readonly limiters = new Map<string, () => number>();
  private readonly shedders = new Map<string, ShedderView>();
  private readonly groups = new Map<string, Set<string>>();

  addBreaker(name: string, state: () => BreakerState): void {
    this.breakers.set(name, state);
  }

  addLimiter(name: string, refusals: () => number): void {
    this.limiters.set(name, refusals);
  }

  /** A load shedder: its level is exported, its refusals count as limiter `shed:<name>`, and /readyz fails while it sheds. */
  addShedder(name: string, shedder: ShedderView): void {
    this.shedders.set(name, shedder);
    this.addLimiter(`shed:${name}`, () => shedder.counters.shed.reduce((a, b) => a + b, 0));
  }

  /** Keyed breakers: the number of keys whose breaker is not closed (bounded by the registry's own key limit). */
  addBreakerGroup(name: string, group: BreakerGroupView): () => void {
    const notClosed = new Set<string>();
    this.groups.set(name, notClosed);
    return group.onStateChange((key, t) => {
      if (t.to === 'closed') notClosed.delete(key);
      else notClosed.add(key);
    });
  }

  /** Whether any registered shedder is shedding load now. */
  shedding(): boolean {
    for (const s of this.shedders.values()) if (s.shedding) return true;
    return false;
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
    scrapeGauge(registry, {
      name: 'holdfast_breakers_open',
      help: 'Keyed breakers (one per backend key) that are open or half-open, by group.',
      labelNames: ['group'],
      read: () => [...this.groups].map(([g, keys]) => [{ group: g }, keys.size] as [LabelSet, number]),
    });
    scrapeGauge(registry, {
      name: 'holdfast_load_shed_level',
      help: 'Load shedding level (0 = admitting everything).',
      labelNames: ['shedder'],
      read: () => [...this.shedders].map(([n, s]) => [{ shedder: n }, s.level] as [LabelSet, number]),
    });
    scrapeCounter(registry, {
      name: 'holdfast_limiter_refusals_total',
      help: 'Work refused by a limit (connections while stopping, receive maximum, retained limit, slow consumers...).',
      labelNames: ['limiter'],
      read: () => [...this.limiters].map(([n, f]) => [{ limiter: n }, f()] as [LabelSet, number]),
    });
  }
}
