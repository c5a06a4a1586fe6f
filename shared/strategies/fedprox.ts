// FedProx (Li et al. 2020): sites add (mu / 2) * ||w - w_global||^2 to their local loss; the
// server aggregates as FedAvg. proximal_mu travels to the sites with every training task.
import { fedAvg } from './fedavg.js';
import { defineStrategy } from './base.js';
import type { Strategy } from './types.js';

export function fedProx(proximalMu: number): Strategy {
  if (!(Number.isFinite(proximalMu) && proximalMu >= 0)) throw new RangeError(`proximal_mu ${proximalMu}: expected a finite number >= 0`);
  const avg = fedAvg();
  return defineStrategy({
    name: 'fedprox',
    configureFit: () => ({ params: { proximal_mu: proximalMu } }),
    aggregateFit: (global, updates, state, round) => avg.aggregateFit(global, updates, state, round),
  });
}
