// FedAdam (Reddi et al. 2021): Adam on the server over the weighted mean delta; see server-optimizer.ts.
import { serverOptimizer } from './server-optimizer.js';
export function fedAdam(params) {
    return serverOptimizer('fedadam', 'adam', params);
}
//# sourceMappingURL=fedadam.js.map