import { isAllFinite } from '../aggregate/finite.js';
import { l2Norm } from '../aggregate/norms.js';
export class AggregationError extends Error {
    name = 'AggregationError';
}
export function requireUpdates(strategy, global, updates) {
    if (updates.length === 0)
        throw new AggregationError(`${strategy}: no updates to aggregate`);
    for (const u of updates) {
        if (u.length !== global.length) {
            throw new AggregationError(`${strategy}: update ${u.id} from site "${u.site}" has ${u.length} values, the model has ${global.length}`);
        }
    }
}
/** Throws when the new global model is not finite (never expected from finite, validated updates). */
export function requireFinite(strategy, next) {
    if (!isAllFinite(next))
        throw new AggregationError(`${strategy}: the aggregate is not finite (overflow?); global model left unchanged`);
}
/** L2 norm of next - global, reported as the step size of the round. */
export function stepNorm(global, next) {
    let s = 0;
    for (let i = 0; i < global.length; i++) {
        const d = next[i] - global[i];
        s += d * d;
    }
    return Math.sqrt(s);
}
export { l2Norm };
//# sourceMappingURL=checks.js.map