export interface Placements {
    readonly auc: number;
    /** V10: per case (label 1, in input order), fraction of controls below it, ties 1/2. */
    readonly cases: Float64Array;
    /** V01: per control (label 0, in input order), fraction of cases above it, ties 1/2. */
    readonly controls: Float64Array;
}
/**
 * DeLong placements; a string reason when a class is empty. With ordered = false the placements
 * come in score order rather than input order (enough for one AUC's variance, and faster); the
 * paired test needs input order so that the two scores' placements of a case line up.
 */
export declare function delongPlacements(labels: ArrayLike<number>, scores: ArrayLike<number>, ordered?: boolean): Placements | string;
/** DeLong covariance of two AUCs on the same cases (the variance when a === b), as pROC. */
export declare function delongCovariance(a: Placements, b: Placements): number;
export interface AucResult {
    readonly estimate: number | null;
    /** 95% CI: estimate ± z * se, clipped to [0, 1] as pROC does. */
    readonly ci: readonly [number, number] | null;
    readonly variance: number | null;
    readonly se: number | null;
    readonly method: 'delong';
    readonly reason?: string;
}
/** AUC with its DeLong variance and 95% CI, as pROC::ci.auc(roc(y, s, direction = "<"), method = "delong"). */
export declare function aucDelong(labels: ArrayLike<number>, scores: ArrayLike<number>, conf?: number): AucResult;
export declare function aucFromPlacements(p: Placements, conf?: number): AucResult;
export interface DelongTest {
    readonly auc_a: number | null;
    readonly auc_b: number | null;
    /** AUC(a) - AUC(b). */
    readonly auc_difference: number | null;
    /** 95% CI of the AUC difference (not clipped), as roc.test reports. */
    readonly ci: readonly [number, number] | null;
    readonly z: number | null;
    /** Two-sided. */
    readonly p: number | null;
    readonly reason?: string;
}
/** Paired two-sided DeLong test of AUC(a) = AUC(b) on the same cases (roc.test(method = "delong", paired = TRUE)). */
export declare function delongPaired(labels: ArrayLike<number>, scoresA: ArrayLike<number>, scoresB: ArrayLike<number>, conf?: number): DelongTest;
export declare function delongTestFromPlacements(a: Placements, b: Placements, conf?: number): DelongTest;
/** Textbook O(m n) AUC and DeLong variance: the benchmark baseline and a test oracle. */
export declare function aucDelongNaive(labels: ArrayLike<number>, scores: ArrayLike<number>): {
    auc: number;
    variance: number;
};
/** Alias kept for callers that use the shorter name. */
export declare const delongNaive: typeof aucDelongNaive;
