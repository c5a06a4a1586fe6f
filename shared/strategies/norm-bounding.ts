// Norm bounding (Sun et al. 2019): every delta is clipped to L2 norm <= max_norm, then FedAvg:
//   g' = float32(g + (sum_k n_k c_k d_k) * (1 / sum_k n_k)),  c_k = min(1, max_norm / ||d_k||).
// One streamed pass computes the norms, a second the clipped weighted sum (the clip is folded
// into each update's weight, so the sum runs at full speed).
import { updateNorms } from '../aggregate/norms.js';
import { clipFactors } from '../aggregate/norm-bound.js';
import { exampleWeights, streamWeightedSum, DEFAULT_BLOCK_ELEMS } from '../aggregate/weighted-sum.js';
import { ConfigError } from '../config/load.js';
import { requireFinite, requireUpdates, stepNorm } from './checks.js';
import { defineStrategy } from './base.js';
import type { Strategy } from './types.js';

export function normBounding(maxNorm: number, blockElems = DEFAULT_BLOCK_ELEMS): Strategy {
  if (!(Number.isFinite(maxNorm) && maxNorm > 0)) {
    throw new ConfigError(`strategy.max_norm: ${maxNorm} must be a finite number > 0`, [`strategy.max_norm: ${maxNorm} must be a finite number > 0`]);
  }
  return defineStrategy({
    name: 'norm_bounding',
    async aggregateFit(global, updates, state) {
      requireUpdates('norm_bounding', global, updates);
      const { ws, total } = exampleWeights(updates);
      const norms = await updateNorms(updates, global.length, blockElems);
      const clip = clipFactors(norms, maxNorm);
      const cw = ws.map((w, k) => w * clip[k]!);
      const scale = 1 / total;
      const next = new Float32Array(global.length);
      await streamWeightedSum(updates, cw, global.length, (start, len, acc) => {
        for (let i = 0; i < len; i++) next[start + i] = global[start + i]! + acc[i]! * scale;
      }, { blockElems });
      requireFinite('norm_bounding', next);
      return {
        global: next,
        state,
        metrics: {
          total_examples: total, updates: updates.length, clipped: clip.filter((c) => c < 1).length,
          max_update_norm: Math.max(...norms), step_norm: stepNorm(global, next),
        },
      };
    },
  });
}
