export interface ChosenThreshold {
    readonly threshold: number;
    readonly rule: string;
    /** Fraction of validation patients below the threshold (spared a biopsy), null when undefined. */
    readonly fractionBelow: number | null;
}
export declare function chooseThreshold(labels: readonly number[], scores: readonly number[], rule: 'youden' | 'target_sensitivity' | 'target_npv' | 'fixed', value: number): ChosenThreshold;
