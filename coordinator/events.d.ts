export type StudyEvent = {
    type: 'site_connected';
    site: string;
    backend: string;
} | {
    type: 'site_disconnected';
    site: string;
    reason: string;
} | {
    type: 'round_started';
    round: number;
    participants: string[];
    deadline: number;
} | {
    type: 'task_progress';
    round: number;
    site: string;
    state: string;
    progress: number;
    message: string;
} | {
    type: 'update_accepted';
    round: number;
    model: string;
    site: string;
    numExamples: number;
    digest: string;
    metrics: Record<string, number>;
} | {
    type: 'update_rejected';
    round: number;
    model: string;
    site: string;
    reason: string;
} | {
    type: 'site_dropped';
    round: number;
    site: string;
    reason: string;
} | {
    type: 'round_completed';
    round: number;
    state: RoundState;
    sites: string[];
    metrics: Record<string, Record<string, number>>;
    digests: Record<string, string>;
} | {
    type: 'round_failed';
    round: number;
    reason: string;
} | {
    type: 'study_completed';
    rounds: number;
} | {
    type: 'study_failed';
    reason: string;
} | {
    type: 'log';
    level: 'info' | 'warn';
    message: string;
};
export type RoundState = 'completed' | 'completed_without_some_sites' | 'failed';
export declare class EventBus {
    private readonly emitter;
    constructor();
    publish(event: StudyEvent): void;
    subscribe(listener: (event: StudyEvent & {
        time: number;
    }) => void): () => void;
}
