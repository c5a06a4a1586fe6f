import { type ProportionCiMethod } from './proportions.js';
import type { ProportionEstimate } from './estimate.js';
export interface Confusion {
    readonly tp: number;
    readonly fp: number;
    readonly tn: number;
    readonly fn: number;
}
export declare function confusionAt(labels: ArrayLike<number>, scores: ArrayLike<number>, threshold: number): Confusion;
export interface DiagnosticMetrics {
    readonly sensitivity: ProportionEstimate;
    readonly specificity: ProportionEstimate;
    readonly ppv: ProportionEstimate;
    readonly npv: ProportionEstimate;
    readonly accuracy: ProportionEstimate;
}
export declare function diagnosticMetrics(c: Confusion, method?: ProportionCiMethod): DiagnosticMetrics;
