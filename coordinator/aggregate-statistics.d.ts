import { type ModelSummary } from '../shared/evaluation/aggregate.js';
/**
 * `parts[reportCohort][model]` = the sites' summaries to pool. Returns `{ cohorts, unavailable }`.
 */
export declare function aggregateStatistics(parts: Record<string, Record<string, ModelSummary[]>>, models: readonly string[], thresholds: Record<string, number>): {
    cohorts: Record<string, unknown>;
    unavailable: {
        privacy: string;
        figures: string[];
        reason: string;
    };
};
