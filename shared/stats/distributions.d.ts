/** Standard normal density. */
export declare function dnorm(x: number): number;
/** Standard normal CDF, relative accuracy ~1e-15 in both tails. */
export declare function pnorm(x: number): number;
/** Two-sided P-value of a standard normal statistic. */
export declare function twoSidedP(z: number): number;
/** Standard normal quantile: a rational start refined by Newton steps on pnorm. */
export declare function qnorm(p: number): number;
/** log Gamma(x) for x > 0 (Lanczos, g = 7). */
export declare function lgamma(x: number): number;
/** Regularized incomplete beta I_x(a, b). */
export declare function pbeta(x: number, a: number, b: number): number;
/** Quantile of the beta distribution by bisection on pbeta (monotone, to full precision). */
export declare function qbeta(p: number, a: number, b: number): number;
