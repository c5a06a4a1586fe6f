// L2 norms of updates, streamed block by block (sums of squares in float64, in element order).
import type { UpdateReader } from './reader.js';
import { DEFAULT_BLOCK_ELEMS, forEachBlock } from './weighted-sum.js';

/** sum_i x[i]^2 in float64 over [from, to), in index order. */
export function sumOfSquares(x: Float32Array, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) {
    const v = x[i]!;
    s += v * v;
  }
  return s;
}

export function l2Norm(x: Float32Array): number {
  return Math.sqrt(sumOfSquares(x));
}

/**
 * Incremental L2 norm for data arriving in chunks (e.g. on receipt of an upload). The result is
 * identical to l2Norm of the whole array whatever the chunking (same float64 order).
 */
export class L2NormAccumulator {
  private s = 0;
  add(chunk: Float32Array): this {
    let s = this.s;
    for (let i = 0; i < chunk.length; i++) {
      const v = chunk[i]!;
      s += v * v;
    }
    this.s = s;
    return this;
  }
  get sumOfSquares(): number {
    return this.s;
  }
  get norm(): number {
    return Math.sqrt(this.s);
  }
}

/** L2 norm of every update (one streamed pass over all of them; NaN when an update holds a NaN). */
export async function updateNorms(readers: readonly UpdateReader[], length: number, blockElems = DEFAULT_BLOCK_ELEMS): Promise<number[]> {
  const acc = readers.map(() => new L2NormAccumulator());
  await forEachBlock(readers, length, (_start, _len, blocks) => {
    for (let k = 0; k < blocks.length; k++) acc[k]!.add(blocks[k]!);
  }, blockElems);
  return acc.map((a) => a.norm);
}
