// Streaming, fused weighted sums: the core of FedAvg and of every mean-based strategy.
//
// Summation order (the reproducibility contract): for every element i,
//   acc = 0; acc += w_0 * x_0[i]; acc += w_1 * x_1[i]; ...; acc += w_{K-1} * x_{K-1}[i]
// in IEEE-754 float64, in the order the updates are given (the coordinator passes them in its
// logged order). Each x is promoted exactly from float32, each product and each sum is rounded
// once to float64, and nothing else (no pairwise sums, no fused multiply-add). The result is
// therefore bit-for-bit the same whatever the block size, the cache blocking, the grouping of
// updates per pass, the kernel (WebAssembly SIMD or scalar JavaScript) or the number of threads.
// Float64 costs nothing measurable here: the kernel is bound by reading the float32 updates.
//
// Speed: updates are read block by block (one block of every update at a time) and each cache-
// sized piece of the accumulator is updated once for up to MAX_FOLD updates ("cache blocking over
// buffered chunks"), instead of one full pass over the accumulator per update. The inner loop is
// a WebAssembly SIMD kernel (wasm-fold.ts) working on buffers inside its own memory, into which
// the update readers read directly; the scalar JavaScript kernel is the fallback.
import type { UpdateReader } from './reader.js';
import { MAX_FOLD, instantiateFold, type FoldFn } from './wasm-fold.js';

/** Elements per update per streamed block (1 MiB of float32). */
export const DEFAULT_BLOCK_ELEMS = 1 << 18;
/**
 * Block buffers of all updates together stay under this many bytes (blocks shrink when K is
 * large), so the coordinator's aggregation memory does not grow with the number of sites: 16 MiB
 * keeps full 1 MiB blocks up to K = 15 and 80 K-element blocks (320 KiB reads) at K = 50.
 */
export const BLOCK_BUFFER_BUDGET_BYTES = 16 << 20;
/** Elements per cache block: accumulator (128 KiB of float64) plus one group of update slices stay in L2. */
export const CACHE_ELEMS = 16384;

/** Balanced groups of at most MAX_FOLD updates per pass (10 -> [5, 5], not [8, 2]). */
export function foldGroups(k: number): number[] {
  if (k === 0) return [];
  const groups = Math.ceil(k / MAX_FOLD);
  const base = Math.floor(k / groups);
  const extra = k % groups;
  return Array.from({ length: groups }, (_, g) => base + (g < extra ? 1 : 0));
}

function checkArgs(accLength: number, xs: readonly Float32Array[], ws: readonly number[], n: number): void {
  if (xs.length !== ws.length) throw new RangeError(`weighted sum: ${xs.length} arrays but ${ws.length} weights`);
  if (!(n >= 0 && n <= accLength)) throw new RangeError(`weighted sum: n = ${n} outside [0, ${accLength}]`);
  for (let k = 0; k < xs.length; k++) {
    if (xs[k]!.length < n) throw new RangeError(`weighted sum: array ${k} has ${xs[k]!.length} elements, need ${n}`);
    if (!Number.isFinite(ws[k]!)) throw new RangeError(`weighted sum: weight ${k} is ${ws[k]}`);
  }
}

/**
 * Scalar JavaScript fused kernel: acc[i] += sum_k ws[k] * xs[k][i] over [from, to), updates
 * folded four at a time inside cache blocks. With a Float32Array accumulator the running sum of a
 * group of four is kept in float64 and rounded to float32 once per group.
 */
