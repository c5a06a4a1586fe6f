// Streaming, fused weighted sums: the core of FedAvg.
//
// Updates are read block by block (BLOCK elements of every update at a time), and each block
// of the accumulator is updated once for all updates in the block ("cache blocking over
// buffered chunks"), instead of one full pass over the accumulator per update. Per element the
// operation order is fixed: acc = 0; acc += w_0 * x_0; acc += w_1 * x_1; ... in float64, in
// the order the updates are given (the logged arrival order), so the result is bit-for-bit
// reproducible whatever the block size.
import type { UpdateReader } from './reader.js';

export const DEFAULT_BLOCK_ELEMS = 1 << 18; // 1 MiB of float32 per update per block

/** Elements per cache block: the f64 accumulator block (128 KiB) stays in L2 across all updates. */
const CACHE_BLOCK = 16384;

/**
 * acc[i] += sum_k ws[k] * xs[k][i], in k order. The range is walked in cache-sized blocks and,
 * inside a block, updates are folded four at a time, so the accumulator is read and written
 * from cache rather than once per update from memory.
 */
export function weightedSumInto(acc: Float64Array, xs: readonly Float32Array[], ws: readonly number[], n = acc.length): void {
  for (let b0 = 0; b0 < n; b0 += CACHE_BLOCK) {
    const b1 = Math.min(n, b0 + CACHE_BLOCK);
    let k = 0;
    for (; k + 4 <= xs.length; k += 4) {
      const x0 = xs[k]!, x1 = xs[k + 1]!, x2 = xs[k + 2]!, x3 = xs[k + 3]!;
      const w0 = ws[k]!, w1 = ws[k + 1]!, w2 = ws[k + 2]!, w3 = ws[k + 3]!;
      for (let i = b0; i < b1; i++) {
        let a = acc[i]!;
        a += w0 * x0[i]!;
        a += w1 * x1[i]!;
        a += w2 * x2[i]!;
        a += w3 * x3[i]!;
        acc[i] = a;
      }
    }
    for (; k + 2 <= xs.length; k += 2) {
      const x0 = xs[k]!, x1 = xs[k + 1]!;
      const w0 = ws[k]!, w1 = ws[k + 1]!;
      for (let i = b0; i < b1; i++) {
        let a = acc[i]!;
        a += w0 * x0[i]!;
        a += w1 * x1[i]!;
        acc[i] = a;
      }
    }
    for (; k < xs.length; k++) {
      const x = xs[k]!;
      const w = ws[k]!;
      for (let i = b0; i < b1; i++) acc[i] = acc[i]! + w * x[i]!;
    }
  }
}

/**
 * For each block of the model, reads that block of every update and hands the buffers to
 * `visit(start, len, blocks)`. Memory: one block per update, independent of model size.
 */
export async function forEachBlock(
  readers: readonly UpdateReader[],
  length: number,
  visit: (start: number, len: number, blocks: Float32Array[]) => void,
  blockElems = DEFAULT_BLOCK_ELEMS,
): Promise<void> {
  for (const r of readers) {
    if (r.length !== length) throw new Error(`update ${r.id} from site "${r.site}" has ${r.length} values, the model has ${length}`);
  }
  const bufs = readers.map(() => new Float32Array(Math.min(blockElems, length)));
  for (let start = 0; start < length; start += blockElems) {
    const len = Math.min(blockElems, length - start);
    const blocks = bufs.map((b) => (len === b.length ? b : b.subarray(0, len)));
    await Promise.all(readers.map((r, i) => r.read(start, blocks[i]!)));
    visit(start, len, blocks);
  }
}

/**
 * out[i] = base[i] + (sum_k ws[k] * x_k[i]) * scale, streaming over the readers' blocks.
 * With ws = example counts and scale = 1 / sum(ws) this is FedAvg of deltas applied to base.
 */
export async function applyWeightedSum(
  base: Float32Array,
  readers: readonly UpdateReader[],
  ws: readonly number[],
  scale: number,
  blockElems = DEFAULT_BLOCK_ELEMS,
): Promise<Float32Array> {
  const out = new Float32Array(base.length);
  const acc = new Float64Array(Math.min(blockElems, base.length));
  await forEachBlock(readers, base.length, (start, len, blocks) => {
    acc.fill(0, 0, len);
    weightedSumInto(acc, blocks, ws, len);
    for (let i = 0; i < len; i++) out[start + i] = base[start + i]! + acc[i]! * scale;
  }, blockElems);
  return out;
}
