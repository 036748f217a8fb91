/**
 * slo.objectives, slo.alerts, slo.evaluateIntervalS, slo.persistIntervalS and
 * slo.alertTopicPrefix change live while the SLO engine runs (BrokerObservability
 * .reconfigureSlo): SLOs that keep their name keep their windows. Turning the engine on
 * or off (slo.enabled, objectives from or to none) and slo.webhook need a restart.
 */
import type { BrokerObservability } from '../observability.js';
import type { Commit, SectionApplier } from './applier.js';
import { isUnder } from './diff.js';

const LIVE = ['slo.objectives', 'slo.alerts', 'slo.evaluateIntervalS', 'slo.persistIntervalS', 'slo.alertTopicPrefix'];

export function sloApplier(observability: Pick<BrokerObservability, 'slo' | 'reconfigureSlo'>): SectionApplier {
  return {
    name: 'slo',
    owns: (path) => observability.slo !== undefined && LIVE.some((p) => isUnder(path, p)),
    prepare({ next }): Commit {
      const slo = next.runtime.slo;
      if (!slo.enabled || slo.objectives.length === 0) throw new Error('slo.objectives: the SLO engine cannot be turned off without a restart (set slo.enabled: false and restart)');
      return () => {
        observability.reconfigureSlo(slo);
      };
    },
  };
}
