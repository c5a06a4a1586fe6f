import { type BootstrapOptions, type PairedBootstrap } from './bootstrap.js';
export interface DiagnosticReplicates {
    /** Per model: NPV and specificity on the full sample (null when undefined) and per replicate (NaN when undefined). */
    readonly npv: {
        readonly full: number | null;
        readonly reps: Float64Array;
    }[];
    readonly specificity: {
        readonly full: number | null;
        readonly reps: Float64Array;
    }[];
}
/**
 * labels[i] in {0, 1}; called[k][i] = 1 when model k calls case i positive (score >= its threshold).
 */
export declare function diagnosticReplicates(labels: ArrayLike<number>, called: readonly ArrayLike<number>[], o?: BootstrapOptions): DiagnosticReplicates;
/** The paired NPV and specificity differences of models a and b (indices into `called`). */
export declare function pairedDiagnosticDifferences(rep: DiagnosticReplicates, a: number, b: number, o?: BootstrapOptions): {
    npv: PairedBootstrap;
    specificity: PairedBootstrap;
};
