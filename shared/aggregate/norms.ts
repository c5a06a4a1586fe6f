// L2 norms of updates, streamed block by block (sums of squares in float64, in element order).
import type { UpdateReader } from './reader.js';
import { DEFAULT_BLOCK_ELEMS, forEachBlock } from './weighted-sum.js';

/**
 * Elements per cell of the norms' summation grid (64 KiB of float32). Every sum of squares here
 * is computed in one order, whatever the chunking of the data: each cell of NORM_CELL_ELEMS
 * elements (counted from element 0) is summed in float64 with four interleaved partial sums
 * (element j of the cell into sum j mod 4, combined as (s0 + s1) + (s2 + s3)), and the cells'
 * sums are added in order from 0. So the coordinator can sum an update's cells on its check
 * threads as the blocks arrive (block-check.ts) and `fl audit replay` gets the identical norm by
 * reading the spooled file (updateNorms): the same float64 operations in the same order.
 */
export const NORM_CELL_ELEMS = 16384;

/**
 * Adds the squares of x[i..end) to the four partial sums `s`, the first element going to
 * s[phase & 3] and each next one to the next sum (the one loop every sum of squares here runs).
 */
function addSquares(x: Float32Array, i: number, end: number, s: number[], phase: number): void {
  let j = phase;
  // One element at a time until the position is a multiple of 4, then by fours, then the rest.
  while (i < end && (j & 3) !== 0) { const v = x[i++]!; s[j & 3]! += v * v; j++; }
  let s0 = s[0]!;
  let s1 = s[1]!;
  let s2 = s[2]!;
  let s3 = s[3]!;
  for (; i + 4 <= end; i += 4, j += 4) {
    const a = x[i]!;
    const b = x[i + 1]!;
    const d = x[i + 2]!;
    const e = x[i + 3]!;
    s0 += a * a;
    s1 += b * b;
    s2 += d * d;
    s3 += e * e;
  }
  s[0] = s0;
  s[1] = s1;
  s[2] = s2;
  s[3] = s3;
  while (i < end) { const v = x[i++]!; s[j & 3]! += v * v; j++; }
}

/** A cell's total from its four partial sums. */
const cellTotal = (s: readonly number[]) => (s[0]! + s[1]!) + (s[2]! + s[3]!);

/** The sums of squares of x's cells [0, CELL), [CELL, 2 CELL), ... (the last may be partial), appended to `out`. */
export function cellSumsOfSquares(x: Float32Array, out: number[] = []): number[] {
  const s = [0, 0, 0, 0];
  for (let c = 0; c < x.length; c += NORM_CELL_ELEMS) {
    s.fill(0);
    addSquares(x, c, Math.min(x.length, c + NORM_CELL_ELEMS), s, 0);
    out.push(cellTotal(s));
  }
  return out;
}

/** The cells' sums added in order (the grid's total). */
export function foldCellSums(cells: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < cells.length; k++) s += cells[k]!;
  return s;
}

/** sum_i x[i]^2 in float64, on the grid of NORM_CELL_ELEMS (see there). */
export function sumOfSquares(x: Float32Array): number {
  return foldCellSums(cellSumsOfSquares(x));
}

export function l2Norm(x: Float32Array): number {
  return Math.sqrt(sumOfSquares(x));
}

/**
 * Incremental sum of squares for data arriving in chunks (any lengths, in order): identical to
 * sumOfSquares of the whole array (the grid's cells continue across chunks).
 */
export class L2NormAccumulator {
  private total = 0;
  private readonly s = [0, 0, 0, 0];
  /** Elements of the current cell seen so far. */
  private fill = 0;

  add(chunk: Float32Array): this {
    for (let i = 0; i < chunk.length;) {
      const take = Math.min(chunk.length - i, NORM_CELL_ELEMS - this.fill);
      addSquares(chunk, i, i + take, this.s, this.fill);
      i += take;
      this.fill += take;
      if (this.fill === NORM_CELL_ELEMS) {
        this.total += cellTotal(this.s);
        this.s.fill(0);
        this.fill = 0;
      }
    }
    return this;
  }

  get sumOfSquares(): number {
    return this.fill > 0 ? this.total + cellTotal(this.s) : this.total;
  }

  get norm(): number {
    return Math.sqrt(this.sumOfSquares);
  }
}

/**
 * L2 norm of every update (NaN when an update holds a NaN). An update whose sum of squares is
 * known from its receipt (UpdateReader.sumOfSquares, same grid) is not read again; the others are
 * read in one streamed pass.
 */
export async function updateNorms(readers: readonly UpdateReader[], length: number, blockElems = DEFAULT_BLOCK_ELEMS): Promise<number[]> {
  const sums = readers.map((r) => r.sumOfSquares);
  const todo = readers.flatMap((r, k) => (r.sumOfSquares === undefined ? [k] : []));
  if (todo.length > 0) {
    const acc = todo.map(() => new L2NormAccumulator());
    await forEachBlock(todo.map((k) => readers[k]!), length, (_start, _len, blocks) => {
      for (let k = 0; k < blocks.length; k++) acc[k]!.add(blocks[k]!);
    }, blockElems);
    todo.forEach((k, i) => (sums[k] = acc[i]!.sumOfSquares));
  }
  return sums.map((s) => Math.sqrt(s!));
}
