// Named float32 tensors as one contiguous little-endian buffer, with a SHA-256 digest.
//
// A TensorSet is what travels between coordinator and sites (global models, updates) and what
// is stored on disk (checkpoints, spooled updates). The digest covers the ordered tensor names,
// dtypes and shapes as well as the bytes, so a renamed or reshaped tensor changes the digest.
import { createHash, type Hash } from 'node:crypto';
import { endianness } from 'node:os';

if (endianness() !== 'LE') {
  throw new Error('fl: only little-endian hosts are supported (tensors travel as little-endian float32)');
}

export type DType = 'float32';

export interface TensorInfo {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export interface TensorSet {
  readonly infos: readonly TensorInfo[];
  /** All tensors concatenated in `infos` order. */
  readonly data: Float32Array;
}

export function tensorSize(info: TensorInfo): number {
  return info.shape.reduce((a, b) => a * b, 1);
}

export function totalElements(infos: readonly TensorInfo[]): number {
  let n = 0;
  for (const info of infos) n += tensorSize(info);
  return n;
}

/** Canonical header bytes that the digest covers before the tensor data. */
export function canonicalHeader(infos: readonly TensorInfo[]): string {
  return JSON.stringify(infos.map((t) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape] })));
}

/** Incremental digest: feed data chunks in order, then `digest()`. */
export class TensorSetHasher {
  private readonly hash: Hash;
  constructor(infos: readonly TensorInfo[]) {
    this.hash = createHash('sha256');
    this.hash.update(canonicalHeader(infos));
    this.hash.update('\n');
  }
  update(bytes: Uint8Array): this {
    this.hash.update(bytes);
    return this;
  }
  digest(): string {
    return this.hash.digest('hex');
  }
}

export function bytesOf(data: Float32Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** SHA-256 (hex) over the canonical header, a newline, and the raw little-endian float32 bytes. */
export function tensorSetDigest(set: TensorSet): string {
  return new TensorSetHasher(set.infos).update(bytesOf(set.data)).digest();
}

/** Views of each tensor inside the flat buffer (no copies). */
export function splitTensors(set: TensorSet): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  let offset = 0;
  for (const info of set.infos) {
    const n = tensorSize(info);
    out.set(info.name, set.data.subarray(offset, offset + n));
    offset += n;
  }
  return out;
}

/** Two specs are compatible when names, dtypes and shapes agree in order; returns the first difference. */
export function specMismatch(expected: readonly TensorInfo[], actual: readonly TensorInfo[]): string | null {
  if (expected.length !== actual.length) {
    return `expected ${expected.length} tensors, got ${actual.length}`;
  }
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    if (e.name !== a.name) return `tensor ${i}: expected name "${e.name}", got "${a.name}"`;
    if (e.dtype !== a.dtype) return `tensor "${e.name}": expected dtype ${e.dtype}, got ${a.dtype}`;
    if (e.shape.length !== a.shape.length || e.shape.some((d, j) => d !== a.shape[j])) {
      return `tensor "${e.name}": expected shape [${e.shape.join(',')}], got [${a.shape.join(',')}]`;
    }
  }
  return null;
}
