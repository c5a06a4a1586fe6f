export interface DecisionPoint {
    readonly threshold: number;
    readonly net_benefit: number;
    readonly treat_all: number;
}
/** The standard grid 0.01 .. 0.99 in steps of 0.01. */
export declare function decisionThresholds(): number[];
export declare function decisionCurve(labels: ArrayLike<number>, scores: ArrayLike<number>, thresholds?: readonly number[]): DecisionPoint[];
