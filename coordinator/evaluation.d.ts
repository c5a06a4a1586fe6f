import type { Logger } from 'pino';
import type { FederatedLearningServer, FrozenModel } from '../shared/protocol/index.js';
import { type PredictionRecord } from '../shared/evaluation/predictions.js';
import { type AggregateEvaluation } from '../shared/evaluation/aggregate.js';
import type { Gatekeeper } from './gatekeeper.js';
import type { SiteRegistry } from './site-registry.js';
export interface SiteEvaluation {
    readonly site: string;
    readonly digest: string;
    readonly predictions: PredictionRecord[];
    /** privacy: aggregate — counts only (then `predictions` is empty). */
    readonly aggregate?: AggregateEvaluation;
}
export declare class EvaluationCollector {
    private readonly studyId;
    private readonly sites;
    private readonly gate;
    private readonly log;
    private readonly pending;
    constructor(studyId: string, sites: SiteRegistry, gate: Gatekeeper, log: Logger);
    /** Marks a task failed at a site (its TaskStatus said so). */
    siteFailed(taskId: string, site: string, message: string): void;
    private check;
    /**
     * Sends an evaluate task to `sites` and waits (up to `deadlineMs`) for every answer.
     * Returns the results and, per site, why it did not answer.
     */
    request(a: {
        sites: readonly string[];
        models: readonly FrozenModel[];
        cohorts: readonly string[];
        heldOut: boolean;
        modelConfigJson: string;
        round: number;
        deadlineMs: number;
        privacy?: 'predictions' | 'aggregate';
    }): Promise<{
        taskId: string;
        results: Map<string, SiteEvaluation>;
        failures: Map<string, string>;
    }>;
    /** gRPC handler for SubmitEvaluation (a client stream of prediction batches). */
    readonly submit: FederatedLearningServer['submitEvaluation'];
}
