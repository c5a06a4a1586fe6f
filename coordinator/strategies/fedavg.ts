// FedAvg (McMahan et al. 2017): the global model moves by the example-weighted mean delta.
import { applyWeightedSum } from '../../shared/aggregate/weighted-sum.js';
import type { Strategy } from './types.js';

export function fedAvg(): Strategy {
  return {
    name: 'fedavg',
    validate() {},
    siteConfig: () => ({}),
    async aggregate(global, updates, state) {
      const ws = updates.map((u) => u.numExamples);
      const total = ws.reduce((a, b) => a + b, 0);
      if (!(total > 0)) throw new Error('fedavg: no examples in the accepted updates');
      const next = await applyWeightedSum(global, updates, ws, 1 / total);
      return { global: next, state, metrics: { total_examples: total, updates: updates.length } };
    },
  };
}
