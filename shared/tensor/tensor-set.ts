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

/**
 * The data is hashed in 1 MiB blocks: digest = SHA-256(header || "\n" || SHA-256(block_0) ||
 * SHA-256(block_1) || ...), the last block possibly shorter. A two-level hash list (as in
 * BitTorrent v2) lets a 1 MiB wire chunk's SHA-256 double as its block hash, so a receiver hashes
 * every byte once, can resume from the last good block, and the digest still binds every byte.
 */
export const DIGEST_BLOCK_BYTES = 1 << 20;

/** Incremental digest: feed data in order (any split), then `digest()`. */
export class TensorSetHasher {
  private readonly outer: Hash;
  private block: Hash | null = null;
  private inBlock = 0;
  constructor(infos: readonly TensorInfo[]) {
    this.outer = createHash('sha256');
    this.outer.update(canonicalHeader(infos));
    this.outer.update('\n');
  }
  update(bytes: Uint8Array): this {
    let off = 0;
    while (off < bytes.length) {
      // A whole aligned block: hash it in one call.
      if (this.inBlock === 0 && bytes.length - off >= DIGEST_BLOCK_BYTES) {
        this.outer.update(createHash('sha256').update(bytes.subarray(off, off + DIGEST_BLOCK_BYTES)).digest());
        off += DIGEST_BLOCK_BYTES;
        continue;
      }
      this.block ??= createHash('sha256');
      const take = Math.min(DIGEST_BLOCK_BYTES - this.inBlock, bytes.length - off);
      this.block.update(bytes.subarray(off, off + take));
      this.inBlock += take;
      off += take;
      if (this.inBlock === DIGEST_BLOCK_BYTES) this.flushBlock();
    }
    return this;
  }
  /**
   * Adds a block whose SHA-256 is already known (and verified by the caller): `length` bytes,
   * a whole block or the final partial one, starting on a block boundary.
   */
  addBlockHash(sha256Hex: string, length: number): this {
    if (this.inBlock !== 0) throw new Error('addBlockHash: not on a block boundary');
    if (length <= 0 || length > DIGEST_BLOCK_BYTES) throw new Error(`addBlockHash: bad block length ${length}`);
    this.outer.update(Buffer.from(sha256Hex, 'hex'));
    return this;
  }
  private flushBlock(): void {
    if (this.block) this.outer.update(this.block.digest());
    this.block = null;
    this.inBlock = 0;
  }
  digest(): string {
    if (this.inBlock > 0) this.flushBlock();
    return this.outer.digest('hex');
  }
}

export function bytesOf(data: Float32Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** SHA-256 digest of a tensor set (canonical header, then the 1 MiB block hashes of its bytes). */
export function tensorSetDigest(set: TensorSet): string {
  const bytes = bytesOf(set.data);
  const outer = createHash('sha256').update(canonicalHeader(set.infos)).update('\n');
  const blocks: string[] = [];
  for (let off = 0; off < bytes.length; off += DIGEST_BLOCK_BYTES) {
    const h = createHash('sha256').update(bytes.subarray(off, Math.min(bytes.length, off + DIGEST_BLOCK_BYTES))).digest();
    outer.update(h);
    blocks.push(h.toString('hex'));
  }
  const digest = outer.digest('hex');
  blockHashMemo.set(set.data, { digest, blocks });
  return digest;
}

/**
 * The block hashes the last tensorSetDigest of this very array computed, when that digest is
 * `digest` (an upload of the update just digested reuses them as its 1 MiB chunks' SHA-256s instead
 * of hashing every byte again); null otherwise. Should the array have changed since, the hashes no
 * longer match its bytes and the receiver refuses those chunks - as it refuses the stale digest.
 */
export function digestedBlockHashes(data: Float32Array, digest: string): readonly string[] | null {
  const m = blockHashMemo.get(data);
  return m && m.digest === digest ? m.blocks : null;
}

const blockHashMemo = new WeakMap<Float32Array, { digest: string; blocks: string[] }>();

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
