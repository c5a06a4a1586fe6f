// FedProx (Li et al. 2020): sites add (mu / 2) * ||w - w_global||^2 to their local loss; the
// server aggregates as FedAvg. proximal_mu travels to the sites with every training task.
import { fedAvg } from './fedavg.js';
import type { Strategy } from './types.js';

export function fedProx(proximalMu: number): Strategy {
  if (!(Number.isFinite(proximalMu) && proximalMu >= 0)) throw new RangeError(`proximal_mu ${proximalMu}: expected a finite number >= 0`);
  const avg = fedAvg();
  return {
    name: 'fedprox',
    validate() {},
    siteConfig: () => ({ proximal_mu: proximalMu }),
    aggregate: (global, updates, state) => avg.aggregate(global, updates, state),
  };
}
