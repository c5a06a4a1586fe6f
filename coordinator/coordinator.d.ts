import type { Logger } from 'pino';
import type * as grpc from '@grpc/grpc-js';
import type { CoordinatorFile } from '../shared/config/study.js';
import type { TensorSet } from '../shared/tensor/tensor-set.js';
import { ModelStore } from './model-store.js';
import { SiteRegistry } from './site-registry.js';
import { EventBus } from './events.js';
import { RoundEngine, type RoundResult, type StudyRecorder } from './round-engine.js';
import { type StudyReport } from './report.js';
import { EvaluationCollector } from './evaluation.js';
export interface StudyOutcome {
    readonly state: 'completed' | 'failed';
    readonly reason?: string;
    readonly rounds: RoundResult[];
    readonly report: StudyReport;
}
export interface CoordinatorHandle {
    readonly port: number;
    readonly events: EventBus;
    readonly engine: RoundEngine;
    readonly store: ModelStore;
    readonly sites: SiteRegistry;
    readonly evaluation: EvaluationCollector;
    readonly modelConfigJson: string;
    readonly file: CoordinatorFile;
    readonly recorder: StudyRecorder;
    /** Starts the study (when not auto-started); idempotent. */
    start(): void;
    /** Resolves when the study has ended (report written). */
    readonly done: Promise<StudyOutcome>;
    close(): Promise<void>;
}
export interface StartOptions {
    readonly log: Logger;
    /** Builds the initial global model of each study model (deterministic from the config). */
    readonly initialModels: (file: CoordinatorFile) => Promise<Map<string, TensorSet>>;
    readonly autoStart?: boolean;
    readonly recorder?: StudyRecorder;
    /** Work after training, merged into the report; default: the study's held-out evaluation when configured. */
    readonly afterTraining?: (ctx: {
        handle: CoordinatorHandle;
        rounds: RoundResult[];
    }) => Promise<Record<string, unknown>>;
    readonly events?: EventBus;
    readonly denyFingerprints?: readonly string[];
    readonly serverOptions?: grpc.ChannelOptions;
}
export declare function startCoordinator(file: CoordinatorFile, opts: StartOptions): Promise<CoordinatorHandle>;
