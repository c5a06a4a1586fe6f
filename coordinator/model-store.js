// The global models of a study: the current version of each in memory, every version
// checkpointed on disk (DATA/checkpoints/<model>/round-<r>.flt, version r = after r rounds).
import { join } from 'node:path';
import { readdir } from 'node:fs/promises';
import { tensorSetDigest } from '../shared/tensor/tensor-set.js';
import { writeTensorSetFile, readTensorSetFile } from '../shared/tensor/file.js';
export class ModelStore {
    dir;
    current = new Map();
    constructor(dir) {
        this.dir = dir;
    }
    checkpointPath(model, version) {
        return join(this.dir, model, `round-${version}.flt`);
    }
    /** Sets (and durably checkpoints) a new version of a model. */
    async put(model, version, set, meta = {}) {
        const digest = await writeTensorSetFile(this.checkpointPath(model, version), set, { model, version, ...meta });
        const g = { model, version, set, digest };
        this.current.set(model, g);
        return g;
    }
    get(model) {
        const g = this.current.get(model);
        if (!g)
            throw new Error(`unknown model "${model}"`);
        return g;
    }
    has(model) {
        return this.current.has(model);
    }
    models() {
        return [...this.current.keys()];
    }
    spec(model) {
        return this.get(model).set.infos;
    }
    /** A specific version: the in-memory one when current, else read from its checkpoint. */
    async version(model, version) {
        const g = this.current.get(model);
        if (g && g.version === version)
            return g;
        const { set, digest } = await readTensorSetFile(this.checkpointPath(model, version));
        return { model, version, set, digest };
    }
    /** Versions available on disk for a model, ascending. */
    async versions(model) {
        try {
            const names = await readdir(join(this.dir, model));
            return names
                .map((n) => /^round-(\d+)\.flt$/.exec(n)?.[1])
                .filter((v) => v !== undefined)
                .map(Number)
                .sort((a, b) => a - b);
        }
        catch {
            return [];
        }
    }
    /** Loads the newest readable checkpoint, falling back to older ones when the newest is corrupt. */
    async loadLatest(model, warn) {
        const versions = await this.versions(model);
        for (let i = versions.length - 1; i >= 0; i--) {
            const v = versions[i];
            try {
                const { set, digest } = await readTensorSetFile(this.checkpointPath(model, v));
                const g = { model, version: v, set, digest };
                this.current.set(model, g);
                return g;
            }
            catch (err) {
                warn(`checkpoint ${this.checkpointPath(model, v)} is unreadable (${err.message}); falling back to the previous one`);
            }
        }
        return null;
    }
}
export function digestOf(set) {
    return tensorSetDigest(set);
}
//# sourceMappingURL=model-store.js.map