// FedAvg (McMahan et al. 2017): the global model moves by the example-weighted mean delta,
//   g' = float32(g + (sum_k n_k * d_k) * (1 / sum_k n_k)),
// streamed and summed in float64 in the given order (shared/aggregate/weighted-sum.ts); the audit
// replay (shared/audit/replay.ts) recomputes exactly this.
import { applyWeightedSum, exampleWeights } from '../aggregate/weighted-sum.js';
import { requireFinite, requireUpdates, stepNorm } from './checks.js';
import { defineStrategy } from './base.js';
import type { Strategy } from './types.js';

export function fedAvg(): Strategy {
  return defineStrategy({
    name: 'fedavg',
    async aggregateFit(global, updates, state) {
      requireUpdates('fedavg', global, updates);
      const { ws, total } = exampleWeights(updates);
      const next = await applyWeightedSum(global, updates, ws, 1 / total);
      requireFinite('fedavg', next);
      return { global: next, state, metrics: { total_examples: total, updates: updates.length, step_norm: stepNorm(global, next) } };
    },
  });
}
