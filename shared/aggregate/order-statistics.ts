// Coordinate-wise order statistics over K updates (median, trimmed mean): for every element the
// K values are sorted ascending and reduced. The result does not depend on the order of the
// updates, and ties and equal values give the same float64 arithmetic every time.
import type { UpdateReader } from './reader.js';
import { DEFAULT_BLOCK_ELEMS, forEachBlock, type BlockSink } from './weighted-sum.js';

/** Sorts col[0..k) ascending in place (insertion sort for small k, the typed-array sort otherwise). */
export function sortColumn(col: Float64Array, k: number): void {
  if (k > 24) {
    col.subarray(0, k).sort();
    return;
  }
  for (let i = 1; i < k; i++) {
    const v = col[i]!;
    let j = i - 1;
    while (j >= 0 && col[j]! > v) {
      col[j + 1] = col[j]!;
      j--;
    }
    col[j + 1] = v;
  }
}

/** Median of sorted col[0..k): the middle value, or the mean of the two middle values. */
export function medianOfSorted(col: Float64Array, k: number): number {
  const h = k >> 1;
  return k % 2 === 1 ? col[h]! : (col[h - 1]! + col[h]!) / 2;
}

/** Mean of sorted col[trim .. k - trim), summed in ascending order. */
export function trimmedMeanOfSorted(col: Float64Array, k: number, trim: number): number {
  let s = 0;
  for (let j = trim; j < k - trim; j++) s += col[j]!;
  return s / (k - 2 * trim);
}

/** Median of a list of numbers (NaN for an empty list). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const col = Float64Array.from(values);
  sortColumn(col, col.length);
  return medianOfSorted(col, col.length);
}

/**
 * Reduces every coordinate's sorted column of K values with `reduce` and hands each block's
 * float64 results to `sink`. Memory: one block per update plus one float64 block.
 */
export async function streamCoordinateReduce(
  readers: readonly UpdateReader[],
  length: number,
  reduce: (sorted: Float64Array, k: number) => number,
  sink: BlockSink,
  blockElems = DEFAULT_BLOCK_ELEMS,
): Promise<void> {
  const k = readers.length;
  if (k === 0) throw new RangeError('coordinate-wise aggregation of zero updates');
  const col = new Float64Array(k);
  let out = new Float64Array(0);
  await forEachBlock(readers, length, (start, len, blocks) => {
    if (out.length < len) out = new Float64Array(len);
    for (let i = 0; i < len; i++) {
      for (let j = 0; j < k; j++) col[j] = blocks[j]![i]!;
      sortColumn(col, k);
      out[i] = reduce(col, k);
    }
    sink(start, len, out);
  }, blockElems);
}

/** Coordinate-wise median of the updates (unweighted; Yin et al. 2018), streamed into `sink`. */
export function streamCoordinateMedian(readers: readonly UpdateReader[], length: number, sink: BlockSink, blockElems?: number): Promise<void> {
  return streamCoordinateReduce(readers, length, medianOfSorted, sink, blockElems);
}

/**
 * Number of updates trimmed from each end: `count`, or floor(beta * K). Throws when fewer than
 * one update would remain.
 */
export function trimCount(k: number, trim: { beta: number } | { count: number }): number {
  const t = 'count' in trim ? trim.count : Math.floor(trim.beta * k);
  if (!(Number.isInteger(t) && t >= 0)) throw new RangeError(`trim ${JSON.stringify(trim)}: not a count >= 0`);
  if (k - 2 * t < 1) throw new RangeError(`cannot trim ${t} update(s) from each end of ${k}: nothing would remain`);
  return t;
}

/** Coordinate-wise trimmed mean (unweighted; Yin et al. 2018): drop `trim` lowest and highest, average the rest. */
export function streamTrimmedMean(readers: readonly UpdateReader[], length: number, trim: number, sink: BlockSink, blockElems?: number): Promise<void> {
  const k = readers.length;
  if (!(Number.isInteger(trim) && trim >= 0 && k - 2 * trim >= 1)) {
    throw new RangeError(`cannot trim ${trim} update(s) from each end of ${k}`);
  }
  return streamCoordinateReduce(readers, length, (col, kk) => trimmedMeanOfSorted(col, kk, trim), sink, blockElems);
}

/** Sink writing float32(base[i] + agg[i]) into `out` (the new global model from an aggregate delta). */
export function applyToSink(base: Float32Array, out: Float32Array): BlockSink {
  return (start, len, agg) => {
    for (let i = 0; i < len; i++) out[start + i] = base[start + i]! + agg[i]!;
  };
}
