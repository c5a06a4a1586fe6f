import type { Logger } from 'pino';
import type { CoordinatorHandle } from './coordinator.js';
import type { RoundResult } from './round-engine.js';
export interface FrozenChoice {
    readonly model: string;
    readonly version: number;
    readonly digest: string;
    readonly threshold: number;
    readonly thresholdRule: string;
    readonly selection: string;
    readonly validation: {
        n: number;
        positives: number;
        fraction_below_threshold: number | null;
    };
}
/** The version each model is frozen at, by the configured rule (`final` or best validation AUC). */
export declare function chooseVersions(rounds: readonly RoundResult[], models: readonly string[], rule: 'final' | 'best_validation_auc'): Map<string, number>;
export declare function runStudyEvaluation(h: CoordinatorHandle, rounds: RoundResult[], log: Logger): Promise<Record<string, unknown>>;
