import { Xoshiro128 } from '../util/xoshiro128.js';
export declare class StatsRng extends Xoshiro128 {
    constructor(seed: number);
    /** Uniform integer in [0, n), 1 <= n <= 2^31, without modulo bias (rejection of the incomplete top block). */
    below(n: number): number;
    /** A drawer of uniform integers in [0, n) with the rejection limit computed once (31-bit integer arithmetic). */
    sampler(n: number): () => number;
}
