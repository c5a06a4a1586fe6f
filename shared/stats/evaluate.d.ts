import { type Calibration } from './calibration.js';
import { type Confusion } from './confusion.js';
import { type DecisionPoint } from './decision-curve.js';
import type { ProportionEstimate } from './estimate.js';
import type { ProportionCiMethod } from './proportions.js';
/** One row of a predictions table, as read from CSV: column name -> text. */
export type PredictionRow = Readonly<Record<string, string>>;
export interface EvaluateOptions {
    readonly label: string;
    readonly scores: readonly string[];
    /** Positive when score >= threshold; one for all models or one per model. Default 0.5. */
    readonly threshold?: number | Readonly<Record<string, number>>;
    readonly proportionCi?: ProportionCiMethod;
    readonly cohortCol?: string;
    readonly subgroupCol?: string;
    /** Paired bootstrap of NPV and specificity differences; replicates 0 turns it off. */
    readonly bootstrap?: {
        readonly replicates?: number;
        readonly seed?: number;
    };
    /** How to name row i in error messages (default "data row i+1"), e.g. the CSV line number. */
    readonly rowName?: (index: number) => string;
}
export declare class EvaluationInputError extends Error {
    readonly row?: number | undefined;
    readonly column?: string | undefined;
    name: string;
    constructor(message: string, row?: number | undefined, column?: string | undefined);
}
export interface AucEstimate {
    readonly estimate: number | null;
    readonly ci: readonly [number, number] | null;
    readonly se: number | null;
    readonly method: 'delong';
    readonly reason?: string;
}
/** [fpr, tpr]. */
export type RocVertex = readonly [number, number];
/** Vertices of the ROC curve kept in the report (enough to draw it from the JSON alone). */
export declare const ROC_REPORT_POINTS = 200;
export interface ModelReport {
    /** Cases with a score from this model (rows with an empty score cell are left out). */
    readonly n: number;
    readonly positives: number;
    readonly auc: AucEstimate;
    readonly threshold: number;
    readonly confusion: Confusion;
    readonly sensitivity: ProportionEstimate;
    readonly specificity: ProportionEstimate;
    readonly ppv: ProportionEstimate;
    readonly npv: ProportionEstimate;
    readonly accuracy: ProportionEstimate;
    /** Fraction of patients with score < threshold (e.g. spared a biopsy). */
    readonly fraction_below_threshold: number | null;
    readonly calibration: Calibration;
    readonly decision_curve: DecisionPoint[];
    /** ROC vertices [fpr, tpr] for plotting (at most ROC_REPORT_POINTS), from (0, 0) to (1, 1); empty when undefined. */
    readonly roc: RocVertex[];
}
export interface DifferenceTest {
    readonly estimate: number | null;
    readonly ci: readonly [number, number] | null;
    /** Two-sided: min(1, 2 * min(1 + #{d* <= 0}, 1 + #{d* >= 0}) / (1 + B)). */
    readonly p: number | null;
    /** Replicates in which both figures were defined. */
    readonly valid: number;
    readonly reason?: string;
}
export interface Comparison {
    readonly a: string;
    readonly b: string;
    /** Cases both models scored. */
    readonly n: number;
    /** AUC(a) - AUC(b). */
    readonly auc_difference: number | null;
    readonly auc_difference_ci: readonly [number, number] | null;
    readonly delong: {
        readonly z: number | null;
        readonly p: number | null;
        readonly reason?: string;
    };
    /**
     * NPV(a) - NPV(b) and specificity(a) - specificity(b) at the models' thresholds, paired
     * stratified bootstrap; absent when the bootstrap is turned off (0 replicates).
     */
    readonly bootstrap?: {
        readonly method: 'paired stratified bootstrap';
        readonly replicates: number;
        readonly seed: number;
        readonly npv_difference: DifferenceTest;
        readonly specificity_difference: DifferenceTest;
    };
}
export interface GroupReport {
    readonly n: number;
    readonly positives: number;
    readonly negatives: number;
    readonly prevalence: number | null;
    readonly models: Record<string, ModelReport>;
    readonly comparisons: Comparison[];
}
export interface CohortReport extends GroupReport {
    readonly subgroups: Record<string, GroupReport>;
}
export interface EvaluationReport {
    readonly cohorts: Record<string, CohortReport>;
    readonly settings: {
        readonly label: string;
        readonly scores: string[];
        readonly thresholds: Record<string, number>;
        readonly proportion_ci: ProportionCiMethod;
        readonly cohort_col: string | null;
        readonly subgroup_col: string | null;
        readonly bootstrap: {
            readonly replicates: number;
            readonly seed: number;
        };
        readonly positive_when: 'score >= threshold';
    };
}
/** Evaluates every score column against the label, per cohort and subgroup (see the module comment). */
export declare function evaluatePredictions(rows: readonly PredictionRow[], o: EvaluateOptions): EvaluationReport;
