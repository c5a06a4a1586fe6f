// Data-parallel fused weighted sums over worker threads on SharedArrayBuffers: the element
// range is split into one contiguous slice per worker; each runs the same kernel (weightedSumInto)
// on its slice, so the result is bit-identical to the single-threaded one (the per-element
// summation order does not change). Worth it only where it measures faster: bench/aggregation.ts
// compares it with the single-threaded kernel, which is already close to memory bandwidth.
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

/** The compiled worker (under vitest this module runs from .ts source; the worker runs from dist/). */
function workerUrl(): URL {
  const here = new URL('./parallel-worker.js', import.meta.url);
  if (!import.meta.url.endsWith('.ts')) return here;
  const src = fileURLToPath(here);
  const root = src.slice(0, src.lastIndexOf('/bench/parallel-aggregate/'));
  return new URL(`file://${root}/dist/bench/parallel-aggregate/parallel-worker.js`);
}

interface Pending {
  resolve: () => void;
  reject: (err: Error) => void;
}

export class WeightedSumPool {
  private readonly workers: Worker[];
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private failure: Error | null = null;

  constructor(size = Math.max(1, Math.min(availableParallelism(), 8))) {
    this.workers = Array.from({ length: size }, () => {
      const w = new Worker(workerUrl());
      w.unref();
      w.on('message', (m: { id: number; error?: string }) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.error) p.reject(new Error(`weighted-sum worker: ${m.error}`));
        else p.resolve();
      });
      const fail = (err: Error) => {
        this.failure ??= err;
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      };
      w.on('error', (err) => fail(new Error(`weighted-sum worker failed: ${err.message}`, { cause: err })));
      w.on('exit', (code) => fail(new Error(`weighted-sum worker exited (code ${code})`)));
      return w;
    });
  }

  get size(): number {
    return this.workers.length;
  }

  /** acc[i] += sum_k ws[k] * xs[k][i] for all i; every array must be backed by a SharedArrayBuffer. */
  async weightedSumInto(acc: Float64Array, xs: readonly Float32Array[], ws: readonly number[]): Promise<void> {
    if (this.failure) throw this.failure;
    if (xs.length !== ws.length) throw new RangeError(`weighted sum: ${xs.length} arrays but ${ws.length} weights`);
    for (const a of [acc, ...xs]) {
      if (!(a.buffer instanceof SharedArrayBuffer)) throw new TypeError('WeightedSumPool: every array must be backed by a SharedArrayBuffer');
    }
    for (const x of xs) if (x.length < acc.length) throw new RangeError(`weighted sum: an array has ${x.length} elements, need ${acc.length}`);
    const n = acc.length;
    const per = Math.ceil(n / this.workers.length / 16) * 16;
    const jobs = this.workers.map((w, i) => {
      const start = Math.min(n, i * per);
      const end = Math.min(n, start + per);
      if (start >= end) return Promise.resolve();
      const id = ++this.seq;
      return new Promise<void>((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        w.postMessage({ id, acc: acc.buffer, accOffset: acc.byteOffset, xs: xs.map((x) => [x.buffer, x.byteOffset]), ws, start, end });
      });
    });
    await Promise.all(jobs);
  }

  async close(): Promise<void> {
    this.failure ??= new Error('WeightedSumPool closed');
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
