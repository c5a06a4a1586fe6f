// FedAdam (Reddi et al. 2021): Adam on the server over the weighted mean delta; see server-optimizer.ts.
import { serverOptimizer, type ServerOptimizerParams } from './server-optimizer.js';
import { defineStrategy } from './base.js';
import type { Strategy } from './types.js';

export function fedAdam(params: ServerOptimizerParams): Strategy {
  return serverOptimizer('fedadam', 'adam', params);
}
