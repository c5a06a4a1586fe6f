// Aggregation of K = 10 updates of 5 M float32 parameters: GB/s of update bytes consumed by our
// kernels against the naive one-pass-per-update loop `acc[i] += w * x[i]` (float64 accumulator,
// the same precision as ours) measured in the same run; then the streaming FedAvg strategy from
// 10 spooled update files, with its peak memory as a multiple of the model size (target < 4x),
// and the robust strategies from the same files for reference.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { weightedSumInto, weightedSumIntoJs, FoldKernel } from '../shared/aggregate/weighted-sum.js';
import { WeightedSumPool } from './parallel-aggregate/parallel.js';
import { fileUpdateReader, memoryUpdateReader, type UpdateReader } from '../shared/aggregate/reader.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeTensorSetFile, readTensorFileLayout } from '../shared/tensor/file.js';
import { createStrategy } from '../shared/strategies/registry.js';
import type { Bench } from './types.js';

const execFileAsync = promisify(execFile);
const K = 10;
const N = 5_000_000;

function naive(acc: Float64Array, xs: Float32Array[], ws: number[]): void {
  for (let k = 0; k < xs.length; k++) {
    const x = xs[k]!;
    const w = ws[k]!;
    for (let i = 0; i < acc.length; i++) acc[i] += w * x[i]!;
  }
}

async function best(reps: number, fn: () => void | Promise<void>): Promise<number> {
  let t = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await fn();
    t = Math.min(t, (performance.now() - t0) / 1000);
  }
  return t;
}

function sameBits(a: Float64Array, b: Float64Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

interface ChildJob {
  readonly config: Record<string, unknown>;
  readonly paths: { path: string; offset: number }[];
  readonly ws: number[];
}

const CHILD_FLAG = '--aggregation-memory-child=';

/** Runs one aggregation from the spooled files in a fresh `node --expose-gc` and returns its peak extra memory in bytes. */
async function memoryInChild(job: ChildJob): Promise<{ rss: number; arrayBuffers: number }> {
  const arg = CHILD_FLAG + Buffer.from(JSON.stringify(job)).toString('base64url');
  const { stdout } = await execFileAsync(process.execPath, ['--expose-gc', process.argv[1]!, 'aggregation', arg], { maxBuffer: 1 << 20 });
  const line = stdout.split('\n').find((l) => l.startsWith('AGGMEM '));
  if (!line) throw new Error(`aggregation memory child printed no result:\n${stdout}`);
  return JSON.parse(line.slice(7)) as { rss: number; arrayBuffers: number };
}

/** The child: the coordinator holds the global model; measure what the aggregation adds on top (the new model included). */
async function memoryChild(encoded: string): Promise<void> {
  const job = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as ChildJob;
  const s = createStrategy(job.config);
  const readers = job.paths.map((p, k) => fileUpdateReader(p.path, p.offset, N, { id: `u${k}`, site: `s${k}`, numExamples: job.ws[k]! }));
  const global = new Float32Array(N).fill(0.5);
  // Warm the JIT on a small model so compiled code does not count as aggregation memory.
  await createStrategy(job.config).aggregateFit(new Float32Array(4096), readers.map((r) => memoryUpdateReader(new Float32Array(4096).fill(1e-3), r)), {});
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakAb = base.arrayBuffers;
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakAb = Math.max(peakAb, m.arrayBuffers);
  };
  const timer = setInterval(sample, 1);
  const out = await s.aggregateFit(global, readers, s.initialState?.() ?? {});
  clearInterval(timer);
  sample();
  for (const r of readers) await r.close?.();
  console.log('AGGMEM ' + JSON.stringify({ rss: peakRss - base.rss, arrayBuffers: peakAb - base.arrayBuffers, length: out.global.length }));
}

