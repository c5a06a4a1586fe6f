// Deterministic test inputs for the aggregation code (no I/O).
import { memoryUpdateReader, type UpdateReader } from '../../shared/aggregate/reader.js';

/** xorshift32 values in [-1, 1), reproducible from `seed`. */
export function randomArray(n: number, seed: number): Float32Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

export function readersOf(arrays: readonly Float32Array[], numExamples: readonly number[]): UpdateReader[] {
  return arrays.map((a, k) => memoryUpdateReader(a, { id: `u${k}`, site: `site-${k}`, numExamples: numExamples[k]! }));
}
