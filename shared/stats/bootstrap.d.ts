/** 2000 replicates, as pROC's boot.n default: ~1 ms per 1000 cases per statistic. */
export declare const DEFAULT_REPLICATES = 2000;
export declare const DEFAULT_SEED = 20240601;
export interface BootstrapOptions {
    readonly replicates?: number;
    readonly seed?: number;
    readonly conf?: number;
}
/** A statistic over the cases at the given indices (duplicates allowed); null when undefined. */
export type Statistic = (idx: Int32Array) => number | null;
/** Quantile type 7 (R's default) of sorted values. */
export declare function quantile7(sorted: Float64Array, p: number): number;
/** Calls visit(idx) for each of `replicates` stratified resamples (the same idx buffer, refilled). */
export declare function forEachResample(labels: ArrayLike<number>, o: BootstrapOptions, visit: (idx: Int32Array) => void): void;
export interface BootstrapCi {
    readonly estimate: number | null;
    readonly ci: readonly [number, number] | null;
    readonly method: 'stratified bootstrap percentile';
    readonly replicates: number;
    /** Replicates in which the statistic was defined. */
    readonly valid: number;
    readonly seed: number;
    readonly reason?: string;
}
/** Percentile bootstrap CI of any statistic. */
export declare function bootstrapCi(labels: ArrayLike<number>, statistic: Statistic, o?: BootstrapOptions): BootstrapCi;
export interface PairedBootstrap {
    /** a - b on the full sample. */
    readonly estimate: number | null;
    readonly ci: readonly [number, number] | null;
    /**
     * Two-sided P-value of a - b = 0: min(1, 2 * min(1 + #{d* <= 0}, 1 + #{d* >= 0}) / (1 + B)),
     * with d* the replicate differences; identical models give 1, and it is never 0.
     */
    readonly p: number | null;
    readonly method: 'paired stratified bootstrap';
    readonly replicates: number;
    readonly valid: number;
    readonly seed: number;
    readonly reason?: string;
}
/**
 * Summarises paired replicates: a0, b0 on the full sample; ra[r], rb[r] on replicate r (NaN where
 * the statistic is undefined; such replicates are left out).
 */
export declare function summarisePaired(a0: number | null, b0: number | null, ra: Float64Array, rb: Float64Array, o?: BootstrapOptions): PairedBootstrap;
/** Paired bootstrap of the difference of one statistic between two models on the same cases. */
export declare function pairedBootstrapDifference(labels: ArrayLike<number>, statA: Statistic, statB: Statistic, o?: BootstrapOptions): PairedBootstrap;