export const aggregationBench: Bench = {
  name: 'aggregation',
  description: `weighted sum of K=${K} updates x ${N / 1e6} M float32 (GB/s of update bytes) vs the naive loop; streaming FedAvg memory`,
  async run(args) {
    const child = args.find((a) => a.startsWith(CHILD_FLAG));
    if (child) return memoryChild(child.slice(CHILD_FLAG.length));
    const bytes = K * N * 4;
    const gbps = (t: number) => (bytes / t / 1e9).toFixed(2);
    const ws = Array.from({ length: K }, (_, k) => 10 + k);
    const xs = Array.from({ length: K }, (_, k) => {
      const x = new Float32Array(new SharedArrayBuffer(N * 4));
      for (let i = 0; i < N; i++) x[i] = Math.sin(i * 0.001 + k) * 1e-2;
      return x;
    });
    const acc = new Float64Array(new SharedArrayBuffer(N * 8));
    const reps = 5;
    // Interleave the variants so a busy neighbour on the machine hurts all of them alike.
    const t = { naive: Infinity, js: Infinity, simd: Infinity, par: Infinity };
    const pool = new WeightedSumPool();
    let ref = new Float64Array(0);
    let identical = true;
    for (let r = 0; r < reps; r++) {
      t.naive = Math.min(t.naive, await best(1, () => { acc.fill(0); naive(acc, xs, ws); }));
      if (r === 0) ref = Float64Array.from(acc);
      t.js = Math.min(t.js, await best(1, () => { acc.fill(0); weightedSumIntoJs(acc, xs, ws); }));
      identical &&= sameBits(acc, ref);
      t.simd = Math.min(t.simd, await best(1, () => { acc.fill(0); weightedSumInto(acc, xs, ws); }));
      identical &&= sameBits(acc, ref);
      t.par = Math.min(t.par, await best(1, async () => { acc.fill(0); await pool.weightedSumInto(acc, xs, ws); }));
      identical &&= sameBits(acc, ref);
    }
    await pool.close();
    const wasm = new FoldKernel(1, 4).wasm;
    console.log(`naive one-pass-per-update loop (float64 acc):  ${gbps(t.naive)} GB/s`);
    console.log(`fused scalar JS (4 updates/pass, cache-blocked): ${gbps(t.js)} GB/s  ratio ${(t.naive / t.js).toFixed(2)}`);
    console.log(`fused ${wasm ? 'WebAssembly SIMD' : 'scalar (no wasm SIMD!)'}, 1 thread:       ${gbps(t.simd)} GB/s  ratio ${(t.naive / t.simd).toFixed(2)}`);
    console.log(`same kernel on ${pool.size} worker threads (SAB):    ${gbps(t.par)} GB/s  ratio ${(t.naive / t.par).toFixed(2)}` +
      ` (${t.par < t.simd ? 'faster' : 'not faster'} than 1 thread)`);
    console.log(`all variants bit-identical to the naive float64 sum: ${identical}`);

    const dir = mkdtempSync(join(tmpdir(), 'bench-agg-'));
    try {
      const infos = [{ name: 'w', shape: [N], dtype: 'float32' as const }];
      const paths: { path: string; offset: number }[] = [];
      for (let k = 0; k < K; k++) {
        const p = join(dir, `u${k}.flt`);
        await writeTensorSetFile(p, { infos, data: xs[k]! });
        paths.push({ path: p, offset: (await readTensorFileLayout(p)).dataOffset });
      }
      const readers = (): UpdateReader[] => paths.map((p, k) => fileUpdateReader(p.path, p.offset, N, { id: `u${k}`, site: `s${k}`, numExamples: ws[k]! }));
      const global = new Float32Array(N).fill(0.5);
      const model = N * 4;
      // Timed here; peak memory in a fresh child process (no garbage from the runs above).
      const runStrategy = async (config: Record<string, unknown>) => {
        const s = createStrategy(config);
        let sec = Infinity;
        for (let r = 0; r < 3; r++) {
          const rs = readers();
          const t0 = performance.now();
          const out = await s.aggregateFit(global, rs, s.initialState?.() ?? {});
          sec = Math.min(sec, (performance.now() - t0) / 1000);
          for (const u of rs) await u.close?.();
          if (out.global.length !== N) throw new Error('aggregate has the wrong length');
        }
        const mem = await memoryInChild({ config, paths, ws });
        return { sec, rss: mem.rss / model, ab: mem.arrayBuffers / model };
      };
      const fedavg = await runStrategy({ name: 'fedavg' });
      console.log(`streaming FedAvg from ${K} spooled files: ${gbps(fedavg.sec)} GB/s (${(fedavg.sec * 1000).toFixed(0)} ms); ` +
        `peak extra memory ${Math.max(fedavg.rss, fedavg.ab).toFixed(2)}x model size, measured in a fresh process (RSS +${fedavg.rss.toFixed(2)}x, ArrayBuffers +${fedavg.ab.toFixed(2)}x; ` +
        `model ${(model / 1e6).toFixed(0)} MB, the new global model itself is 1x; target < 4x)`);
      for (const config of [{ name: 'norm_bounding', max_norm: 1 }, { name: 'fedadam' }, { name: 'trimmed_mean', trim_count: 1 }, { name: 'median' }]) {
        const r = await runStrategy(config);
        console.log(`  ${config.name.padEnd(14)} from files: ${gbps(r.sec)} GB/s (${(r.sec * 1000).toFixed(0)} ms), peak extra memory ${Math.max(r.rss, r.ab).toFixed(2)}x model`);
      }
      const ours = Math.min(t.simd, t.par);
      console.log(`aggregation: ${gbps(ours)} GB/s vs naive ${gbps(t.naive)} GB/s, ratio ${(t.naive / ours).toFixed(2)} (target >= 2); ` +
        `streaming FedAvg peak memory ${Math.max(fedavg.rss, fedavg.ab).toFixed(2)}x model (target < 4)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
