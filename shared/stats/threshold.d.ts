export type ThresholdRule = {
    readonly rule: 'youden';
} | {
    readonly rule: 'target_sensitivity' | 'target_npv';
    readonly target: number;
};
export interface ThresholdChoice {
    readonly threshold: number | null;
    readonly reason?: string;
    /** Fraction of patients with score < threshold (spared a biopsy), null when undefined. */
    readonly fractionBelow: number | null;
    readonly sensitivity: number | null;
    readonly specificity: number | null;
    readonly npv: number | null;
}
export declare function selectThreshold(labels: ArrayLike<number>, scores: ArrayLike<number>, rule: ThresholdRule): ThresholdChoice;
