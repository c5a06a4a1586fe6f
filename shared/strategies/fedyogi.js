// FedYogi (Reddi et al. 2021): Yogi on the server over the weighted mean delta; see server-optimizer.ts.
import { serverOptimizer } from './server-optimizer.js';
export function fedYogi(params) {
    return serverOptimizer('fedyogi', 'yogi', params);
}
//# sourceMappingURL=fedyogi.js.map