export interface Estimate {
    readonly estimate: number | null;
    /** 95% confidence interval [lower, upper], or null when undefined. */
    readonly ci: readonly [number, number] | null;
    readonly method: string;
    /** Why the estimate (or its interval) is undefined. */
    readonly reason?: string;
}
/** Proportion estimate: also carries its numerator and denominator. */
export interface ProportionEstimate extends Estimate {
    readonly numerator: number;
    readonly denominator: number;
}
export declare function undefinedEstimate(method: string, reason: string): Estimate;
/** Returns x when it is a finite number, else null. */
export declare function finiteOrNull(x: number): number | null;
