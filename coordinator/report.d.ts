import type { CoordinatorFile } from '../shared/config/study.js';
import type { RoundResult } from './round-engine.js';
import type { ModelStore } from './model-store.js';
import type { SiteInfo } from './site-registry.js';
export interface StudyReport {
    readonly study: {
        id: string;
        title: string | null;
        config_digest: string;
    };
    readonly state: 'completed' | 'failed';
    readonly reason: string | null;
    readonly started_at: string;
    readonly ended_at: string;
    readonly duration_s: number;
    readonly strategy: string;
    readonly sites: {
        site: string;
        backend: string;
        cohorts: Record<string, number>;
    }[];
    readonly rounds: (Omit<RoundResult, 'started' | 'ended'> & {
        duration_s: number;
    })[];
    readonly final_models: Record<string, {
        version: number;
        digest: string;
        checkpoint: string;
    }>;
    readonly [key: string]: unknown;
}
/** SHA-256 of the canonical (key-sorted) JSON of a value. */
export declare function canonicalDigest(value: unknown): string;
export declare function buildReport(a: {
    file: CoordinatorFile;
    outcome: {
        state: 'completed' | 'failed';
        reason?: string;
        rounds: RoundResult[];
    };
    store: ModelStore;
    sites: SiteInfo[];
    startedAt: number;
    endedAt: number;
    extra: Record<string, unknown>;
}): StudyReport;
