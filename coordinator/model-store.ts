// The global models of a study: the current version of each in memory, every version
// checkpointed on disk (DATA/checkpoints/<model>/round-<r>.flt, version r = after r rounds).
import { join } from 'node:path';
import { readdir } from 'node:fs/promises';
import { type TensorInfo, type TensorSet, tensorSetDigest } from '../shared/tensor/tensor-set.js';
import { writeTensorSetFile, readTensorSetFile } from '../shared/tensor/file.js';

export interface GlobalModel {
  readonly model: string;
  readonly version: number;
  readonly set: TensorSet;
  readonly digest: string;
}

export class ModelStore {
  private readonly current = new Map<string, GlobalModel>();
  constructor(readonly dir: string) {}

  checkpointPath(model: string, version: number): string {
    return join(this.dir, model, `round-${version}.flt`);
  }

  /** Sets (and durably checkpoints) a new version of a model. */
  async put(model: string, version: number, set: TensorSet, meta: Record<string, unknown> = {}): Promise<GlobalModel> {
    const digest = await writeTensorSetFile(this.checkpointPath(model, version), set, { model, version, ...meta });
    const g: GlobalModel = { model, version, set, digest };
    this.current.set(model, g);
    return g;
  }

  /** Makes an already checkpointed (and verified) version current without writing it again. */
  adopt(g: GlobalModel): void {
    this.current.set(g.model, g);
  }

  get(model: string): GlobalModel {
    const g = this.current.get(model);
    if (!g) throw new Error(`unknown model "${model}"`);
    return g;
  }

  has(model: string): boolean {
    return this.current.has(model);
  }

  models(): string[] {
    return [...this.current.keys()];
  }

  spec(model: string): readonly TensorInfo[] {
    return this.get(model).set.infos;
  }

  /** A specific version: the in-memory one when current, else read from its checkpoint. */
  async version(model: string, version: number): Promise<GlobalModel> {
    const g = this.current.get(model);
    if (g && g.version === version) return g;
    const { set, digest } = await readTensorSetFile(this.checkpointPath(model, version));
    return { model, version, set, digest };
  }

  /** Versions available on disk for a model, ascending. */
  async versions(model: string): Promise<number[]> {
    try {
      const names = await readdir(join(this.dir, model));
      return names
        .map((n) => /^round-(\d+)\.flt$/.exec(n)?.[1])
        .filter((v): v is string => v !== undefined)
        .map(Number)
        .sort((a, b) => a - b);
    } catch {
      return [];
    }
  }

  /** Loads the newest readable checkpoint, falling back to older ones when the newest is corrupt. */
  async loadLatest(model: string, warn: (msg: string) => void): Promise<GlobalModel | null> {
    const versions = await this.versions(model);
    for (let i = versions.length - 1; i >= 0; i--) {
      const v = versions[i]!;
      try {
        const { set, digest } = await readTensorSetFile(this.checkpointPath(model, v));
        const g = { model, version: v, set, digest };
        this.current.set(model, g);
        return g;
      } catch (err) {
        warn(`checkpoint ${this.checkpointPath(model, v)} is unreadable (${(err as Error).message}); falling back to the previous one`);
      }
    }
    return null;
  }
}

export function digestOf(set: TensorSet): string {
  return tensorSetDigest(set);
}
