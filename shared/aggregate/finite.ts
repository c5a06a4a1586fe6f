// Finiteness checks: an update with a NaN or an infinity must never reach an aggregate.
import type { UpdateReader } from './reader.js';
import { DEFAULT_BLOCK_ELEMS } from './weighted-sum.js';

/** True when every value is finite. Branch-free: x * 0 is 0 for finite x and NaN otherwise. */
export function isAllFinite(x: Float32Array | Float64Array): boolean {
  let s = 0;
  const n = x.length;
  let i = 0;
  for (; i + 4 <= n; i += 4) s += x[i]! * 0 + x[i + 1]! * 0 + x[i + 2]! * 0 + x[i + 3]! * 0;
  for (; i < n; i++) s += x[i]! * 0;
  return s === 0;
}

/** Index of the first non-finite value, or -1. */
export function firstNonFinite(x: Float32Array | Float64Array): number {
  if (isAllFinite(x)) return -1;
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) return i;
  return -1;
}

/** Streams an update and returns the index of its first non-finite value, or -1. */
export async function firstNonFiniteInUpdate(reader: UpdateReader, blockElems = DEFAULT_BLOCK_ELEMS): Promise<number> {
  const buf = new Float32Array(Math.max(1, Math.min(blockElems, reader.length)));
  for (let start = 0; start < reader.length; start += buf.length) {
    const len = Math.min(buf.length, reader.length - start);
    const view = len === buf.length ? buf : buf.subarray(0, len);
    await reader.read(start, view);
    const at = firstNonFinite(view);
    if (at >= 0) return start + at;
  }
  return -1;
}
