import { expect } from 'vitest';

/** Checks that the grants, (time, tokens), never exceed capacity + rate x w over any window of w ms. */
export function expectWithinRate(grants: Array<[number, number]>, capacity: number, perSec: number): void {
  for (let i = 0; i < grants.length; i++) {
    let sum = 0;
    for (let j = i; j < grants.length; j++) {
      sum += grants[j][1];
      const w = grants[j][0] - grants[i][0];
      expect(sum).toBeLessThanOrEqual(capacity + (perSec * w) / 1000 + 1e-6);
    }
  }
}
