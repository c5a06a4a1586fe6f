import type { Strategy, StrategyState } from './types.js';
export interface ServerOptimizerParams {
    /** Server learning rate η. */
    readonly eta: number;
    readonly beta1: number;
    readonly beta2: number;
    /** Adaptivity τ (numerical floor of the denominator). */
    readonly tau: number;
}
export type ServerOptimizerKind = 'adam' | 'yogi';
export interface ServerOptimizerState extends StrategyState {
    /** Rounds applied so far. */
    readonly step: number;
    readonly m: Float32Array;
    readonly v: Float32Array;
}
/**
 * Reads and checks the optimiser state for a model of `length` values. Fresh state (no moments
 * yet) has m and v null: m_{-1} = 0 and v_{-1} = τ² are used without allocating them.
 */
export declare function optimizerState(name: string, state: StrategyState, length: number): {
    step: number;
    m: Float32Array | null;
    v: Float32Array | null;
};
export declare function serverOptimizer(name: string, kind: ServerOptimizerKind, params: ServerOptimizerParams, blockElems?: number): Strategy;
