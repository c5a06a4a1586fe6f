import { describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  applyWeightedSum, foldGroups, FoldKernel, weightedMeanStreaming, weightedSumInto, weightedSumIntoJs, streamWeightedSum, effectiveBlockElems,
} from './weighted-sum.js';
import { WeightedSumPool } from '../../bench/parallel-aggregate/parallel.js';
import { fileUpdateReader } from './reader.js';
import { randomArray, readersOf } from '../../test/helpers/aggregate-testing.js';
import { writeTensorSetFile, readTensorFileLayout } from '../tensor/file.js';

/** The reference: one pass per update, acc[i] += w * x[i] in float64, in update order. */
function naive(xs: Float32Array[], ws: number[], n: number): Float64Array {
  const acc = new Float64Array(n);
  for (let k = 0; k < xs.length; k++) for (let i = 0; i < n; i++) acc[i] = acc[i]! + ws[k]! * xs[k]![i]!;
  return acc;
}

const N = 70_003; // not a multiple of 4 nor of any block size
const K = 10;
const xs = Array.from({ length: K }, (_, k) => randomArray(N, k + 1));
const ws = Array.from({ length: K }, (_, k) => 3 + 7 * k);

describe('weighted sums', () => {
  it('FedAvg of deltas equals the hand-computed weighted mean', async () => {
    const base = Float32Array.from([1, 2, 3]);
    const d = [Float32Array.from([1, 0, -2]), Float32Array.from([3, 4, 2]), Float32Array.from([0, -8, 1])];
    const n = [10, 30, 60];
    // mean delta = (10*d0 + 30*d1 + 60*d2) / 100 = [100, -360, 100] / 100 = [1, -3.6, 1]
    const out = await applyWeightedSum(base, readersOf(d, n), n, 1 / 100);
    expect(Array.from(out)).toEqual([2, 2 - 3.6, 4].map(Math.fround));
    const mean = await weightedMeanStreaming(readersOf(d, n), 3);
    expect(Array.from(mean)).toEqual([1, -3.6, 1].map(Math.fround));
  });

  it('balances update groups per pass', () => {
    expect(foldGroups(10)).toEqual([5, 5]);
    expect(foldGroups(8)).toEqual([8]);
    expect(foldGroups(17)).toEqual([6, 6, 5]);
    expect(foldGroups(0)).toEqual([]);
  });

  it('in-memory kernels (SIMD, scalar, float64) are bit-identical to the naive loop', () => {
    const ref = naive(xs, ws, N);
    const acc = new Float64Array(N);
    weightedSumInto(acc, xs, ws);
    expect(Buffer.from(acc.buffer).equals(Buffer.from(ref.buffer))).toBe(true);
    const js = new Float64Array(N);
    weightedSumIntoJs(js, xs, ws);
    expect(Buffer.from(js.buffer).equals(Buffer.from(ref.buffer))).toBe(true);
    for (const wasm of [true, false]) {
      const kern = new FoldKernel(K, N, { wasm });
      xs.forEach((x, k) => kern.xs[k]!.set(x));
      kern.fold(N, ws);
      expect(Buffer.from(kern.acc.buffer, kern.acc.byteOffset, N * 8).equals(Buffer.from(ref.buffer))).toBe(true);
    }
  });

  it('uses the WebAssembly SIMD kernel on Node 20', () => {
    expect(new FoldKernel(3, 64).wasm).toBe(true);
  });

  it('streamed results are bit-identical to the one-shot result whatever the block size', async () => {
    const base = randomArray(N, 99);
    const total = ws.reduce((a, b) => a + b, 0);
    const ref = naive(xs, ws, N);
    const oneShot = new Float32Array(N);
    for (let i = 0; i < N; i++) oneShot[i] = base[i]! + ref[i]! * (1 / total);
    for (const block of [1, 3, 4096, 65_537, N, 1 << 20]) {
      const out = await applyWeightedSum(base, readersOf(xs, ws), ws, 1 / total, block);
      expect(Buffer.from(out.buffer).equals(Buffer.from(oneShot.buffer)), `block ${block}`).toBe(true);
    }
    const scalar: Float64Array = new Float64Array(N);
    await streamWeightedSum(readersOf(xs, ws), ws, N, (s, len, acc) => scalar.set(acc.subarray(0, len), s), { wasm: false, blockElems: 5000 });
    expect(Buffer.from(scalar.buffer).equals(Buffer.from(ref.buffer))).toBe(true);
  });

  it('parallel worker threads equal the serial kernel bit for bit', async () => {
    const shared = xs.map((x) => {
      const s = new Float32Array(new SharedArrayBuffer(x.byteLength));
      s.set(x);
      return s;
    });
    const acc = new Float64Array(new SharedArrayBuffer(N * 8));
    const pool = new WeightedSumPool(2);
    try {
      await pool.weightedSumInto(acc, shared, ws);
    } finally {
      await pool.close();
    }
    const ref = naive(xs, ws, N);
    expect(Buffer.from(acc.buffer).equals(Buffer.from(ref.buffer))).toBe(true);
  });

  it('reads spooled update files block by block with the same result', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agg-test-'));
    try {
      const readers = [];
      for (let k = 0; k < 3; k++) {
        const p = join(dir, `u${k}.flt`);
        await writeTensorSetFile(p, { infos: [{ name: 'w', shape: [N], dtype: 'float32' }], data: xs[k]! });
        const l = await readTensorFileLayout(p);
        readers.push(fileUpdateReader(p, l.dataOffset, l.length, { id: `u${k}`, site: `s${k}`, numExamples: ws[k]! }));
      }
      const fromFiles = await weightedMeanStreaming(readers, N, { blockElems: 10_000 });
      const fromMemory = await weightedMeanStreaming(readersOf(xs.slice(0, 3), ws), N);
      expect(Buffer.from(fromFiles.buffer).equals(Buffer.from(fromMemory.buffer))).toBe(true);
      await expect(readers[0]!.read(N - 1, new Float32Array(2))).rejects.toThrow(/outside/);
      for (const r of readers) await r.close?.();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses mismatched lengths, weights and non-finite weights', async () => {
    const rs = readersOf([new Float32Array(4), new Float32Array(5)], [1, 1]);
    await expect(weightedMeanStreaming(rs, 4)).rejects.toThrow(/site "site-1" has 5 values, the model has 4/);
    await expect(weightedMeanStreaming(readersOf([new Float32Array(4)], [0]), 4)).rejects.toThrow(/no training examples/);
    expect(() => weightedSumInto(new Float64Array(4), [new Float32Array(4)], [NaN])).toThrow(/weight 0 is NaN/);
    expect(() => weightedSumInto(new Float64Array(4), [new Float32Array(4)], [1, 2])).toThrow(/1 arrays but 2 weights/);
  });

  it('keeps block buffers within the budget when there are many sites', () => {
    expect(effectiveBlockElems(10, 5_000_000)).toBe(1 << 18);
    expect(effectiveBlockElems(200, 5_000_000) * 4 * 200).toBeLessThanOrEqual(16 << 20);
    expect(effectiveBlockElems(1000, 5_000_000)).toBe(16384); // floor: one cache block per update
    expect(effectiveBlockElems(50, 5_000_000) * (4 * 50 + 8)).toBeLessThanOrEqual(16 << 20);
    expect(effectiveBlockElems(10, 100)).toBe(100);
  });
});
