export interface RocPoint {
    /** Cases are called positive when score >= threshold (Infinity: nobody is positive). */
    readonly threshold: number;
    readonly fpr: number;
    readonly tpr: number;
}
/** Validates that labels are 0/1 and scores finite, with equal lengths. */
export declare function checkInputs(labels: ArrayLike<number>, scores: ArrayLike<number>): void;
/**
 * The ROC curve from (0, 0) to (1, 1): one point per distinct score, thresholds descending.
 * Returns null when either class is empty (the curve is undefined).
 */
export declare function rocCurve(labels: ArrayLike<number>, scores: ArrayLike<number>): RocPoint[] | null;
/** AUC = P(score_case > score_control) + 1/2 P(equal); null when a class is empty. */
export declare function aucMannWhitney(labels: ArrayLike<number>, scores: ArrayLike<number>): number | null;
/**
 * Thins a ROC curve for plotting to at most maxPoints vertices, always keeping the first and
 * last points; the maximum vertical/horizontal error is about 1/maxPoints.
 */
export declare function thinRoc(points: readonly RocPoint[], maxPoints?: number): RocPoint[];
