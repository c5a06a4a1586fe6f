import type { Logger } from 'pino';
import type { UpdateHeader } from '../shared/protocol/index.js';
import type { StudyConfig } from '../shared/config/study.js';
import type { ModelStore } from './model-store.js';
import type { SiteRegistry } from './site-registry.js';
import type { EventBus, RoundState } from './events.js';
import type { Admission, ReceivedUpdate } from './update-receiver.js';
import type { Strategy, StrategyState } from '../shared/strategies/types.js';
export interface AcceptedUpdate {
    readonly round: number;
    readonly model: string;
    readonly site: string;
    readonly updateId: string;
    readonly numExamples: number;
    readonly digest: string;
    readonly path: string;
    readonly metrics: Record<string, number>;
    readonly arrival: number;
}
export interface RoundResult {
    readonly round: number;
    readonly state: RoundState;
    readonly reason?: string;
    readonly participants: string[];
    readonly dropped: Record<string, string>;
    /** Differential privacy spent after this round (when the study uses DP). */
    readonly privacy?: {
        epsilon: number;
        delta: number;
        noise_multiplier: number;
        clip: number;
        releases: number;
    };
    readonly started: number;
    readonly ended: number;
    /** Per model: sites aggregated (arrival order), examples, metrics, digests. */
    readonly models: Record<string, {
        sites: string[];
        num_examples: number;
        metrics: Record<string, number>;
        global_digest_before: string;
        global_digest: string;
        strategy_metrics: Record<string, number>;
        rejected: {
            site: string;
            reason: string;
        }[];
    }>;
}
/** Durable study log hooks (the tamper-evident audit log implements it). */
export interface StudyRecorder {
    /** Durably appends a record (fsync'ed before it resolves); returns its sequence number and leaf hash. */
    append(record: Record<string, unknown> & {
        type: string;
    }): Promise<{
        seq: number;
        hash: string;
    }>;
}
export interface RoundEngineDeps {
    readonly study: StudyConfig;
    readonly store: ModelStore;
    readonly strategies: Map<string, Strategy>;
    readonly sites: SiteRegistry;
    readonly events: EventBus;
    readonly dataDir: string;
    readonly log: Logger;
    readonly recorder?: StudyRecorder;
    /** JSON of { model: { architecture, config } } sent with every training task. */
    readonly modelConfigJson: string;
    /** Called (and awaited) after every completed round: durable study state. */
    readonly persist?: (results: readonly RoundResult[], strategyState: Record<string, StrategyState>) => Promise<void>;
}
export declare class StudyFailedError extends Error {
    name: string;
}
export declare class RoundEngine {
    private readonly deps;
    private run;
    private readonly strategyState;
    private accountant;
    readonly results: RoundResult[];
    private stopped;
    private wakeJoin;
    /** Sites that disconnected mid-round and may still come back before they are dropped. */
    private readonly graceTimers;
    constructor(deps: RoundEngineDeps);
    get currentRound(): number;
    /** Restores finished rounds and strategy state after a restart. */
    restore(results: readonly RoundResult[], strategyState: Record<string, StrategyState>): void;
    stop(): void;
    updatesDir(model: string, round: number): string;
    /** Runs rounds `fromRound`..`study.rounds`. Resolves with all round results; throws StudyFailedError. */
    runRounds(fromRound?: number): Promise<RoundResult[]>;
    private waitForQuorum;
    private runRound;
    private openReaders;
    private siteDone;
    private maybeSettle;
    /**
     * Checks an announced update against the open round. Returns the admission, or an
     * `already` marker when this exact update (same update_id) was accepted before: a
     * resubmission is acknowledged and counted once.
     */
    admit(site: string, header: UpdateHeader): Admission | {
        already: AcceptedUpdate;
    };
    /** Accepts a verified update into the open round (and the study log before acknowledging it). */
    accept(admission: Admission, update: ReceivedUpdate): Promise<AcceptedUpdate>;
    /** Records a refused update; the round and the global model are unaffected. */
    reject(site: string, header: {
        readonly round?: number;
        readonly model?: string;
    } | undefined, reason: string): Promise<void>;
    private findAccepted;
    /** The accepted update with this id, if any. */
    acceptedUpdate(updateId: string): AcceptedUpdate | undefined;
    /** Every accepted update id, so a resubmission after a lost receipt is counted once. */
    private readonly acceptedIds;
}
/** Example-weighted means of site metrics; `val_*` metrics are weighted by `val_n` when present. */
export declare function weightedMetrics(updates: readonly AcceptedUpdate[]): Record<string, number>;
