import type { ProportionEstimate } from './estimate.js';
export type ProportionCiMethod = 'wilson' | 'exact';
/** Wilson score interval as in R's prop.test(correct = FALSE). */
export declare function wilsonCi(x: number, n: number, conf?: number): [number, number];
/** Clopper-Pearson interval as in R's binom.test. */
export declare function exactCi(x: number, n: number, conf?: number): [number, number];
/** x successes out of n, with a 95% CI; a zero denominator gives null with a reason. */
export declare function proportion(x: number, n: number, method?: ProportionCiMethod, what?: string): ProportionEstimate;
