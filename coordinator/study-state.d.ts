import type { RoundResult } from './round-engine.js';
import type { StrategyState } from '../shared/strategies/types.js';
export interface StudyState {
    readonly version: 1;
    readonly study_digest: string;
    readonly rounds: RoundResult[];
    readonly strategy_state: Record<string, StrategyState>;
}
export declare class StudyStateError extends Error {
    name: string;
}
export declare function saveStudyState(path: string, state: StudyState): Promise<void>;
/** Loads the state; null when there is none. Throws StudyStateError when it is corrupt. */
export declare function loadStudyState(path: string): Promise<StudyState | null>;
