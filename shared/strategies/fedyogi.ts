// FedYogi (Reddi et al. 2021): Yogi on the server over the weighted mean delta; see server-optimizer.ts.
import { serverOptimizer, type ServerOptimizerParams } from './server-optimizer.js';
import { defineStrategy } from './base.js';
import type { Strategy } from './types.js';

export function fedYogi(params: ServerOptimizerParams): Strategy {
  return serverOptimizer('fedyogi', 'yogi', params);
}
