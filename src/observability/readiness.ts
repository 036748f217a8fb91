/**
 * `/readyz`: whether this instance should get new work. Ready only when every condition
 * holds: listeners open, store writable, not shedding load, not draining (stopping).
 * `/livez` is separate and only says the process serves at all.
 */
export interface ReadinessConditions {
  /** name -> true when satisfied; evaluated in order, the first unmet one is the reason. */
  [name: string]: () => boolean;
}

export interface Readiness {
  ready: boolean;
  /** The first unmet condition, for the 503 body. */
  reason?: string;
  /** Every condition (for `/readyz?verbose`). */
  conditions?: Record<string, boolean>;
}

const REASONS: Record<string, string> = {
  brokerStarted: 'broker not ready',
  listenersOpen: 'listeners not open',
  storeWritable: 'store not writable',
  notShedding: 'shedding load',
  notDraining: 'draining (stopping)',
};

export function evaluateReadiness(conditions: ReadinessConditions): Readiness {
  const out: Record<string, boolean> = {};
  let reason: string | undefined;
  for (const [name, check] of Object.entries(conditions)) {
    let ok: boolean;
    try {
      ok = check();
    } catch {
      ok = false;
    }
    out[name] = ok;
    if (!ok && reason === undefined) reason = REASONS[name] ?? `${name} not satisfied`;
  }
  return reason === undefined ? { ready: true, conditions: out } : { ready: false, reason, conditions: out };
}
