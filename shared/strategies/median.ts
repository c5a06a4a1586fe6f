// Coordinate-wise median (Yin et al. 2018): every parameter moves by the median of the sites'
// deltas for it (the mean of the two middle ones for an even count), unweighted, so one hostile
// site among three or more cannot drag any coordinate past the honest values.
import { applyToSink, streamCoordinateMedian } from '../aggregate/order-statistics.js';
import { requireFinite, requireUpdates, stepNorm } from './checks.js';
import { defineStrategy } from './base.js';
import type { Strategy } from './types.js';

export function coordinateMedian(blockElems?: number): Strategy {
  return defineStrategy({
    name: 'median',
    needsIndividualUpdates: true,
    async aggregateFit(global, updates, state) {
      requireUpdates('median', global, updates);
      const next = new Float32Array(global.length);
      await streamCoordinateMedian(updates, global.length, applyToSink(global, next), blockElems);
      requireFinite('median', next);
      const total = updates.reduce((s, u) => s + u.numExamples, 0);
      return { global: next, state, metrics: { total_examples: total, updates: updates.length, step_norm: stepNorm(global, next) } };
    },
  });
}