export function weightedSumIntoJs(
  acc: Float64Array | Float32Array, xs: readonly Float32Array[], ws: readonly number[], from = 0, to = acc.length,
): void {
  for (let b0 = from; b0 < to; b0 += CACHE_ELEMS) {
    const b1 = Math.min(to, b0 + CACHE_ELEMS);
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
 * K block buffers and a float64 accumulator, inside a WebAssembly memory when SIMD is available
 * (so readers fill the buffers the kernel reads, without a copy), else ordinary typed arrays.
 */
export class FoldKernel {
  readonly acc: Float64Array;
  readonly xs: Float32Array[];
  readonly wasm: boolean;
  private readonly folds: FoldFn[] | null;
  private readonly accAddr: number;
  private readonly xAddrs: number[];
  private readonly groups: number[];
  private readonly args: number[][];

  constructor(readonly k: number, readonly blockElems: number, options: { wasm?: boolean } = {}) {
    if (!(Number.isInteger(blockElems) && blockElems > 0)) throw new RangeError(`blockElems ${blockElems}: expected a positive integer`);
    const cap = Math.ceil(blockElems / 4) * 4;
    const inst = options.wasm === false ? null : instantiateFold(cap * 8 + k * cap * 4);
    this.groups = foldGroups(k);
    this.args = this.groups.map((f) => new Array<number>(2 * f + 2).fill(0));
    if (inst) {
      this.wasm = true;
      this.folds = inst.folds;
      this.accAddr = 0;
      this.xAddrs = Array.from({ length: k }, (_, j) => cap * 8 + j * cap * 4);
      this.acc = new Float64Array(inst.memory.buffer, 0, blockElems);
      this.xs = this.xAddrs.map((a) => new Float32Array(inst.memory.buffer, a, blockElems));
    } else {
      this.wasm = false;
      this.folds = null;
      this.accAddr = 0;
      this.xAddrs = [];
      this.acc = new Float64Array(blockElems);
      this.xs = Array.from({ length: k }, () => new Float32Array(blockElems));
    }
  }

  /** acc[i] += sum_k ws[k] * xs[k][i] for i in [0, len), in k order. */
  fold(len: number, ws: readonly number[]): void {
    if (ws.length !== this.k) throw new RangeError(`fold: ${ws.length} weights for ${this.k} updates`);
    if (!(len >= 0 && len <= this.blockElems)) throw new RangeError(`fold: len ${len} outside [0, ${this.blockElems}]`);
    const folds = this.folds;
    if (!folds) {
      weightedSumIntoJs(this.acc, this.xs, ws, 0, len);
      return;
    }
    const vecEnd = len & ~3;
    for (let c0 = 0; c0 < vecEnd; c0 += CACHE_ELEMS) {
      const n = Math.min(CACHE_ELEMS, vecEnd - c0);
      let k = 0;
      for (let g = 0; g < this.groups.length; g++) {
        const f = this.groups[g]!;
        const a = this.args[g]!;
        a[0] = this.accAddr + c0 * 8;
        for (let j = 0; j < f; j++) {
          a[1 + j] = this.xAddrs[k + j]! + c0 * 4;
          a[1 + f + j] = ws[k + j]!;
        }
        a[1 + 2 * f] = n;
        folds[f]!(...a);
        k += f;
      }
    }
    // The last 0-3 elements, same operation order.
    for (let i = vecEnd; i < len; i++) {
      let s = this.acc[i]!;
      for (let k = 0; k < this.k; k++) s += ws[k]! * this.xs[k]![i]!;
      this.acc[i] = s;
    }
  }
}

const copyKernels = new Map<number, FoldKernel>();

/**
 * acc[i] += sum_k ws[k] * xs[k][i] for i in [0, n), in k order (see the summation contract above).
 * A float64 accumulator goes through the SIMD kernel (cache-sized slices copied into its memory);
 * a float32 accumulator, small inputs or a runtime without WebAssembly SIMD use the scalar kernel.
 */
export function weightedSumInto(acc: Float64Array | Float32Array, xs: readonly Float32Array[], ws: readonly number[], n = acc.length): void {
  checkArgs(acc.length, xs, ws, n);
  if (!(acc instanceof Float64Array) || n < 4 * CACHE_ELEMS || xs.length === 0) {
    weightedSumIntoJs(acc, xs, ws, 0, n);
    return;
  }
  let kern = copyKernels.get(xs.length);
  if (!kern) {
    kern = new FoldKernel(xs.length, CACHE_ELEMS);
    if (copyKernels.size > 16) copyKernels.clear();
    copyKernels.set(xs.length, kern);
  }
  if (!kern.wasm) {
    weightedSumIntoJs(acc, xs, ws, 0, n);
    return;
  }
  for (let b0 = 0; b0 < n; b0 += CACHE_ELEMS) {
    const len = Math.min(CACHE_ELEMS, n - b0);
    for (let k = 0; k < xs.length; k++) kern.xs[k]!.set(xs[k]!.subarray(b0, b0 + len));
    kern.acc.set(acc.subarray(b0, b0 + len));
    kern.fold(len, ws);
    acc.set(len === CACHE_ELEMS ? kern.acc : kern.acc.subarray(0, len), b0);
  }
}

export interface StreamOptions {
  /** Elements per update per block (default DEFAULT_BLOCK_ELEMS); shrunk to fit BLOCK_BUFFER_BUDGET_BYTES. */
  readonly blockElems?: number;
  /** Use the WebAssembly kernel when available (default true); false forces the scalar one. */
  readonly wasm?: boolean;
}

/** Receives each block's float64 aggregate for elements [start, start + len); `agg` is reused. */
export type BlockSink = (start: number, len: number, agg: Float64Array) => void;

export function checkReaders(readers: readonly UpdateReader[], length: number): void {
  if (!(Number.isInteger(length) && length >= 0)) throw new RangeError(`model length ${length}: expected a non-negative integer`);
  for (const r of readers) {
    if (r.length !== length) throw new RangeError(`update ${r.id} from site "${r.site}" has ${r.length} values, the model has ${length}`);
  }
}

/** Block size actually used for K updates: at most the requested size, the model size and the buffer budget. */
export function effectiveBlockElems(k: number, length: number, requested = DEFAULT_BLOCK_ELEMS): number {
  if (!(Number.isInteger(requested) && requested > 0)) throw new RangeError(`blockElems ${requested}: expected a positive integer`);
  const budget = Math.max(CACHE_ELEMS, Math.floor(BLOCK_BUFFER_BUDGET_BYTES / (4 * Math.max(1, k) + 8)));
  return Math.max(1, Math.min(requested, budget, length));
}

/**
 * Streams sum_k ws[k] * update_k block by block into `sink`. Memory: one block per update and
 * one float64 block, independent of the model size.
 */
export async function streamWeightedSum(
  readers: readonly UpdateReader[], ws: readonly number[], length: number, sink: BlockSink, options: StreamOptions = {},
): Promise<void> {
  checkReaders(readers, length);
  if (ws.length !== readers.length) throw new RangeError(`weighted sum: ${readers.length} updates but ${ws.length} weights`);
  for (let k = 0; k < ws.length; k++) {
    if (!Number.isFinite(ws[k]!)) throw new RangeError(`weighted sum: weight of update ${readers[k]!.id} is ${ws[k]}`);
  }
  if (length === 0) return;
  const block = effectiveBlockElems(readers.length, length, options.blockElems);
  const kern = new FoldKernel(readers.length, block, options.wasm === false ? { wasm: false } : {});
  for (let start = 0; start < length; start += block) {
    const len = Math.min(block, length - start);
    await Promise.all(readers.map((r, k) => r.read(start, len === block ? kern.xs[k]! : kern.xs[k]!.subarray(0, len))));
    kern.acc.fill(0, 0, len);
    kern.fold(len, ws);
    sink(start, len, kern.acc);
  }
}

/**
 * For each block of the model, reads that block of every update into reused buffers and hands
 * them to `visit(start, len, blocks)`. Memory: one block per update, independent of model size.
 */
export async function forEachBlock(
  readers: readonly UpdateReader[],
  length: number,
  visit: (start: number, len: number, blocks: Float32Array[]) => void,
  blockElems = DEFAULT_BLOCK_ELEMS,
): Promise<void> {
  checkReaders(readers, length);
  if (length === 0) return;
  const block = effectiveBlockElems(readers.length, length, blockElems);
  const bufs = readers.map(() => new Float32Array(block));
  for (let start = 0; start < length; start += block) {
    const len = Math.min(block, length - start);
    const blocks = bufs.map((b) => (len === b.length ? b : b.subarray(0, len)));
    await Promise.all(readers.map((r, i) => r.read(start, blocks[i]!)));
    visit(start, len, blocks);
  }
}

/**
 * out[i] = float32(base[i] + (sum_k ws[k] * x_k[i]) * scale), streaming over the readers' blocks.
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
  await streamWeightedSum(readers, ws, base.length, (start, len, acc) => {
    for (let i = 0; i < len; i++) out[start + i] = base[start + i]! + acc[i]! * scale;
  }, { blockElems });
  return out;
}

/** Example weights of the updates, checked: finite, >= 0, and a positive total. */
export function exampleWeights(readers: readonly UpdateReader[]): { ws: number[]; total: number } {
  let total = 0;
  const ws = readers.map((r) => {
    if (!(Number.isFinite(r.numExamples) && r.numExamples >= 0)) {
      throw new RangeError(`update ${r.id} from site "${r.site}": numExamples ${r.numExamples} is not a finite count >= 0`);
    }
    total += r.numExamples;
    return r.numExamples;
  });
  if (!(total > 0)) throw new RangeError(`the ${readers.length} update(s) carry no training examples`);
  return { ws, total };
}

/**
 * Example-weighted mean of the updates, float32(acc[i] * (1 / sum n_k)), streamed: with deltas this
 * is FedAvg's pseudo-gradient. `weights` overrides the example counts.
 */
export async function weightedMeanStreaming(
  readers: readonly UpdateReader[], length: number, options: StreamOptions & { weights?: readonly number[] } = {},
): Promise<Float32Array> {
  const ws = options.weights ? [...options.weights] : exampleWeights(readers).ws;
  const total = ws.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new RangeError(`weighted mean: the weights sum to ${total}`);
  const scale = 1 / total;
  const out = new Float32Array(length);
  await streamWeightedSum(readers, ws, length, (start, len, acc) => {
    for (let i = 0; i < len; i++) out[start + i] = acc[i]! * scale;
  }, options);
  return out;
}
