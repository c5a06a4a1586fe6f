// Aggregation of K = 10 updates of 5 M float32 parameters: GB/s of update bytes consumed by our
// fused kernels (single thread, and over worker threads on SharedArrayBuffers) against the
// naive one-pass-per-update loop measured in the same run; plus the streaming FedAvg from
// spooled files and its peak memory as a multiple of the model size.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { weightedSumInto, applyWeightedSum } from '../shared/aggregate/weighted-sum.js';
import { WeightedSumPool } from '../shared/aggregate/parallel.js';
import { fileUpdateReader } from '../shared/aggregate/reader.js';
import { writeTensorSetFile, readTensorFileLayout } from '../shared/tensor/file.js';
import type { Bench } from './types.js';

const K = 10;
const N = 5_000_000;

function naive(acc: Float64Array, xs: Float32Array[], ws: number[]): void {
  for (let k = 0; k < xs.length; k++) {
    const x = xs[k]!;
    const w = ws[k]!;
    for (let i = 0; i < acc.length; i++) acc[i] += w * x[i]!;
  }
}

function best(times: number[]): number {
  return Math.min(...times);
}

async function timeIt(reps: number, fn: () => void | Promise<void>): Promise<number> {
  const t: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await fn();
    t.push((performance.now() - t0) / 1000);
  }
  return best(t);
}

export const aggregationBench: Bench = {
  name: 'aggregation',
  description: `weighted sum of K=${K} updates x ${N / 1e6} M float32 (GB/s of update bytes) vs the naive loop`,
  async run() {
    const bytes = K * N * 4;
    const ws = Array.from({ length: K }, (_, k) => 10 + k);
    const xs = Array.from({ length: K }, (_, k) => {
      const x = new Float32Array(new SharedArrayBuffer(N * 4));
      for (let i = 0; i < N; i++) x[i] = Math.sin(i * 0.001 + k);
      return x;
    });
    const acc = new Float64Array(new SharedArrayBuffer(N * 8));
    const tNaive = await timeIt(3, () => {
      acc.fill(0);
      naive(acc, xs, ws);
    });
    const ref = Float64Array.from(acc);
    const tFused = await timeIt(3, () => {
      acc.fill(0);
      weightedSumInto(acc, xs, ws);
    });
    const pool = new WeightedSumPool();
    const tPar = await timeIt(3, async () => {
      acc.fill(0);
      await pool.weightedSumInto(acc, xs, ws);
    });
    await pool.close();
    let identical = true;
    for (let i = 0; i < N; i += 997) if (acc[i] !== ref[i]) identical = false;
    const gbps = (t: number) => bytes / t / 1e9;

    // Streaming FedAvg from spooled files, as the coordinator does it.
    const dir = mkdtempSync(join(tmpdir(), 'bench-agg-'));
    try {
      const infos = [{ name: 'w', shape: [N], dtype: 'float32' as const }];
      const readers = [];
      for (let k = 0; k < K; k++) {
        const p = join(dir, `u${k}.flt`);
        await writeTensorSetFile(p, { infos, data: xs[k]! });
        const l = await readTensorFileLayout(p);
        readers.push(fileUpdateReader(p, l.dataOffset, l.length, { id: `u${k}`, site: `s${k}`, numExamples: ws[k]! }));
      }
      const global = new Float32Array(N);
      const total = ws.reduce((a, b) => a + b, 0);
      global.fill(0.5);
      if (globalThis.gc) globalThis.gc();
      const base = process.memoryUsage();
      let peakRss = base.rss;
      let peakAb = base.arrayBuffers;
      const timer = setInterval(() => {
        const m = process.memoryUsage();
        peakRss = Math.max(peakRss, m.rss);
        peakAb = Math.max(peakAb, m.arrayBuffers);
      }, 5);
      const t0 = performance.now();
      const out = await applyWeightedSum(global, readers, ws, 1 / total);
      const tStream = (performance.now() - t0) / 1000;
      clearInterval(timer);
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakAb = Math.max(peakAb, m.arrayBuffers);
      for (const r of readers) await r.close?.();
      const model = N * 4;
      console.log(`naive one-pass-per-update loop:    ${gbps(tNaive).toFixed(2)} GB/s`);
      console.log(`fused (4 updates per pass), 1 thread: ${gbps(tFused).toFixed(2)} GB/s (ratio ${(tNaive / tFused).toFixed(2)})`);
      console.log(`fused, ${pool.size} worker threads:        ${gbps(tPar).toFixed(2)} GB/s (ratio ${(tNaive / tPar).toFixed(2)}); bit-identical to the naive sum: ${identical}`);
      console.log(`streaming FedAvg from ${K} spooled files: ${gbps(tStream).toFixed(2)} GB/s; extra memory during aggregation: ` +
        `ArrayBuffers +${((peakAb - base.arrayBuffers) / model).toFixed(2)}x model, RSS +${((peakRss - base.rss) / model).toFixed(2)}x model (model ${(model / 1e6).toFixed(0)} MB; output ${out.length === N ? 'ok' : 'bad'})`);
      console.log(`aggregation: ${gbps(Math.min(tFused, tPar)).toFixed(2)} GB/s, naive ${gbps(tNaive).toFixed(2)} GB/s, ratio ${(tNaive / Math.min(tFused, tPar)).toFixed(2)} (target >= 2)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
