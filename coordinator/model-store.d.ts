import { type TensorInfo, type TensorSet } from '../shared/tensor/tensor-set.js';
export interface GlobalModel {
    readonly model: string;
    readonly version: number;
    readonly set: TensorSet;
    readonly digest: string;
}
export declare class ModelStore {
    readonly dir: string;
    private readonly current;
    constructor(dir: string);
    checkpointPath(model: string, version: number): string;
    /** Sets (and durably checkpoints) a new version of a model. */
    put(model: string, version: number, set: TensorSet, meta?: Record<string, unknown>): Promise<GlobalModel>;
    get(model: string): GlobalModel;
    has(model: string): boolean;
    models(): string[];
    spec(model: string): readonly TensorInfo[];
    /** A specific version: the in-memory one when current, else read from its checkpoint. */
    version(model: string, version: number): Promise<GlobalModel>;
    /** Versions available on disk for a model, ascending. */
    versions(model: string): Promise<number[]>;
    /** Loads the newest readable checkpoint, falling back to older ones when the newest is corrupt. */
    loadLatest(model: string, warn: (msg: string) => void): Promise<GlobalModel | null>;
}
export declare function digestOf(set: TensorSet): string;
