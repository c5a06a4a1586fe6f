// Model-sized image tensors kept in memory for the life of the agent process, so a training epoch
// or a validation pass reads no file: each tensor is read from the on-disk cache (image-cache.ts)
// the first time a batch needs it and then served from memory.
//
// Memory is bounded by a byte budget shared by every dataset of the process (default 256 MiB:
// a site of 1000 cases with two 128 x 128 grey modalities needs 131 MB as float32). Tensors are
// kept in the order they are first read until the budget is full; later ones are read from the
// disk cache every time. No eviction: with a shuffled pass over a working set larger than the
// budget, least-recently-used eviction would evict every tensor before its next use (no hits at
// all), while keeping the first ones serves budget/working-set of the reads from memory.
// The tensors are stored as the cache holds them (float32, z-scored): a uint8 copy would need the
// resize and normalisation again per batch and would not give the same values.
import type { ImageCache } from './image-cache.js';

export const DEFAULT_TENSOR_MEMORY_BYTES = 256 * 1024 * 1024;

export class TensorMemory {
  private readonly kept = new Map<string, Float32Array>();
  private used = 0;
  /** Reads served from memory and from the disk cache (for logs and tests). */
  readonly reads = { memory: 0, disk: 0 };

  constructor(readonly budgetBytes: number = DEFAULT_TENSOR_MEMORY_BYTES) {
    if (!Number.isFinite(budgetBytes) || budgetBytes < 0) throw new Error(`tensor memory budget ${budgetBytes}: expected a non-negative number of bytes`);
  }

  /** Bytes held. */
  get bytes(): number {
    return this.used;
  }

  get count(): number {
    return this.kept.size;
  }

  /**
   * The tensor `key` of `length` float32 values: from memory, or read from `cache` (and kept when
   * it fits the budget). The returned array must not be written to.
   */
  get(cache: ImageCache, key: string, length: number): Float32Array {
    const id = `${cache.dir}\u0000${key}`;
    const hit = this.kept.get(id);
    if (hit && hit.length === length) {
      this.reads.memory++;
      return hit;
    }
    this.reads.disk++;
    const t = cache.readTensor(key, length);
    if (!hit && this.used + t.byteLength <= this.budgetBytes) {
      this.kept.set(id, t);
      this.used += t.byteLength;
    }
    return t;
  }

  /** Copies the tensor into `into` at `offset`. */
  read(cache: ImageCache, key: string, length: number, into: Float32Array, offset: number): void {
    into.set(this.get(cache, key, length), offset);
  }

  /** Drops every kept tensor. */
  clear(): void {
    this.kept.clear();
    this.used = 0;
  }
}

/** The process's store (every dataset of a site agent shares one budget). */
export const tensorMemory = new TensorMemory();
