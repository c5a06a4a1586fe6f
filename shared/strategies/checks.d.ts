import type { UpdateReader } from '../aggregate/reader.js';
import { l2Norm } from '../aggregate/norms.js';
export declare class AggregationError extends Error {
    name: string;
}
export declare function requireUpdates(strategy: string, global: Float32Array, updates: readonly UpdateReader[]): void;
/** Throws when the new global model is not finite (never expected from finite, validated updates). */
export declare function requireFinite(strategy: string, next: Float32Array): void;
/** L2 norm of next - global, reported as the step size of the round. */
export declare function stepNorm(global: Float32Array, next: Float32Array): number;
export { l2Norm };
