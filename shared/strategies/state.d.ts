import type { TensorSet } from '../tensor/tensor-set.js';
import type { StrategyState } from './types.js';
export interface EncodedStrategyState {
    /** Every non-array entry, plus `$tensors`: the keys stored in `tensors`, in order. */
    readonly json: Record<string, unknown>;
    readonly tensors: TensorSet;
}
export declare class StrategyStateError extends Error {
    name: string;
}
export declare function encodeStrategyState(state: StrategyState): EncodedStrategyState;
/** Inverse of encodeStrategyState; the arrays are views into `tensors.data`. */
export declare function decodeStrategyState(json: Record<string, unknown>, tensors: TensorSet): StrategyState;
/**
 * The state as one JSON-serialisable value: every top-level Float32Array becomes
 * {"$f32": base64 of its little-endian float32 bytes}. Same checks as encodeStrategyState.
 */
export declare function strategyStateToJson(state: StrategyState): Record<string, unknown>;
/** Inverse of strategyStateToJson (after JSON.parse); the arrays are fresh copies. */
export declare function strategyStateFromJson(json: unknown): StrategyState;
