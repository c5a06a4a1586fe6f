export declare const P_CLIP = 0.000001;
export declare function clippedLogit(p: number): number;
export interface CalibrationBin {
    readonly lower: number;
    readonly upper: number;
    readonly n: number;
    readonly mean_predicted: number;
    readonly observed: number;
    readonly ci: readonly [number, number];
}
export interface Calibration {
    readonly intercept: number | null;
    readonly slope: number | null;
    readonly brier: number | null;
    /** Why intercept, slope or Brier is null (joined when several are). */
    readonly reason?: string;
    readonly curve: CalibrationBin[];
}
/** Binned calibration curve: equal-width bins of predicted risk over [0, 1], empty bins omitted. */
export declare function calibrationCurve(labels: ArrayLike<number>, probs: ArrayLike<number>, bins?: number): CalibrationBin[];
export declare function calibration(labels: ArrayLike<number>, probs: ArrayLike<number>, bins?: number): Calibration;
